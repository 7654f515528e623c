@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing
import Vapor

/// Every change people make — through the API or the pages — is a Core write that appends its event: the audit trail,
/// and what rules, surveys and reports will react to.
@Suite("Every change appends its event", .serialized)
struct AuditTrailTests {
    struct Step {
        var operation: String
        var method: HTTPMethod
        var path: String
        var body: [String: Any]?
        var event: String
    }

    /// The newest event's type after `act`, which must have appended at least one event.
    static func appended(_ app: TestApp, _ workspace: WorkspaceFixture, _ act: () async throws -> HTTPAnswer) async throws -> (HTTPAnswer, [String]) {
        let before = try await Event.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).count()
        let answer = try await act()
        let events = try await Event.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).sort(\.$createdAt).all()
        return (answer, Array(events.dropFirst(before)).map(\.type))
    }

    @Test("every API operation that changes something appends its event, and the test covers every such operation")
    func apiOperations() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            for (id, name) in [("c-1", "Ana"), ("c-2", "Ana Pérez")] {
                #expect(try await inbox.post(app, APIInbox.message("m-\(id)", from: ["id": id, "name": name, "email": "ana\(id)@example.com"])).status == 200)
            }
            let contacts = try await Contact.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).sort(\.$createdAt).all()
            let (memberID, _) = try await workspace.member(app, role: .agent)
            let job = Job(workspaceID: workspace.id, kind: "channel.send", payload: "{}", runAt: Date(), maxAttempts: 1, at: Date())
            job.deadAt = Date()
            try await app.store.write { tx in try await job.create(on: tx.db) }
            // A reply that failed, to send again.
            let reply = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Hola"])
            let failedID = try #require(UUID(uuidString: try reply.json()["id"] as? String ?? ""))
            try await app.store.write { tx in
                try await ConversationService.recordDelivery(failedID, status: .failed, failure: DeliveryFailure(.failed, "test"), in: tx)
            }
            // A customer at risk, to handle.
            let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).first())
            let risk = AtRiskEntry()
            risk.$workspace.id = workspace.id
            risk.contactID = conversation.$contact.id
            risk.conversationID = try conversation.requireID()
            risk.kind = .angry
            risk.detail = "pesimo"
            risk.createdAt = Date()
            try await app.store.write { tx in try await risk.create(on: tx.db) }
            // Two requests of a member's, waiting for the admin's decision.
            var pending: [String] = []
            for _ in 0..<2 {
                let request = try await app.services.compensations.grant(.init(kind: .refund, amount: 999, unit: "USD", reason: "x", message: nil),
                                                                          conversation: try conversation.requireID(), workspace: workspace.id,
                                                                          actor: memberID, role: .agent)
                pending.append(try request.requireID().uuidString)
            }
            let w = workspace.path
            var ids: [String: String] = ["pendingA": pending[0], "pendingB": pending[1], "atRisk": try risk.requireID().uuidString, "admin": workspace.adminID.uuidString, "failed": failedID.uuidString, "inbox": inbox.id.uuidString, "member": memberID.uuidString, "job": try job.requireID().uuidString,
                                         "contact": try contacts[0].requireID().uuidString, "other": try contacts[1].requireID().uuidString]
            func path(_ template: String) -> String {
                ids.reduce(template) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
            }
            let steps: [Step] = [
                Step(operation: "createInbox", method: .POST, path: "/inboxes", body: ["name": "Teléfono", "channel": "phone"], event: "inbox.created"),
                Step(operation: "updateInbox", method: .PATCH, path: "/inboxes/{inbox}", body: ["name": "ERP central"], event: "inbox.updated"),
                Step(operation: "rotateInboxSecret", method: .POST, path: "/inboxes/{inbox}/rotate-secret", body: nil, event: "inbox.secret_rotated"),
                Step(operation: "addMember", method: .POST, path: "/users", body: ["email": "nuevo@example.com", "role": "agent"], event: "member.invited"),
                Step(operation: "updateMember", method: .PATCH, path: "/users/{member}", body: ["role": "supervisor"], event: "member.role_changed"),
                Step(operation: "createTeam", method: .POST, path: "/teams", body: ["name": "Nivel 2"], event: "team.created"),
                Step(operation: "updateTeam", method: .PATCH, path: "/teams/{team}", body: ["member_ids": [memberID.uuidString]], event: "team.updated"),
                Step(operation: "createContact", method: .POST, path: "/contacts", body: ["name": "Luis", "phone": "+56 9 8765 4321"],
                     event: "contact.created"),
                Step(operation: "updateContact", method: .PATCH, path: "/contacts/{contact}", body: ["name": "Ana María"], event: "contact.updated"),
                Step(operation: "mergeContact", method: .POST, path: "/contacts/{contact}/merge", body: ["source_id": ids["other"]!], event: "contact.merged"),
                Step(operation: "updateConversation", method: .PATCH, path: "/conversations/1", body: ["priority": "high"], event: "conversation.updated"),
                Step(operation: "createMessage", method: .POST, path: "/conversations/1/messages", body: ["text": "Hola", "private": true], event: "message.created"),
                Step(operation: "createServiceLevelPolicy", method: .POST, path: "/sla-policies", body: ["name": "Estándar"], event: "sla_policy.created"),
                Step(operation: "updateServiceLevelPolicy", method: .PATCH, path: "/sla-policies/{policy}", body: ["name": "Estándar 2"], event: "sla_policy.updated"),
                Step(operation: "putInboxServiceLevels", method: .PUT, path: "/inboxes/{inbox}/service-levels", body: ["sla_policy_id": "{policy}"], event: "inbox.updated"),
                Step(operation: "retryJob", method: .POST, path: "/jobs/{job}/retry", body: nil, event: "job.retried"),
                Step(operation: "deleteServiceLevelPolicy", method: .DELETE, path: "/sla-policies/{policy}", body: nil, event: "sla_policy.deleted"),
                Step(operation: "deleteTeam", method: .DELETE, path: "/teams/{team}", body: nil, event: "team.deleted"),
                Step(operation: "removeMember", method: .DELETE, path: "/users/{member}", body: nil, event: "member.removed"),
                Step(operation: "deleteInbox", method: .DELETE, path: "/inboxes/{phone}", body: nil, event: "inbox.deleted"),
                Step(operation: "resendMessage", method: .POST, path: "/conversations/1/messages/{failed}/resend", body: nil, event: "message.updated"),
                Step(operation: "createCannedResponse", method: .POST, path: "/canned-responses",
                     body: ["shortcut": "hola", "title": "Saludo", "variants": ["es": "Hola {{contact.first_name}}"]], event: "canned_response.created"),
                Step(operation: "updateCannedResponse", method: .PATCH, path: "/canned-responses/{canned}", body: ["title": "Saludo 2"],
                     event: "canned_response.updated"),
                Step(operation: "createMacro", method: .POST, path: "/macros", body: ["name": "VIP", "actions": ["add_labels": ["vip"]]],
                     event: "macro.created"),
                Step(operation: "updateMacro", method: .PATCH, path: "/macros/{macro}", body: ["name": "VIP 2"], event: "macro.updated"),
                Step(operation: "runMacro", method: .POST, path: "/conversations/1/macros/{macro}/run", body: nil, event: "conversation.updated"),
                Step(operation: "deleteMacro", method: .DELETE, path: "/macros/{macro}", body: nil, event: "macro.deleted"),
                Step(operation: "deleteCannedResponse", method: .DELETE, path: "/canned-responses/{canned}", body: nil, event: "canned_response.deleted"),
                Step(operation: "setAvailability", method: .PUT, path: "/users/{admin}/availability", body: ["status": "busy"],
                     event: "member.availability_changed"),
                Step(operation: "setMemberRouting", method: .PUT, path: "/users/{admin}/routing", body: ["capacity": ["*": 5]],
                     event: "member.routing_changed"),
                Step(operation: "setAssignmentPolicy", method: .PUT, path: "/inboxes/{inbox}/assignment", body: ["mode": "least_loaded"],
                     event: "inbox.updated"),
                Step(operation: "setSurveyPolicy", method: .PUT, path: "/inboxes/{inbox}/survey", body: ["kind": "nps", "trigger": "manual"],
                     event: "inbox.updated"),
                Step(operation: "sendSurvey", method: .POST, path: "/conversations/1/surveys", body: ["kind": "csat"], event: "survey.scheduled"),
                Step(operation: "handleAtRisk", method: .POST, path: "/at-risk/{atRisk}/handle", body: ["action": "apologized"],
                     event: "at_risk.handled"),
                Step(operation: "setCompensationPolicy", method: .PUT, path: "/compensation-policy",
                     body: ["limits": [["role": "agent", "unit": "USD", "per_grant": 10, "per_month": 20]]], event: "workspace.updated"),
                Step(operation: "grantCompensation", method: .POST, path: "/conversations/1/compensations",
                     body: ["kind": "credit", "amount": 5, "unit": "USD", "reason": "demora"], event: "compensation.granted"),
                Step(operation: "approveCompensation", method: .POST, path: "/compensations/{pendingA}/approve", body: nil, event: "compensation.approved"),
                Step(operation: "rejectCompensation", method: .POST, path: "/compensations/{pendingB}/reject", body: nil, event: "compensation.rejected"),
                Step(operation: "setReportSubscription", method: .PUT, path: "/reports/subscription", body: ["weekly": false],
                     event: "report.subscription_changed"),
                Step(operation: "claimConversation", method: .POST, path: "/conversations/2/claim", body: nil, event: "conversation.assigned"),
                Step(operation: "createAutomationRule", method: .POST, path: "/automation-rules",
                     body: ["name": "VIP", "trigger": "message_received", "actions": [["type": "add_label", "value": "vip"]]],
                     event: "automation_rule.created"),
                Step(operation: "updateAutomationRule", method: .PATCH, path: "/automation-rules/{rule}", body: ["is_active": false],
                     event: "automation_rule.updated"),
                Step(operation: "deleteAutomationRule", method: .DELETE, path: "/automation-rules/{rule}", body: nil, event: "automation_rule.deleted"),
                Step(operation: "createFollowUp", method: .POST, path: "/conversations/1/follow-ups",
                     body: ["kind": "reminder", "due_at": ISO8601.string(Date().addingTimeInterval(3600))], event: "follow_up.scheduled"),
                Step(operation: "cancelFollowUp", method: .DELETE, path: "/conversations/1/follow-ups/{followUp}", body: nil, event: "follow_up.cancelled"),
                Step(operation: "setRetentionPolicy", method: .PUT, path: "/inboxes/{inbox}/retention", body: ["months": 24], event: "inbox.updated"),
                Step(operation: "eraseContact", method: .POST, path: "/contacts/{contact}/erasure", body: ["confirm": true], event: "contact.erased"),
            ]
            for step in steps {
                let body = step.body.map { body in body.mapValues { value -> Any in (value as? String).map(path) ?? value } }
                let (answer, types) = try await Self.appended(app, workspace) {
                    try await app.request(step.method, w + path(step.path), token: workspace.token, json: body)
                }
                #expect((200..<300).contains(answer.status), "\(step.operation) → \(answer.status) \(answer.text)")
                #expect(types.contains(step.event), "\(step.operation) appended \(types), not \(step.event)")
                if step.operation == "createTeam" { ids["team"] = try answer.json()["id"] as? String }
                if step.operation == "createInbox" { ids["phone"] = try answer.json()["id"] as? String }
                if step.operation == "createServiceLevelPolicy" { ids["policy"] = try answer.json()["id"] as? String }
                if step.operation == "createCannedResponse" { ids["canned"] = try answer.json()["id"] as? String }
                if step.operation == "createMacro" { ids["macro"] = try answer.json()["id"] as? String }
                if step.operation == "createAutomationRule" { ids["rule"] = try answer.json()["id"] as? String }
                if step.operation == "createFollowUp" { ids["followUp"] = try answer.json()["id"] as? String }
            }
            // Asks a provider, or tries conditions on the last week: changes nothing here.
            let readOnly: Set<String> = ["checkInbox", "previewAutomationRule"]
            let changing = APIRoutes.endpoints(maxInboundBytes: 0).filter { endpoint in
                guard endpoint.method != .GET, case .member = endpoint.security else { return false }
                return !readOnly.contains(endpoint.operationID)
            }.map(\.operationID)
            #expect(Set(changing) == Set(steps.map(\.operation)), "add the operations that change something to this test: \(Set(changing).subtracting(steps.map(\.operation)))")
        }
    }

    @Test("the pages' own forms append their events too: workspace settings, invitations, saved views, service levels")
    func pageForms() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let inbox = try await workspace.apiInbox(app)
            let (browser, csrf) = try await Browser.signedIn(app, as: workspace.adminID)
            func post(_ path: String, _ form: [(String, String)], expecting event: String) async throws {
                let (answer, types) = try await Self.appended(app, workspace) { try await browser.post(path, form: [("_csrf", csrf)] + form) }
                #expect(answer.status < 400, "\(path) → \(answer.status)")
                #expect(types.contains(event), "\(path) appended \(types), not \(event)")
            }
            try await post("/app/\(slug)/settings/workspace", [("name", "Tienda Sur"), ("language", "es"), ("time_zone", "America/Santiago"),
                                                               ("country_code", "56")], expecting: "workspace.updated")
            try await post("/app/\(slug)/settings/users", [("email", "nueva@example.com"), ("role", "agent")], expecting: "member.invited")
            try await post("/app/\(slug)/views", [("name", "Urgentes"), ("query", "priority=urgent")], expecting: "saved_view.created")
            let view = try #require(try await SavedView.query(on: app.store.db).first())
            try await post("/app/\(slug)/views/\(try view.requireID().uuidString)/delete", [], expecting: "saved_view.deleted")
            try await post("/app/\(slug)/settings/service", [("action", "policy"), ("name", "Estándar"), ("rules", "* * 60 240 2880"),
                                                             ("warn_at_percent", "75")], expecting: "sla_policy.created")
            try await post("/app/\(slug)/settings/service", [("action", "inbox"), ("inbox_id", inbox.id.uuidString), ("sla_policy_id", "")],
                           expecting: "inbox.updated")
            // Accepting an invitation is the newcomer's own change.
            let (_, token) = try await app.services.accounts.invite(email: "otra@example.com", role: .agent, workspace: workspace.id, by: workspace.adminID)
            let newcomer = Browser(app)
            let page = try await newcomer.get("/invitations/\(token)")
            let (answer, types) = try await Self.appended(app, workspace) {
                try await newcomer.post("/invitations/\(token)", form: [("_csrf", Browser.csrf(in: page) ?? ""), ("name", "Otra"), ("password", "una clave larga")])
            }
            #expect(answer.status == 303 && types.contains("member.joined"), "\(types)")
        }
    }
}
