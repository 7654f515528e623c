@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing
import Vapor

@Suite("Workspace isolation, roles and the API contract", .serialized)
struct IsolationTests {
    /// Fills a workspace with one of everything, returning the ids to put in paths.
    static func populate(_ app: TestApp, _ workspace: WorkspaceFixture) async throws -> [String: String] {
        let inbox = try await workspace.apiInbox(app)
        let posted = try await inbox.post(app, APIInbox.message("x-1", from: ["id": "c", "email": "c@example.com"],
                                                                text: "hola"))
        #expect(posted.status == 200)
        let contact = try #require(try await Contact.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).first())
        let (memberID, _) = try await workspace.member(app, role: .agent)
        let team = try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token, json: ["name": "Nivel 2"])
        let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).first())
        let pdf: [String: Any] = ["message_id": "x-2", "from": ["id": "c"],
                                  "attachments": [["filename": "a.pdf", "content_type": "application/pdf", "data": Data("%PDF".utf8).base64EncodedString()]]]
        #expect(try await inbox.post(app, pdf).status == 200)
        let attachment = try #require(try await Attachment.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).first())
        let job = Job(workspaceID: workspace.id, kind: "channel.send", payload: "{}", runAt: Date(), maxAttempts: 1, at: Date())
        job.deadAt = Date()
        try await app.store.write { tx in try await job.create(on: tx.db) }
        let risk = AtRiskEntry()
        risk.$workspace.id = workspace.id
        risk.contactID = try contact.requireID()
        risk.conversationID = try conversation.requireID()
        risk.kind = .angry
        risk.detail = "pesimo"
        risk.createdAt = Date()
        try await app.store.write { tx in try await risk.create(on: tx.db) }
        let compensation = try await app.services.compensations.grant(.init(kind: .refund, amount: 999, unit: "USD", reason: "x", message: nil),
                                                                       conversation: try conversation.requireID(), workspace: workspace.id,
                                                                       actor: memberID, role: .agent)
        return [
            "compensationId": try compensation.requireID().uuidString,
            "entryId": try risk.requireID().uuidString,
            "workspaceId": workspace.id.uuidString, "inboxId": inbox.id.uuidString, "contactId": try contact.requireID().uuidString,
            "userId": memberID.uuidString, "teamId": try team.json()["id"] as? String ?? "", "number": String(conversation.number),
            "attachmentId": try attachment.requireID().uuidString, "jobId": try job.requireID().uuidString,
        ]
    }

    static func fill(_ path: String, _ ids: [String: String]) -> String {
        var result = path
        for (name, value) in ids { result = result.replacingOccurrences(of: "{\(name)}", with: value) }
        return result
    }

    @Test("every workspace route answers 404 to ids of another workspace, and changes nothing")
    func crossWorkspace() async throws {
        try await withApp { app in
            let mine = try await WorkspaceFixture.make(app, name: "Mine")
            let theirs = try await WorkspaceFixture.make(app, name: "Theirs")
            let myIDs = try await Self.populate(app, mine)
            let theirIDs = try await Self.populate(app, theirs)
            let before = try await app.count(Message.self)
            let beforeEvents = try await app.count(Event.self)

            let routes = APIRoutes.endpoints(maxInboundBytes: 0).filter {
                if case .member = $0.security { return true }
                return false
            }
            #expect(routes.count > 20)
            for endpoint in routes {
                // Their workspace id with my token: not a member.
                let foreignWorkspace = Self.fill(endpoint.path, theirIDs)
                let body: [String: Any] = ["name": "x", "text": "x", "source_id": theirIDs["contactId"]!, "role": "agent"]
                let a = try await app.request(endpoint.method, foreignWorkspace, token: mine.token, json: body)
                #expect(a.status == 404, "\(endpoint.method) \(endpoint.path) with their workspace → \(a.status) \(a.text)")
                // My workspace id, their record ids.
                guard endpoint.pathParameters.count > 1 else { continue }
                var mixed = theirIDs
                mixed["workspaceId"] = myIDs["workspaceId"]
                if endpoint.path.contains("{number}") { mixed["number"] = "999" }
                let b = try await app.request(endpoint.method, Self.fill(endpoint.path, mixed), token: mine.token, json: body)
                #expect(b.status == 404, "\(endpoint.method) \(endpoint.path) with their ids → \(b.status) \(b.text)")
            }
            // Merging their contact into mine is refused too.
            let merge = try await app.request(.POST, "\(mine.path)/contacts/\(myIDs["contactId"]!)/merge", token: mine.token,
                                              json: ["source_id": theirIDs["contactId"]!])
            #expect(merge.status == 404)
            #expect(try await app.count(Message.self) == before)
            #expect(try await app.count(Event.self) == beforeEvents)
            let theirContact = try #require(try await Contact.find(UUID(uuidString: theirIDs["contactId"]!), on: app.store.db))
            #expect(theirContact.mergedIntoID == nil)
        }
    }

    /// A schema of a record id: a UUID, a list of them, or either or null.
    static func isUUID(_ schema: Any?) -> Bool {
        guard let schema = schema as? [String: Any] else { return false }
        if schema["format"] as? String == "uuid" { return true }
        if isUUID(schema["items"]) { return true }
        return ((schema["oneOf"] as? [Any]) ?? []).contains { isUUID($0) }
    }

    /// The record ids a request schema carries, however deep (`team_id`, `member_ids`, `rules.escalate_team_id`).
    static func idProperties(_ schema: Any?, _ schemas: [String: Any], seen: Set<String> = []) -> Set<String> {
        guard let schema = schema as? [String: Any] else { return [] }
        var found = Set<String>()
        if let ref = schema["$ref"] as? String, let name = ref.split(separator: "/").last.map(String.init), !seen.contains(name) {
            found.formUnion(idProperties(schemas[name], schemas, seen: seen.union([name])))
        }
        for (name, property) in (schema["properties"] as? [String: Any]) ?? [:] {
            if isUUID(property) { found.insert(name) }
            found.formUnion(idProperties(property, schemas, seen: seen))
        }
        found.formUnion(idProperties(schema["items"], schemas, seen: seen))
        for option in (schema["oneOf"] as? [Any]) ?? [] { found.formUnion(idProperties(option, schemas, seen: seen)) }
        return found
    }

    @Test("ids inside request bodies answer 404 when they are another workspace's, and change nothing")
    func bodyIDs() async throws {
        try await withApp { app in
            let mine = try await WorkspaceFixture.make(app, name: "Mine")
            let theirs = try await WorkspaceFixture.make(app, name: "Theirs")
            let my = try await Self.populate(app, mine)
            let their = try await Self.populate(app, theirs)
            let myPolicy = try await app.request(.POST, "\(mine.path)/sla-policies", token: mine.token, json: ["name": "Mía"])
            let theirPolicy = try await app.request(.POST, "\(theirs.path)/sla-policies", token: theirs.token, json: ["name": "Suya"])
            let myPolicyID = try myPolicy.json()["id"] as? String ?? ""
            var rules = try #require(try myPolicy.json()["rules"] as? [String: Any])
            rules["escalate_team_id"] = their["teamId"]!
            let theirCanned = try await app.request(.POST, "\(theirs.path)/canned-responses", token: theirs.token,
                                                    json: ["shortcut": "suya", "title": "Suya", "variants": ["es": "Hola"]]).json()["id"] as? String ?? ""
            let myMacro = try await app.request(.POST, "\(mine.path)/macros", token: mine.token,
                                                json: ["name": "Mía", "actions": ["add_labels": ["x"]]]).json()["id"] as? String ?? ""
            let theirReply: [String: Any] = ["reply": ["canned_response_id": theirCanned]]

            let cases: [(method: HTTPMethod, path: String, body: [String: Any], property: String)] = [
                (.POST, "/inboxes", ["name": "Teléfono", "channel": "phone", "team_id": their["teamId"]!], "team_id"),
                (.PATCH, "/inboxes/{inboxId}", ["team_id": their["teamId"]!], "team_id"),
                (.PATCH, "/conversations/{number}", ["assignee_id": their["userId"]!], "assignee_id"),
                (.PATCH, "/conversations/{number}", ["team_id": their["teamId"]!], "team_id"),
                (.POST, "/conversations/{number}/messages", ["text": "hola", "via_inbox_id": their["inboxId"]!], "via_inbox_id"),
                (.POST, "/teams", ["name": "Nuevo", "member_ids": [their["userId"]!]], "member_ids"),
                (.PATCH, "/teams/{teamId}", ["member_ids": [their["userId"]!]], "member_ids"),
                (.POST, "/contacts/{contactId}/merge", ["source_id": their["contactId"]!], "source_id"),
                (.POST, "/sla-policies", ["name": "Otra", "rules": rules], "escalate_team_id"),
                (.PATCH, "/sla-policies/{policyId}", ["rules": rules], "escalate_team_id"),
                (.PUT, "/inboxes/{inboxId}/service-levels", ["sla_policy_id": try theirPolicy.json()["id"] as? String ?? ""], "sla_policy_id"),
                (.POST, "/conversations/{number}/messages", ["text": "hola", "canned_response_id": theirCanned], "canned_response_id"),
                (.POST, "/macros", ["name": "Otra", "actions": theirReply], "canned_response_id"),
                (.PATCH, "/macros/{macroId}", ["actions": theirReply], "canned_response_id"),
                (.POST, "/macros", ["name": "Otra", "actions": ["assignee": their["userId"]!]], "assignee"),
                (.POST, "/macros", ["name": "Otra", "actions": ["team": their["teamId"]!]], "team"),
                (.PUT, "/inboxes/{inboxId}/assignment", ["mode": "round_robin", "team_id": their["teamId"]!], "team_id"),
                (.PUT, "/inboxes/{inboxId}/survey", ["detractor_user_id": their["userId"]!], "detractor_user_id"),
            ]
            let counts = { () async throws -> [Int] in
                [try await app.count(Inbox.self), try await app.count(Team.self), try await app.count(TeamMember.self),
                 try await app.count(ServiceLevelPolicy.self), try await app.count(Event.self), try await app.count(Membership.self),
                 try await app.count(Macro.self), try await app.count(Message.self)]
            }
            let before = try await counts()
            var ids = my
            ids["policyId"] = myPolicyID
            ids["macroId"] = myMacro
            for test in cases {
                let answer = try await app.request(test.method, mine.path + Self.fill(test.path, ids), token: mine.token, json: test.body)
                #expect(answer.status == 404, "\(test.method) \(test.path) with their \(test.property) → \(answer.status) \(answer.text)")
            }
            #expect(try await counts() == before)
            let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == mine.id).first())
            #expect(conversation.$assignee.id == nil && conversation.$team.id == nil)
            let inbox = try #require(try await Inbox.find(UUID(uuidString: my["inboxId"]!), on: app.store.db))
            #expect(inbox.$team.id == nil && inbox.slaPolicyID == nil)

            // Every endpoint whose body can carry an id is among the cases above, for each id it can carry.
            let schemas = OpenAPIDocument.schemas(channels: app.services.channels.kinds.map(\.rawValue))
            let covered = Set(cases.map { "\($0.method.rawValue) \($0.path) \($0.property)" })
            for endpoint in APIRoutes.endpoints(maxInboundBytes: 0) {
                guard let request = endpoint.requestSchema, request != "binary" else { continue }
                let local = endpoint.path.replacingOccurrences(of: APIRoutes.workspace, with: "")
                for property in Self.idProperties(schemas[request], schemas) {
                    #expect(covered.contains("\(endpoint.method.rawValue) \(local) \(property)"),
                            "\(endpoint.method) \(endpoint.path) takes \(property) in its body: add it to this test")
                }
            }
        }
    }

    @Test("roles are enforced: agents cannot configure, and no token means 401")
    func roles() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (_, agent) = try await workspace.member(app, role: .agent)
            let (_, supervisor) = try await workspace.member(app, role: .supervisor)
            let create = try await app.request(.POST, "\(workspace.path)/inboxes", token: agent,
                                               json: ["name": "x", "channel": "api", "webhook_url": "http://127.0.0.1:9/"])
            #expect(create.status == 403)
            #expect((try create.json()["error"] as? [String: Any])?["code"] as? String == "insufficient_role")
            #expect(try await app.request(.GET, "\(workspace.path)/jobs/failed", token: agent).status == 403)
            #expect(try await app.request(.GET, "\(workspace.path)/jobs/failed", token: supervisor).status == 200)
            #expect(try await app.request(.GET, "\(workspace.path)/conversations", token: agent).status == 200)
            #expect(try await app.request(.GET, "\(workspace.path)/conversations").status == 401)
            #expect(try await app.request(.GET, "\(workspace.path)/conversations", token: "atd_forged").status == 401)
            #expect(try await app.count(Inbox.self) == 0)
        }
    }

    @Test("the OpenAPI document describes exactly the routes the server has")
    func openAPIMatchesRoutes() async throws {
        try await withApp { app in
            let answer = try await app.request(.GET, "/api/v1/openapi.json")
            #expect(answer.status == 200)
            let document = try answer.json()
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            for (path, operations) in paths {
                for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let served = Set(app.app.routes.all.map { route in
                let path = "/" + route.path.map { component -> String in
                    if case .parameter(let name) = component { return "{\(name)}" }
                    return component.description
                }.joined(separator: "/")
                return "\(route.method.rawValue) \(path)"
            })
            // Pages for people (`SiteURL`) are not part of the API.
            let api = served.filter { $0.contains(" /api/") || $0.contains(" /health/") || $0.hasSuffix(" /metrics") }
            #expect(documented == api)
            // Every referenced schema exists.
            let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
            let text = answer.text
            var missing: [String] = []
            for match in text.matches(of: /#\/components\/schemas\/([A-Za-z]+)/) where schemas[String(match.1)] == nil {
                missing.append(String(match.1))
            }
            #expect(missing.isEmpty, "\(missing)")
        }
    }
}
