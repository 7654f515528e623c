@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

/// The test-only provider end to end, registered with one line and no edit outside this folder.
@Suite("A provider registered from outside: Parrot", .serialized)
struct ParrotChannelTests {
    @Test("Parrot: the inbox made from its declared fields, its webhook verified and ingested, a reply sent, its status received, its window enforced")
    func endToEnd() async throws {
        let provider = try await ProviderStandIn.start()
        let clock = ManualClock(Date())
        try await withApp(clock: clock, runJobs: true, channels: [{ ParrotChannel(http: $0) }]) { app in
            let workspace = try await WorkspaceFixture.make(app)
            // Its declared fields are required and typed.
            let missing = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                                json: ["name": "Loro", "channel": "parrot", "settings": ["parrot_account": "acme"]])
            #expect(missing.status == 400 && missing.text.contains("secrets.api_key"))
            let made = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: [
                "name": "Loro", "channel": "parrot", "settings": ["parrot_account": "acme", "api_base": provider.base],
                "secrets": ["api_key": "pk-live"],
            ])
            #expect(made.status == 201, "\(made.text)")
            let inbox = try made.json()
            let id = try #require(inbox["id"] as? String).lowercased()
            let signingKey = try #require(inbox["secret"] as? String)
            #expect(signingKey.hasPrefix("prk_"))
            #expect((inbox["inbound_url"] as? String)?.hasSuffix("/webhooks/parrot/\(id)") == true)
            #expect(try await Event.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).filter(\.$type == "inbox.created").count() == 1)

            // The admin page offers it, with its own fields, name and badge, in Spanish.
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (admin, csrf) = try await Browser.signedIn(app, as: workspace.adminID)
            let settings = try await admin.get(SiteURL.settings(slug, .inboxes).path).text
            #expect(settings.contains("<option value=\"parrot\">Loro</option>"))
            #expect(settings.contains("data-channels=\"parrot\"") && settings.contains("name=\"settings.parrot_account\"")
                    && settings.contains("name=\"secrets.api_key\"") && settings.contains("Clave de la API de Loro"))
            #expect(!settings.contains("name=\"settings.api_base\""), "API-only settings stay out of the form")
            #expect(settings.contains("/webhooks/parrot/\(id)") && settings.contains(##"stroke="#16a34a""##), "its own badge")

            // Webhooks: unsigned and another account refused, nothing stored; signed ones stored, once.
            let path = "/webhooks/parrot/\(id)"
            func post(_ object: [String: Any], key: String?) async throws -> HTTPAnswer {
                let body = try JSONSerialization.data(withJSONObject: object)
                var headers = [("Content-Type", "application/json")]
                if let key { headers.append(("X-Parrot-Signature", ParrotChannel.sign(body, key: key))) }
                return try await app.request(.POST, path, raw: body, headers: headers)
            }
            let hello: [String: Any] = ["account": "acme", "events": [["type": "message", "id": "in-1", "from": "u-77", "name": "Ana", "text": "Hola, loro"]]]
            #expect(try await post(hello, key: nil).status == 401)
            #expect(try await post(hello, key: "prk_wrong").status == 401)
            #expect(try await post(["account": "other", "events": hello["events"]!], key: signingKey).status == 403)
            #expect(try await app.count(Message.self) == 0)
            #expect(try await post(hello, key: signingKey).status == 200)
            #expect(try await post(hello, key: signingKey).status == 200, "a redelivery is accepted and changes nothing")
            #expect(try await app.count(Message.self) == 1)
            let conversation = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(conversation.channel.rawValue == "parrot")
            let page = try await admin.get("/app/\(slug)/conversations/\(conversation.number)").text
            #expect(page.contains("Hola, loro") && page.contains(##"stroke="#16a34a""##))

            // A reply leaves through Parrot; its status comes back on the webhook.
            provider.queue("/v1/send", 200, "{\"id\":\"out-1\"}")
            let reply = try await app.request(.POST, "\(workspace.path)/conversations/\(conversation.number)/messages", token: workspace.token,
                                              json: ["text": "¡Hola, Ana!"])
            #expect(reply.status == 201)
            let sent = try await waitFor { provider.calls("/v1/send").first }
            #expect(sent.json?["to"] as? String == "u-77" && sent.json?["text"] as? String == "¡Hola, Ana!")
            #expect(sent.headers.first(name: "Authorization") == "Key pk-live")
            let outgoing = try await waitFor {
                try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$providerMessageID == "out-1").first()
            }
            #expect(try await post(["account": "acme", "events": [["type": "status", "id": "out-1", "status": "read"]]], key: signingKey).status == 200)
            #expect(try await Message.find(outgoing.id, on: app.store.db)?.deliveryStatus == .read)

            // Its reply window (one hour): after it, a reply is refused with a typed error, named in the reader's language.
            clock.advance(by: 3700)
            let late = try await app.request(.POST, "\(workspace.path)/conversations/\(conversation.number)/messages", token: workspace.token,
                                             json: ["text": "¿Sigues ahí?"])
            #expect(late.status == 409)
            let error = try #require(try late.json()["error"] as? [String: Any])
            #expect(error["code"] as? String == "window_closed")
            #expect((error["parameters"] as? [String: String]) == ["channel": "parrot", "hours": "1"])
            let shown = try await admin.send(.POST, "\(workspace.path)/conversations/\(conversation.number)/messages",
                                             body: Data("{\"text\":\"¿Sigues ahí?\"}".utf8),
                                             headers: [("Content-Type", "application/json"), ("X-CSRF-Token", csrf), ("X-Atiende-UI", "1")])
            #expect(shown.status == 409 && shown.text.contains("Loro ya no deja que una persona responda"), "\(shown.text)")
        }
        try await provider.stop()
    }
}
