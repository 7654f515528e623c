@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Inboxes through the API: secrets, settings, deletion, concurrent changes", .serialized)
struct InboxAPITests {
    @Test("inboxes: the secret is shown once, rotation invalidates the old one, settings validate")
    func inboxes() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(inbox.secret.hasPrefix("whsec_"))
            let shown = try await app.request(.GET, "\(workspace.path)/inboxes/\(inbox.id.uuidString)", token: workspace.token)
            #expect(try shown.json()["secret"] == nil)
            let listed = try await app.request(.GET, "\(workspace.path)/inboxes", token: workspace.token)
            #expect(!listed.text.contains(inbox.secret))
            // Stored encrypted: the secret is nowhere in the database in clear.
            let stored = try #require(try await Inbox.find(inbox.id, on: app.store.db))
            #expect(!String(decoding: stored.sealedSecrets ?? Data(), as: UTF8.self).contains(inbox.secret))

            let rotated = try await app.request(.POST, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/rotate-secret", token: workspace.token)
            let newSecret = try #require(try rotated.json()["secret"] as? String)
            #expect(try await inbox.post(app, APIInbox.message("1", from: ["id": "a"])).status == 401)
            #expect(try await APIInbox(id: inbox.id, secret: newSecret).post(app, APIInbox.message("1", from: ["id": "a"])).status == 200)

            for body in [["name": "x", "channel": "api"], ["name": "x", "channel": "api", "webhook_url": "javascript:alert(1)"],
                         ["name": "", "channel": "api", "webhook_url": "http://127.0.0.1/"], ["name": "x", "channel": "fax"]] {
                let answer = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: body)
                #expect(answer.status == 400, "\(body) → \(answer.text)")
            }
            let deactivate = try await app.request(.PATCH, "\(workspace.path)/inboxes/\(inbox.id.uuidString)", token: workspace.token,
                                                   json: ["is_active": false])
            #expect(deactivate.status == 200)
            #expect(try await APIInbox(id: inbox.id, secret: newSecret).post(app, APIInbox.message("2", from: ["id": "a"])).status == 401)
        }
    }

    @Test("inboxes are edited — settings merged, credentials replaced and never shown — and deleted only without conversations")
    func editInboxes() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let made = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: [
                "name": "Bot", "channel": "telegram", "settings": ["api_base": "https://tg.example"], "secrets": ["bot_token": "111:old"],
            ])
            #expect(made.status == 201)
            let id = try made.json()["id"] as? String ?? ""
            let path = "\(workspace.path)/inboxes/\(id)"
            func secrets() async throws -> [String: String] {
                try #require(try await Inbox.find(UUID(uuidString: id), on: app.store.db)).secrets(with: app.services.secrets)
            }
            let generated = try await secrets()["secret_token"]
            // A credential replaced; an empty one kept; the generated token untouched; a setting not given kept.
            let edited = try await app.request(.PATCH, path, token: workspace.token, json: ["name": "Bot ventas", "secrets": ["bot_token": "222:new", "other": ""]])
            #expect(edited.status == 200 && !edited.text.contains("222:new"))
            let after = try await secrets()
            #expect(after["bot_token"] == "222:new" && after["secret_token"] == generated)
            #expect((try edited.json()["settings"] as? [String: String])?["api_base"] == "https://tg.example")
            let cleared = try await app.request(.PATCH, path, token: workspace.token, json: ["settings": ["api_base": ""]])
            #expect((try cleared.json()["settings"] as? [String: String])?["api_base"] == nil)
            #expect(try await app.request(.PATCH, path, token: workspace.token, json: ["settings": ["api_base": "ftp://x"]]).status == 400)

            // A field refused is named by its label and what it expects, in the reader's language.
            let mail = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                             json: ["name": "Correo", "channel": "email", "settings": ["address": "soporte@tienda.cl"]])
            #expect(mail.status == 201)
            let (ui, csrf) = try await Browser.signedIn(app, as: workspace.adminID)
            let badPort = try await ui.send(.POST, "\(workspace.path)/inboxes", body: Data(#"{"name":"Otro","channel":"email","settings":{"address":"ventas@tienda.cl","smtp_port":"99999"}}"#.utf8),
                                            headers: [("Content-Type", "application/json"), ("X-CSRF-Token", csrf), ("X-Atiende-UI", "1")])
            #expect(badPort.status == 400 && badPort.text.contains("Puerto SMTP") && badPort.text.contains("número de puerto"), "\(badPort.text)")
            // One mailbox, one email inbox; a Twilio sender that is not a number or a name is refused.
            let twice = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                              json: ["name": "Correo 2", "channel": "email", "settings": ["address": "Soporte@Tienda.cl"]])
            #expect(twice.status == 409 && twice.text.contains("address_in_use"))
            let sender = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: [
                "name": "SMS", "channel": "twilio", "settings": ["account_sid": "AC1", "from": "no-es-un-numero"], "secrets": ["auth_token": "x"],
            ])
            #expect(sender.status == 400)

            // The admin page offers the edit form with the name, never a credential.
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await browser.get(SiteURL.settings(slug, .inboxes).path).text
            #expect(page.contains("value=\"Bot ventas\"") && page.contains("name=\"secrets.bot_token\"") && !page.contains("222:new"))

            // An inbox with a conversation is not deleted (409, nothing changed); an empty one is.
            let api = try await workspace.apiInbox(app)
            #expect(try await api.post(app, APIInbox.message("m-1", from: ["id": "c"])).status == 200)
            let kept = try await app.request(.DELETE, "\(workspace.path)/inboxes/\(api.id.uuidString)", token: workspace.token)
            #expect(kept.status == 409 && kept.text.contains("inbox_has_conversations"))
            #expect(try await Inbox.find(api.id, on: app.store.db) != nil)
            #expect(try await app.count(Conversation.self) == 1)
            #expect(try await app.request(.DELETE, path, token: workspace.token).status == 204)
            #expect(try await Inbox.find(UUID(uuidString: id), on: app.store.db) == nil)
            #expect(try await app.request(.GET, path, token: workspace.token).status == 404)
        }
    }

    @Test("An inbox's secret, policy and name changed all at once: every request answers, none is a deadlock's 500")
    func concurrentInboxWrites() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let path = "\(workspace.path)/inboxes/\(inbox.id.uuidString)"
            var statuses: [Int] = []
            for round in 0..<12 {
                let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                    group.addTask { try await app.request(.POST, path + "/rotate-secret", token: workspace.token).status }
                    group.addTask { try await app.request(.PUT, path + "/assignment", token: workspace.token,
                                                          json: ["mode": round.isMultiple(of: 2) ? "round_robin" : "manual"]).status }
                    group.addTask { try await app.request(.PATCH, path, token: workspace.token, json: ["name": "ERP \(round)"]).status }
                    group.addTask { try await app.request(.PUT, "\(workspace.path)/users/\(workspace.adminID.uuidString)/availability",
                                                          token: workspace.token, json: ["status": round.isMultiple(of: 2) ? "busy" : "online"]).status }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                statuses += answers
            }
            #expect(statuses.allSatisfy { (200..<300).contains($0) }, "\(statuses)")
        }
    }
}
