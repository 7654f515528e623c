@testable import AtiendeChannels
@testable import AtiendeCore
import AtiendeMail
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

/// Conversations whose own channel carries no replies — a contact form, a logged call — are answered through another
/// inbox that reaches the customer, and the answer comes back into the same conversation.
@Suite("Answering through another channel", .serialized)
struct ReplyThroughTests {
    @Test("a contact-form conversation is answered by email (a real SMTP peer), and the customer's email answer joins it")
    func formByEmail() async throws {
        let catcher = try await MailCatcher.start()
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let form = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Formulario", "channel": "webform"])
            let formID = try #require(UUID(uuidString: try form.json()["id"] as? String ?? ""))
            let made = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: [
                "name": "Correo", "channel": "email",
                "settings": ["address": "soporte@tienda.cl", "smtp_host": "127.0.0.1", "smtp_port": String(catcher.port), "smtp_security": "none"],
            ])
            #expect(made.status == 201, "\(made.text)")
            let email = EmailInbox(id: try made.json()["id"] as? String ?? "", secret: try made.json()["secret"] as? String ?? "")
            let inbox = try #require(try await Inbox.find(formID, on: app.store.db))
            _ = try await app.services.ingest.receive(InboundMessage(inboxID: formID, providerMessageID: "form-1",
                                                                     sender: .init(name: "Ana Rojas", identities: [(.email, "ana@cliente.cl")]),
                                                                     text: "¿Tienen talla 40?"), in: inbox, countryCode: nil)
            let path = "\(workspace.path)/conversations/1/messages"

            // The form itself cannot carry the reply: said plainly, translated, nothing stored.
            let refused = try await app.request(.POST, path, token: workspace.token, json: ["text": "Hola"])
            #expect(refused.status == 400 && refused.text.contains("reply_needs_channel"))
            // An inbox that cannot reach her (no Telegram identity) is refused too.
            let telegram = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                                 json: ["name": "Bot", "channel": "telegram", "secrets": ["bot_token": "1:x"]])
            let telegramID = try telegram.json()["id"] as? String ?? ""
            let unreachable = try await app.request(.POST, path, token: workspace.token, json: ["text": "Hola", "via_inbox_id": telegramID])
            #expect(unreachable.status == 400 && unreachable.text.contains("no_address"))
            #expect(try await app.count(Message.self) == 1)

            // The page offers the email inbox to answer through (and not the bot).
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await browser.get("/app/\(slug)/conversations/1").text
            #expect(page.contains("name=\"via_inbox_id\"") && page.contains("value=\"\(email.id.lowercased())\"") && !page.contains("value=\"\(telegramID.lowercased())\""))

            let reply = try await app.request(.POST, path, token: workspace.token, json: ["text": "Sí, quedan dos.", "via_inbox_id": email.id])
            #expect(reply.status == 201, "\(reply.text)")
            let sent = try #require(try await catcher.wait(for: 1).first)
            #expect(sent.recipients == ["ana@cliente.cl"] && sent.mail.text.contains("Sí, quedan dos."))
            let replyTo = try #require(sent.mail.replyTo.first?.email)
            #expect(replyTo.hasPrefix("soporte+t") && replyTo.hasSuffix("@tienda.cl"))
            let outgoing = try await waitFor { try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$deliveryStatus == .sent).first() }
            #expect(outgoing.$inbox.id.uuidString.lowercased() == email.id.lowercased())

            // Her answer by email, to the plus address: the same conversation, in the form's inbox.
            let answer = mail(from: "Ana Rojas <ana@cliente.cl>", to: replyTo, id: "ana-2@cliente.cl", subject: "Re: Solicitud [#1]", body: "¡Perfecto, la compro!")
            #expect(try await email.post(app, answer).status == 200)
            #expect(try await Conversation.query(on: app.store.db).count() == 1)
            let conversation = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(conversation.$inbox.id == formID && conversation.messageCount == 3)
            #expect(try await Message.query(on: app.store.db).filter(\.$text == "¡Perfecto, la compro!").count() == 1)
        }
        catcher.stop()
    }

    @Test("a logged call is answered by WhatsApp through the provider stand-in, to the phone number it was logged with")
    func callByWhatsApp() async throws {
        let provider = try await ProviderStandIn.start()
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let phone = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Teléfono", "channel": "phone"])
            let phoneID = try #require(UUID(uuidString: try phone.json()["id"] as? String ?? ""))
            let whatsapp = try await MessagingInbox.make(app, workspace, channel: "whatsapp", settings: ["phone_number_id": "1234", "api_base": provider.base],
                                                         secrets: ["access_token": "EAAG-token", "app_secret": "app-secret"])
            let inbox = try #require(try await Inbox.find(phoneID, on: app.store.db))
            _ = try await app.services.ingest.receive(InboundMessage(inboxID: phoneID, providerMessageID: "call-1",
                                                                     sender: .init(name: "Pedro", identities: [(.phone, "+56 9 1111 2222")]),
                                                                     text: "Llamó por su pedido"), in: inbox, countryCode: "56")
            let reply = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                              json: ["text": "Pedro, tu pedido sale hoy.", "via_inbox_id": whatsapp.id])
            #expect(reply.status == 201, "\(reply.text)")
            let sent = try await waitFor { provider.calls("/v21.0/1234/messages").first }
            #expect(sent.json?["to"] as? String == "56911112222")
            #expect((sent.json?["text"] as? [String: Any])?["body"] as? String == "Pedro, tu pedido sale hoy.")
        }
        try await provider.stop()
    }

    @Test("a form conversation with no inbox that reaches the customer names the channels to connect")
    func whatIsMissing() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let form = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Formulario", "channel": "webform"])
            let formID = try #require(UUID(uuidString: try form.json()["id"] as? String ?? ""))
            let inbox = try #require(try await Inbox.find(formID, on: app.store.db))
            for (id, identity) in [("f-1", (IdentityKind.email, "ana@cliente.cl")), ("f-2", (IdentityKind.external, "x-2"))] {
                _ = try await app.services.ingest.receive(InboundMessage(inboxID: formID, providerMessageID: id,
                                                                         sender: .init(name: "Ana \(id)", identities: [identity]),
                                                                         text: "Hola"), in: inbox, countryCode: nil)
            }
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (admin, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let withEmail = try await admin.get(SiteURL.conversation(slug, 1).path).text
            #expect(withEmail.contains("ninguno de los conectados aquí llega a este cliente: conecta Correo en Bandejas y canales"))
            let other = try await admin.get(SiteURL.conversation(slug, 2).path).text
            #expect(other.contains("id=\"no-channel\"") && other.contains("conecta API en Bandejas") && !other.contains("conecta Correo"))
        }
    }
}
