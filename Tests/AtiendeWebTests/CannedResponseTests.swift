@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Canned responses: variables filled in, gaps never sent, shared and personal", .serialized)
struct CannedResponseTests {
    @Test("variables: unknown or unclosed ones are refused; a missing value stays written and is listed")
    func placeholders() throws {
        #expect(throws: AtiendeError.self) { try Placeholders.validate("Hola {{contact.nombre completo}}") }
        #expect(throws: AtiendeError.self) { try Placeholders.validate("Hola {{agente.nombre}}") }
        #expect(throws: AtiendeError.self) { try Placeholders.validate("Hola {{contact.first_name") }
        try Placeholders.validate("Hola {{ contact.first_name }}, tu plan {{contact.plan}} · #{{conversation.number}}")
        let (text, missing) = Placeholders.fill("Hola {{ contact.first_name }}, tu plan {{contact.plan}}, {{contact.plan}}",
                                                values: ["contact.first_name": "Ana"])
        #expect(text == "Hola Ana, tu plan {{contact.plan}}, {{contact.plan}}" && missing == ["contact.plan"])
        #expect(Placeholders.unfilled(in: "Hola {{contact.first_name}} y {{otra cosa}}") == ["contact.first_name"])
        #expect(Placeholders.unfilled(in: "llaves {{ sueltas") == [])
    }

