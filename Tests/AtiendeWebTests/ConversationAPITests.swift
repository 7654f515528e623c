@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Conversations, contacts, inboxes and teams through the API", .serialized)
struct ConversationAPITests {
    @Test("filters, sorts and cursor pages over conversations")
    func listing() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let erp = try await workspace.apiInbox(app, name: "ERP")
            let crm = try await workspace.apiInbox(app, name: "CRM")
            let (agentID, _) = try await workspace.member(app, role: .agent)
            for i in 0..<7 {
                let inbox = i % 2 == 0 ? erp : crm
                #expect(try await inbox.post(app, APIInbox.message("m-\(i)", from: ["id": "c-\(i)"])).status == 200)
            }
            let path = "\(workspace.path)/conversations"
            #expect(try await app.request(.PATCH, "\(path)/1", token: workspace.token,
                                          json: ["assignee_id": agentID.uuidString, "priority": "urgent", "labels": ["VIP", "despacho", "vip"]]).status == 200)
            #expect(try await app.request(.PATCH, "\(path)/2", token: workspace.token, json: ["status": "pending", "priority": "high"]).status == 200)
            #expect(try await app.request(.PATCH, "\(path)/3", token: workspace.token, json: ["status": "resolved", "contact_reason": "Boleta"]).status == 200)

            func numbers(_ query: String) async throws -> [Int] {
                let answer = try await app.request(.GET, "\(path)?\(query)", token: workspace.token)
                #expect(answer.status == 200, "\(query): \(answer.text)")
                return (try answer.json()["data"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? Int }
            }
            #expect(try await numbers("sort=oldest") == [1, 2, 3, 4, 5, 6, 7])
            #expect(try await numbers("sort=newest&status=open") == [7, 6, 5, 4, 1])
            #expect(try await numbers("status=pending,resolved&sort=oldest") == [2, 3])
            #expect(try await numbers("inbox_id=\(crm.id.uuidString)&sort=oldest") == [2, 4, 6])
            #expect(try await numbers("assignee_id=\(agentID.uuidString)") == [1])
            #expect(try await numbers("assignee_id=none&sort=oldest").count == 6)
            #expect(try await numbers("label=vip") == [1])
            #expect(try await numbers("label=despacho' OR 1=1 --") == [])
            #expect(try await numbers("channel=api&sort=oldest").count == 7)
            #expect(try await numbers("sort=priority&limit=2") == [1, 2])
            #expect(try await numbers("sort=waiting_longest").count == 6)   // the resolved one is not waiting

            // Cursor pages cover everything exactly once.
            var seen: [Int] = []
            var cursor: String?
            repeat {
                let answer = try await app.request(.GET, "\(path)?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), token: workspace.token)
                let json = try answer.json()
                seen += (json["data"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? Int }
                cursor = json["next_cursor"] as? String
            } while cursor != nil
            #expect(seen.sorted() == Array(1...7))
            #expect(Set(seen).count == 7)

            let labels = try await app.request(.GET, "\(path)/1", token: workspace.token)
            #expect(try labels.json()["labels"] as? [String] == ["vip", "despacho"])

            for bad in ["status=bogus", "sort=sideways", "limit=0", "limit=500", "cursor=%21%21", "assignee_id=x", "inbox_id=nope"] {
                let answer = try await app.request(.GET, "\(path)?\(bad)", token: workspace.token)
                #expect(answer.status == 400, "\(bad) → \(answer.status)")
            }
            let badUpdate = try await app.request(.PATCH, "\(path)/1", token: workspace.token, json: ["priority": "extreme"])
            #expect(badUpdate.status == 400)
            let foreignAssignee = try await app.request(.PATCH, "\(path)/1", token: workspace.token, json: ["assignee_id": UUID().uuidString])
            #expect(foreignAssignee.status == 404)
            #expect(try await app.request(.GET, "\(path)/999", token: workspace.token).status == 404)
        }
    }

    @Test("Cursor pages over rows written at the same instant (one transaction's rows share their time) miss none and repeat none")
    func tiedPages() async throws {
        // A time with microseconds, as PostgreSQL keeps them: before, the cursor's time came back a microsecond off there,
        // and every row tied with the page's last one was skipped (150 mails imported in two rounds listed as 101).
        let instant = 1_796_139_846.000_002_1
        let clock = ManualClock(Date(timeIntervalSince1970: instant))
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            for i in 0..<7 { #expect(try await inbox.post(app, APIInbox.message("t-\(i)", from: ["id": "c-\(i)"]), timestamp: Int(instant)).status == 200) }
            for i in 0..<6 { #expect(try await inbox.post(app, APIInbox.message("again-\(i)", from: ["id": "c-0"]), timestamp: Int(instant)).status == 200) }

            func walk(_ path: String, _ key: String) async throws -> [String] {
                var seen: [String] = [], cursor: String?
                repeat {
                    let separator = path.contains("?") ? "&" : "?"
                    let answer = try await app.request(.GET, path + separator + "limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: workspace.token)
                    #expect(answer.status == 200, "\(path): \(answer.text)")
                    let json = try answer.json()
                    seen += (json["data"] as? [[String: Any]] ?? []).compactMap { $0[key].map { "\($0)" } }
                    cursor = json["next_cursor"] as? String
                } while cursor != nil && seen.count < 100
                return seen
            }
            let conversations = "\(workspace.path)/conversations"
            for sort in ["last_activity", "waiting_longest"] {
                let numbers = try await walk("\(conversations)?sort=\(sort)", "number")
                #expect(numbers.count == 7 && Set(numbers).count == 7, "\(sort): \(numbers)")
            }
            let contacts = try await walk("\(workspace.path)/contacts", "id")
            #expect(contacts.count == 7 && Set(contacts).count == 7, "contacts: \(contacts)")
            let messages = try await walk("\(conversations)/1/messages", "id")
            #expect(messages.count == 7 && Set(messages).count == 7, "messages: \(messages)")

            // The page's last conversation gets a message before the next page is asked for: the next page goes on
            // from where the first ended (it does not start over from the top).
            let first = try await app.request(.GET, "\(conversations)?limit=3", token: workspace.token).json()
            let shown = (first["data"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? Int }
            let anchor = try #require(shown.last)
            clock.advance(by: 60)
            #expect(try await inbox.post(app, APIInbox.message("later", from: ["id": "c-\(anchor - 1)"]),
                                         timestamp: Int(instant) + 60).status == 200)
            let next = try await app.request(.GET, "\(conversations)?limit=10&cursor=\(first["next_cursor"] as? String ?? "")", token: workspace.token).json()
            let rest = (next["data"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? Int }
            #expect(Set(shown).isDisjoint(with: rest) && Set(shown + rest).count == 7, "\(shown) then \(rest)")
        }
    }

    @Test("contacts: search, update with identities, and invalid input refused")
    func contacts() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            try await inbox.post(app, APIInbox.message("1", from: ["id": "a", "name": "María José Pérez", "email": "mj@example.cl"]))
            try await inbox.post(app, APIInbox.message("2", from: ["id": "b", "name": "John Smith"]))
            let search = try await app.request(.GET, "\(workspace.path)/contacts?q=mar%C3%ADa", token: workspace.token)
            let found = try search.json()["data"] as? [[String: Any]] ?? []
            #expect(found.count == 1)
            #expect(found.first?["name"] as? String == "María José Pérez")
            let byEmail = try await app.request(.GET, "\(workspace.path)/contacts?q=MJ@EXAMPLE", token: workspace.token)
            #expect((try byEmail.json()["data"] as? [Any])?.count == 1)
            let wildcard = try await app.request(.GET, "\(workspace.path)/contacts?q=%25", token: workspace.token)
            #expect((try wildcard.json()["data"] as? [Any])?.count == 2)

            let john = try #require(found.isEmpty ? nil : try await Contact.query(on: app.store.db).filter(\.$name == "John Smith").first())
            let update = try await app.request(.PATCH, "\(workspace.path)/contacts/\(john.id!.uuidString)", token: workspace.token,
                                               json: ["email": "John@Example.com", "phone": "+1 415 555 0100", "document_id": "12.345.678-9",
                                                      "attributes": ["plan": "pro"], "labels": ["Leal"]])
            #expect(update.status == 200, "\(update.text)")
            let json = try update.json()
            #expect(json["email"] as? String == "john@example.com")
            #expect(json["phone"] as? String == "+14155550100")
            #expect(json["labels"] as? [String] == ["leal"])
            #expect((json["identities"] as? [[String: Any]])?.count == 3)

            // Taking someone else's email suggests a merge instead of stealing the identity.
            let steal = try await app.request(.PATCH, "\(workspace.path)/contacts/\(john.id!.uuidString)", token: workspace.token,
                                              json: ["email": "mj@example.cl"])
            #expect(steal.status == 200)
            #expect(try await DuplicateSuggestion.query(on: app.store.db).count() == 1)

            let bad = try await app.request(.PATCH, "\(workspace.path)/contacts/\(john.id!.uuidString)", token: workspace.token,
                                            json: ["email": "<script>alert(1)</script>"])
            #expect(bad.status == 400)
            let notJSON = try await app.request(.PATCH, "\(workspace.path)/contacts/\(john.id!.uuidString)", token: workspace.token,
                                                raw: Data("name=x".utf8), headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(notJSON.status == 415)
        }
    }

    @Test("teams and members: create, replace members, keep the last admin")
    func teamsAndMembers() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agentID, _) = try await workspace.member(app, role: .agent)
            let team = try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token,
                                             json: ["name": "Nivel 2", "member_ids": [agentID.uuidString]])
            #expect(team.status == 201)
            #expect(try team.json()["member_ids"] as? [String] == [agentID.uuidString])
            let duplicate = try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token, json: ["name": "Nivel 2"])
            #expect(duplicate.status == 409)
            let stranger = try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token,
                                                 json: ["name": "Otro", "member_ids": [UUID().uuidString]])
            #expect(stranger.status == 404)
            let members = try await app.request(.GET, "\(workspace.path)/users", token: workspace.token)
            #expect(try members.array().count == 2)
            let demote = try await app.request(.PATCH, "\(workspace.path)/users/\(workspace.adminID.uuidString)", token: workspace.token,
                                               json: ["role": "agent"])
            #expect(demote.status == 409)
            let again = try await app.request(.POST, "\(workspace.path)/users", token: workspace.token,
                                              json: ["email": "admin-x@example.com", "name": "X", "password": "an admin's choice", "role": "agent"])
            #expect(again.status == 400 && again.text.contains("password_not_accepted"))
            #expect(try await app.request(.DELETE, "\(workspace.path)/users/\(agentID.uuidString)", token: workspace.token).status == 204)
            let after = try await app.request(.GET, "\(workspace.path)/teams", token: workspace.token)
            #expect((try after.array().first?["member_ids"] as? [String])?.isEmpty == true)
        }
    }

    @Test("Every URL shown to be pasted elsewhere is absolute; forwarded headers count only from a trusted proxy")
    func absoluteURLs() async throws {
        try await withApp(environment: ["ATIENDE_TRUSTED_PROXIES": "127.0.0.1"]) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let created = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Chat", "channel": "webchat"])
            let id = try created.json()["id"] as? String ?? ""
            #expect((try created.json()["embed_code"] as? String)?.hasPrefix("<script src=\"\(app.base)/widget.js\"") == true, "\(created.text)")
            let api = try await workspace.apiInbox(app)
            let shown = try await app.request(.GET, "\(workspace.path)/inboxes/\(api.id.uuidString)", token: workspace.token)
            #expect((try shown.json()["inbound_url"] as? String)?.hasPrefix(app.base + "/api/v1/channels/api/") == true)
            // Behind the trusted proxy: the address people use.
            let proxied = try await app.request(.GET, "\(workspace.path)/inboxes/\(id)", token: workspace.token,
                                                headers: [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "soporte.tienda.cl")])
            #expect((try proxied.json()["embed_code"] as? String)?.hasPrefix("<script src=\"https://soporte.tienda.cl/widget.js\"") == true)
            let invited = try await app.request(.POST, "\(workspace.path)/users", token: workspace.token, json: ["email": "x@example.com", "role": "agent"],
                                                headers: [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "soporte.tienda.cl\"><b>")])
            #expect((try invited.json()["invitation_url"] as? String)?.hasPrefix("https://soporte.tienda.cl/invitations/inv_") == true, "\(invited.text)")
        }
        // Nobody else's forwarded headers are believed.
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let created = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Chat", "channel": "webchat"],
                                                headers: [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")])
            #expect((try created.json()["embed_code"] as? String)?.contains("evil.example") == false)
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            _ = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Formulario", "channel": "webform"])
            let page = try await browser.get("/app/\(slug)/settings/inboxes")
            #expect(page.text.contains("id=\"public-url-hint\"") && page.text.contains(app.base + "/help/\(slug)/contact"))
        }
    }

    @Test("A NUL character: refused in what agents send and in addresses (400, nothing changed), dropped from what customers send (kept)")
    func nulCharacters() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let raw = Data(#"{"message_id":"n-1","from":{"id":"c-1","name":"Ana\u0000"},"text":"Hola\u0000 mundo"}"#.utf8)
            #expect(try await inbox.postRaw(app, raw).status == 200)
            let message = try #require(try await Message.query(on: app.store.db).first())
            #expect(message.text == "Hola mundo")
            let bad = try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                            raw: Data(#"{"contact_reason":"a\u0000b"}"#.utf8), headers: [("Content-Type", "application/json")])
            #expect(bad.status == 400 && bad.text.contains("invalid_text"), "\(bad.text)")
            // An escaped backslash before "u0000" is plain text, not a NUL.
            let fine = try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                             raw: Data(#"{"contact_reason":"a\\u0000b"}"#.utf8), headers: [("Content-Type", "application/json")])
            #expect(fine.status == 200, "\(fine.text)")
            #expect(try await Conversation.query(on: app.store.db).first()?.contactReason == #"a\u0000b"#)
            // In an address: a search or filter with %00 is refused for what it is, on every route.
            for path in ["\(workspace.path)/contacts?q=a%00b", "\(workspace.path)/conversations?q=%00", "\(workspace.path)/conversations/1%00"] {
                let refused = try await app.request(.GET, path, token: workspace.token)
                #expect(refused.status == 400 && refused.text.contains("invalid_text"), "\(path) → \(refused.status) \(refused.text)")
            }
        }
    }

    @Test("A phone number is found however it is typed")
    func phoneSearch() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("p-1", from: ["id": "c-1", "name": "Rosa", "phone": "+56912345678"])).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("p-2", from: ["id": "c-2", "name": "Otro", "phone": "+56998765432"])).status == 200)
            for typed in ["+56912345678", "9 1234 5678", "912345678", "+56 9 1234 5678", "(9) 1234-5678"] {
                let found = try await app.services.search.search(typed, workspace: workspace.id).contacts.map(\.name)
                #expect(found == ["Rosa"], "\(typed) → \(found)")
            }
        }
    }

    @Test("The timeline says who did what: resolve, reopen, assign, team, priority, labels, snooze")
    func activityLines() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("a-1", from: ["id": "c-1", "name": "Rosa"])).status == 200)
            let team = try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token, json: ["name": "Nivel 2"])
            let path = "\(workspace.path)/conversations/1"
            for change: [String: Any] in [["assignee_id": workspace.adminID.uuidString], ["team_id": try team.json()["id"] as? String ?? ""],
                                          ["priority": "urgent"], ["labels": ["vip"]], ["status": "resolved"], ["status": "open"],
                                          ["status": "snoozed", "snoozed_until": "2030-01-02T09:00:00Z"],
                                          ["status": "snoozed", "snoozed_until": "2030-02-03T09:00:00Z"]] {
                #expect(try await app.request(.PATCH, path, token: workspace.token, json: change).status == 200)
            }
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await browser.get("/app/\(slug)/conversations/1").text
            for line in ["Admin tomó la conversación", "Admin la pasó al equipo Nivel 2", "Admin cambió la prioridad a", "Admin agregó la etiqueta vip",
                         "Admin resolvió la conversación", "Admin reabrió la conversación", "Admin la pospuso hasta"] {
                #expect(page.contains(line), "\(line)")
            }
            // The customer's external id as the integrator knows it, with the inbox it belongs to (not the inbox's id).
            #expect(page.contains("ID externo</span> c-1 · ") && !page.contains(":c-1"))
            // Snoozed again, until another time: a line of its own, and the badge says until when.
            #expect(page.components(separatedBy: "Admin la pospuso hasta").count == 3)
            #expect(page.contains("Pospuesta · hasta 03-02-2030"), "the badge says until when")
            // Activity lines are no messages of the customer's or ours: not counted, not found by search.
            #expect(try await Conversation.query(on: app.store.db).first()?.messageCount == 1)
            #expect(try await app.services.search.search("resolved", workspace: workspace.id).messages.isEmpty)
        }
    }

    @Test("An agent adds a contact by hand: its email and phone are identities, found by search; nothing to reach them is refused")
    func createContact() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let created = try await app.request(.POST, "\(workspace.path)/contacts", token: workspace.token,
                                                json: ["name": "Luis Soto", "email": "Luis@Example.com", "phone": "9 8765 4321"])
            #expect(created.status == 201, "\(created.text)")
            let identities = try created.json()["identities"] as? [[String: Any]] ?? []
            #expect(Set(identities.compactMap { $0["value"] as? String }) == ["luis@example.com", "+56987654321"] || identities.count == 2, "\(created.text)")
            #expect(try await app.services.search.search("9 8765 4321", workspace: workspace.id).contacts.map(\.name) == ["Luis Soto"])
            let empty = try await app.request(.POST, "\(workspace.path)/contacts", token: workspace.token, json: ["name": "  "])
            #expect(empty.status == 400 && empty.text.contains("empty_contact"))
            #expect(try await app.count(Contact.self) == 1)
        }
    }
}
