@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Macros: several actions in one click, all or nothing", .serialized)
struct MacroTests {
    @Test("a macro replies with a filled canned response, labels, assigns and resolves in one transaction, with its activity line")
    func run() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app, adminName: "Camila Rojas")
            let (agentID, agentToken) = try await workspace.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c-1", "name": "Ana Soto"], text: "¿Y mi pedido?")).status == 200)
            let canned = try await app.request(.POST, "\(workspace.path)/canned-responses", token: workspace.token, json: [
                "shortcut": "envio", "title": "Envío", "shared": true, "variants": ["es": "Hola {{contact.first_name}}, tu pedido salió hoy."]])
            let cannedID = try #require(try canned.json()["id"] as? String)
            let macros = "\(workspace.path)/macros"
            let body: [String: Any] = ["name": "Envío y cerrar", "shared": true, "actions": [
                "reply": ["canned_response_id": cannedID], "add_labels": ["Despacho"], "status": "resolved", "assignee": "me",
                "priority": "low", "note": "Cerrado con la macro"]]
            #expect(try await app.request(.POST, macros, token: agentToken, json: body).status == 403)
            let created = try await app.request(.POST, macros, token: workspace.token, json: body)
            #expect(created.status == 201, "\(created.text)")
            let macroID = try #require(try created.json()["id"] as? String)

            // Refused actions say why.
            for (actions, status) in [([:], 400), (["status": "snoozed"], 400), (["assignee": UUID().uuidString], 404),
                                      (["team": UUID().uuidString], 404), (["reply": ["text": "Hola {{cliente}}"]], 400),
                                      (["reply": ["canned_response_id": UUID().uuidString]], 404)] as [([String: Any], Int)] {
                let refused = try await app.request(.POST, macros, token: workspace.token, json: ["name": "x", "actions": actions])
                #expect(refused.status == status, "\(actions): \(refused.text)")
            }

            let ran = try await app.request(.POST, "\(workspace.path)/conversations/1/macros/\(macroID)/run", token: agentToken)
            #expect(ran.status == 200, "\(ran.text)")
            let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 1).first())
            #expect(conversation.status == .resolved && conversation.labels == ["despacho"] && conversation.$assignee.id == agentID)
            #expect(conversation.priority == .low)
            let messages = try await Message.query(on: app.store.db).filter(\.$conversation.$id == conversation.requireID()).sort(\.$createdAt).all()
            #expect(messages.contains { $0.kind == .outgoing && $0.text == "Hola Ana, tu pedido salió hoy." && $0.senderID == agentID })
            #expect(messages.contains { $0.kind == .note && $0.text == "Cerrado con la macro" })
            let activity = messages.filter { $0.kind == .activity }.compactMap { JSON.decode(ConversationActivity.self, from: $0.text) }
            #expect(activity.contains(ConversationActivity(change: .macro, value: "Envío y cerrar")))
            #expect(activity.contains { $0.change == .status && $0.value == "resolved" })
            #expect(try await Macro.find(UUID(uuidString: macroID), on: app.store.db)?.useCount == 1)
            #expect(try await CannedResponse.find(UUID(uuidString: cannedID), on: app.store.db)?.useCount == 1)
            // The canned response the macro sends cannot be deleted from under it.
            let delete = try await app.request(.DELETE, "\(workspace.path)/canned-responses/\(cannedID)", token: workspace.token)
            #expect(delete.status == 409 && delete.text.contains("Envío y cerrar"), "\(delete.text)")
        }
    }

    @Test("when one action cannot be done nothing is: a reply a form cannot carry leaves labels and status as they were")
    func allOrNothing() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let form = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Formulario", "channel": "webform"])
            let formID = try #require(UUID(uuidString: try form.json()["id"] as? String ?? ""))
            let inbox = try #require(try await Inbox.find(formID, on: app.store.db))
            _ = try await app.services.ingest.receive(InboundMessage(inboxID: formID, providerMessageID: "f-1",
                                                                     sender: .init(name: "Pedro", identities: [(.phone, "+56 9 1111 2222")]),
                                                                     text: "Necesito ayuda"), in: inbox, countryCode: "56")
            let created = try await app.request(.POST, "\(workspace.path)/macros", token: workspace.token, json: [
                "name": "Responder y etiquetar", "actions": ["reply": ["text": "Hola {{contact.first_name}}"], "add_labels": ["vip"], "status": "resolved"]])
            let macroID = try #require(try created.json()["id"] as? String)
            let before = try await app.count(Message.self)
            let ran = try await app.request(.POST, "\(workspace.path)/conversations/1/macros/\(macroID)/run", token: workspace.token)
            #expect(ran.status == 400 && ran.text.contains("reply_needs_channel"), "\(ran.text)")
            let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 1).first())
            #expect(conversation.status == .open && conversation.labels.isEmpty)
            #expect(try await app.count(Message.self) == before)
            #expect(try await Macro.find(UUID(uuidString: macroID), on: app.store.db)?.useCount == 0)
            // Another workspace cannot run it, nor see it.
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            #expect(try await app.request(.POST, "\(other.path)/conversations/1/macros/\(macroID)/run", token: other.token).status == 404)
        }
    }
}