    @Test("shared ones by supervisors, personal ones private; filled in the conversation's language; a gap is refused and nothing is written")
    func endToEnd() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app, adminName: "Camila Rojas")
            let (_, agentToken) = try await workspace.member(app, role: .agent)
            let (_, otherToken) = try await workspace.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c-1", "name": "Ana María Soto"], text: "¿Y mi pedido?")).status == 200)
            let path = "\(workspace.path)/canned-responses"

            let envio: [String: Any] = ["shortcut": "/Envío", "title": "Estado del envío", "shared": true, "variants": [
                "es": "Hola {{contact.first_name}}, tu pedido (solicitud #{{conversation.number}}) sale hoy. Saludos, {{agent.first_name}}",
                "en": "Hi {{contact.first_name}}, your order ships today. {{agent.first_name}}"]]
            let refused = try await app.request(.POST, path, token: agentToken, json: envio)
            #expect(refused.status == 403, "agents do not change what the whole team uses")
            let created = try await app.request(.POST, path, token: workspace.token, json: envio)
            #expect(created.status == 201, "\(created.text)")
            let shared = try created.json()
            #expect(shared["shortcut"] as? String == "envio" && shared["shared"] as? Bool == true)
            let sharedID = try #require(shared["id"] as? String)
            #expect(try await app.request(.POST, path, token: workspace.token, json: envio).status == 409, "one /envio among the shared")
            let bad = try await app.request(.POST, path, token: workspace.token, json: ["shortcut": "x", "title": "X", "variants": ["es": "Hola {{cliente.nombre}}"]])
            #expect(bad.status == 400 && bad.text.contains("unknown_variable") && bad.text.contains("cliente.nombre"))
            #expect(try await app.request(.POST, path, token: workspace.token, json: ["shortcut": "x", "title": "X", "variants": ["fr": "Salut"]]).status == 400)

            // An agent's own response: theirs alone.
            let personal = try await app.request(.POST, path, token: agentToken, json: [
                "shortcut": "plan", "title": "Plan", "variants": ["es": "Tu plan es {{contact.plan}}."]])
            #expect(personal.status == 201)
            let personalID = try #require(try personal.json()["id"] as? String)
            let agentList = try await app.request(.GET, path, token: agentToken)
            #expect((try agentList.array()).compactMap { $0["shortcut"] as? String } == ["envio", "plan"])
            #expect((try await app.request(.GET, path, token: otherToken).array()).count == 1)
            #expect(try await app.request(.PATCH, "\(path)/\(personalID)", token: otherToken, json: ["title": "Mío"]).status == 404)
            #expect(try await app.request(.PATCH, "\(path)/\(sharedID)", token: agentToken, json: ["title": "Mío"]).status == 403)

            // Filled in for the conversation, in its language (the workspace's Spanish).
            let conversation = "\(workspace.path)/conversations/1"
            let filled = try await app.request(.GET, "\(conversation)/canned-responses/\(sharedID)", token: workspace.token)
            #expect(filled.status == 200)
            let fill = try filled.json()
            #expect(fill["text"] as? String == "Hola Ana, tu pedido (solicitud #1) sale hoy. Saludos, Camila" && fill["language"] as? String == "es")
            #expect((fill["missing"] as? [String]) == [])
            let gap = try await app.request(.GET, "\(conversation)/canned-responses/\(personalID)", token: agentToken)
            #expect(try gap.json()["text"] as? String == "Tu plan es {{contact.plan}}." && (try gap.json()["missing"] as? [String]) == ["contact.plan"])
            #expect(try await app.request(.GET, "\(conversation)/canned-responses/\(personalID)", token: otherToken).status == 404)

            // A gap is never sent: not by the response's id alone, nor typed; nothing is written.
            let messagesBefore = try await app.count(Message.self)
            let sentGap = try await app.request(.POST, "\(conversation)/messages", token: agentToken, json: ["canned_response_id": personalID])
            #expect(sentGap.status == 400 && sentGap.text.contains("missing_variable") && sentGap.text.contains("contact.plan"), "\(sentGap.text)")
            let typedGap = try await app.request(.POST, "\(conversation)/messages", token: agentToken, json: ["text": "Hola {{contact.first_name}}"])
            #expect(typedGap.status == 400 && typedGap.text.contains("missing_variable"))
            #expect(try await app.count(Message.self) == messagesBefore)
            let usesBefore = try #require(try await CannedResponse.find(UUID(uuidString: personalID), on: app.store.db)).useCount
            #expect(usesBefore == 0)

            // The agent fills it in; the reply goes, and the use is counted. The id alone sends the filled text.
            let sent = try await app.request(.POST, "\(conversation)/messages", token: agentToken,
                                             json: ["text": "Tu plan es Premium.", "canned_response_id": personalID])
            #expect(sent.status == 201)
            let byID = try await app.request(.POST, "\(conversation)/messages", token: workspace.token, json: ["canned_response_id": sharedID])
            let byIDText = try byID.json()["text"] as? String
            #expect(byID.status == 201 && byIDText?.hasPrefix("Hola Ana, tu pedido") == true)
            #expect(try await CannedResponse.find(UUID(uuidString: personalID), on: app.store.db)?.useCount == 1)
            #expect(try await CannedResponse.find(UUID(uuidString: sharedID), on: app.store.db)?.useCount == 1)
            // Someone else's personal response cannot be counted through a reply either.
            #expect(try await app.request(.POST, "\(conversation)/messages", token: otherToken,
                                          json: ["text": "Hola", "canned_response_id": personalID]).status == 404)

            // An English inbox gets the English text.
            let english = try await workspace.apiInbox(app, name: "US")
            #expect(try await app.request(.PATCH, "\(workspace.path)/inboxes/\(english.id)", token: workspace.token, json: ["language": "en"]).status == 200)
            #expect(try await english.post(app, APIInbox.message("m2", from: ["id": "c-2", "name": "John Smith"])).status == 200)
            let en = try await app.request(.GET, "\(workspace.path)/conversations/2/canned-responses/\(sharedID)", token: workspace.token)
            #expect(try en.json()["text"] as? String == "Hi John, your order ships today. Camila" && (try en.json()["language"] as? String) == "en")

            // Another workspace sees none of it.
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            #expect(try await app.request(.PATCH, "\(other.path)/canned-responses/\(sharedID)", token: other.token, json: ["title": "x"]).status == 404)
            #expect((try await app.request(.GET, "\(other.path)/canned-responses", token: other.token).array()).isEmpty)
            #expect(try await app.request(.DELETE, "\(path)/\(personalID)", token: agentToken).status == 204)
        }
    }
}
