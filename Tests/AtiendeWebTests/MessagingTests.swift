@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Crypto
import Fluent
import Foundation
import Testing
import Vapor

/// A messaging inbox made through the REST API, pointed at the stand-in provider.
struct MessagingInbox: Sendable {
    let id: String
    let channel: String
    let inboundURL: String
    let settings: [String: String]
    var path: String { "/webhooks/\(channel)/\(id.lowercased())" }

    static func make(_ app: TestApp, _ workspace: WorkspaceFixture, channel: String, settings: [String: String],
                     secrets: [String: String]) async throws -> MessagingInbox {
        let answer = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                           json: ["name": channel, "channel": channel, "settings": settings, "secrets": secrets])
        #expect(answer.status == 201, "\(answer.text)")
        let json = try answer.json()
        return MessagingInbox(id: json["id"] as? String ?? "", channel: channel, inboundURL: json["inbound_url"] as? String ?? "",
                              settings: json["settings"] as? [String: String] ?? [:])
    }

    /// Posts a Meta webhook signed with `secret` (X-Hub-Signature-256).
    func postMeta(_ app: TestApp, _ object: [String: Any], secret: String?) async throws -> HTTPAnswer {
        let body = try JSONSerialization.data(withJSONObject: object)
        var headers = [("Content-Type", "application/json")]
        if let secret { headers.append(("X-Hub-Signature-256", HubSignature.sign(body, secret: secret))) }
        return try await app.request(.POST, path, raw: body, headers: headers)
    }
}

func whatsappWebhook(messages: [[String: Any]] = [], statuses: [[String: Any]] = [], name: String = "Ana Pérez", from: String = "56911112222") -> [String: Any] {
    var value: [String: Any] = ["messaging_product": "whatsapp", "metadata": ["display_phone_number": "15550001111", "phone_number_id": "1234"]]
    if !messages.isEmpty {
        value["contacts"] = [["profile": ["name": name], "wa_id": from]]
        value["messages"] = messages
    }
    if !statuses.isEmpty { value["statuses"] = statuses }
    return ["object": "whatsapp_business_account", "entry": [["id": "WABA", "changes": [["field": "messages", "value": value]]]]]
}

func waText(_ id: String, _ text: String, from: String = "56911112222", at: Date = Date()) -> [String: Any] {
    ["from": from, "id": id, "timestamp": String(Int(at.timeIntervalSince1970)), "type": "text", "text": ["body": text]]
}

@Suite("Messaging channels", .serialized)
struct MessagingTests {
    @Test("WhatsApp: handshake, signatures, messages in order with their files, replays, statuses, sends, the 24-hour window and templates")
    func whatsapp() async throws {
        let provider = try await ProviderStandIn.start()
        let clock = ManualClock(Date())
        try await withApp(clock: clock, runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await MessagingInbox.make(app, workspace, channel: "whatsapp",
                                                      settings: ["phone_number_id": "1234", "api_base": provider.base],
                                                      secrets: ["access_token": "EAAG-token", "app_secret": "app-secret"])
            #expect(inbox.inboundURL.hasSuffix(inbox.path))
            let verify = try #require(inbox.settings["verify_token"])
            // The admin page shows what to paste into Meta's console.
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (admin, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let settingsPage = try await admin.get(SiteURL.settings(slug, .inboxes).path)
            #expect(settingsPage.text.contains(inbox.path) && settingsPage.text.contains(verify))
            #expect(try await admin.get("/app/\(slug)/conversations/1").status == 404)
            // The subscription handshake.
            let ok = try await app.request(.GET, inbox.path + "?hub.mode=subscribe&hub.verify_token=\(verify)&hub.challenge=1158201444")
            #expect(ok.status == 200 && ok.text == "1158201444")
            #expect(try await app.request(.GET, inbox.path + "?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1").status == 403)

            // Unsigned, badly signed and malformed: refused, nothing stored.
            let hello = whatsappWebhook(messages: [waText("wamid.A1", "Hola, ¿tienen stock?", at: clock.now())])
            #expect(try await inbox.postMeta(app, hello, secret: nil).status == 401)
            #expect(try await inbox.postMeta(app, hello, secret: "not-the-secret").status == 401)
            #expect(try await inbox.postMeta(app, ["object": "page"], secret: "app-secret").status == 400)
            #expect(try await app.count(Message.self) == 0)

            // A burst: a line, a photo with caption, a location, a reply with context — one conversation, in order.
            let burst = whatsappWebhook(messages: [
                waText("wamid.A1", "Hola, ¿tienen stock?", at: clock.now()),
                ["from": "56911112222", "id": "wamid.A2", "timestamp": "1", "type": "image",
                 "image": ["id": "MEDIA-1", "mime_type": "image/png", "caption": "Este modelo"]],
                ["from": "56911112222", "id": "wamid.A3", "timestamp": "1", "type": "location",
                 "location": ["latitude": -33.45, "longitude": -70.66, "name": "Tienda Centro"]],
                ["from": "56911112222", "id": "wamid.A4", "timestamp": "1", "type": "text", "text": ["body": "¿Y en azul?"],
                 "context": ["from": "15550001111", "id": "wamid.OUT1"]],
            ])
            #expect(try await inbox.postMeta(app, burst, secret: "app-secret").status == 200)
            #expect(try await inbox.postMeta(app, burst, secret: "app-secret").status == 200, "a redelivery is accepted")
            #expect(try await app.count(Message.self) == 4)
            #expect(try await Conversation.query(on: app.store.db).count() == 1)
            let texts = try await Message.query(on: app.store.db).sort(\.$createdAt).all().map(\.text)
            #expect(Set(texts) == ["Hola, ¿tienen stock?", "Este modelo", "📍 Tienda Centro https://maps.google.com/?q=-33.45,-70.66", "¿Y en azul?"])
            // A voice note and a PDF: both fetched and stored under their names.
            let files = whatsappWebhook(messages: [
                ["from": "56911112222", "id": "wamid.A5", "timestamp": "1", "type": "audio", "audio": ["id": "MEDIA-2", "mime_type": "audio/ogg; codecs=opus", "voice": true]],
                ["from": "56911112222", "id": "wamid.A6", "timestamp": "1", "type": "document",
                 "document": ["id": "MEDIA-3", "mime_type": "application/pdf", "filename": "boleta-5521.pdf", "caption": "La boleta"]],
            ])
            #expect(try await inbox.postMeta(app, files, secret: "app-secret").status == 200)
            let names = try await Attachment.query(on: app.store.db).all().map(\.filename)
            #expect(names.contains("audio.ogg") && names.contains("boleta-5521.pdf"), "\(names)")
            #expect(try await Conversation.query(on: app.store.db).count() == 1)
            let attachment = try #require(try await Attachment.query(on: app.store.db).filter(\.$filename == "image.png").first())
            #expect(attachment.contentType == "image/png" && attachment.size == ProviderStandIn.file.count)
            #expect(provider.calls("/MEDIA-1").first?.headers.first(name: "Authorization") == "Bearer EAAG-token")
            let contact = try #require(try await Contact.query(on: app.store.db).with(\.$identities).first())
            #expect(contact.name == "Ana Pérez")
            #expect(Set(contact.identities.map(\.kind)) == [.whatsapp, .phone])

            // The agent answers: the Cloud API is called with the number and the text.
            let reply = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "¡Sí! Quedan 3."])
            #expect(reply.status == 201)
            let sent = try await waitFor { provider.calls("/v21.0/1234/messages").first }
            #expect(sent.json?["to"] as? String == "56911112222")
            #expect((sent.json?["text"] as? [String: Any])?["body"] as? String == "¡Sí! Quedan 3.")
            let outgoing = try await waitFor { try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$providerMessageID != nil).first() }
            let wamid = try #require(outgoing.providerMessageID)

            // Read may come without delivered; a late "delivered" does not take it back.
            let read = whatsappWebhook(statuses: [["id": wamid, "status": "read", "timestamp": "2", "recipient_id": "56911112222"]])
            #expect(try await inbox.postMeta(app, read, secret: "app-secret").status == 200)
            let late = whatsappWebhook(statuses: [["id": wamid, "status": "delivered", "timestamp": "1", "recipient_id": "56911112222"]])
            #expect(try await inbox.postMeta(app, late, secret: "app-secret").status == 200)
            #expect(try await Message.find(outgoing.id, on: app.store.db)?.deliveryStatus == .read)

            // The provider's failure, with its reason.
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "¿Sigues ahí?"])
            let second = try await waitFor { try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$providerMessageID != wamid)
                .filter(\.$providerMessageID != nil).first() }
            let failed = whatsappWebhook(statuses: [["id": second.providerMessageID ?? "", "status": "failed", "timestamp": "3", "recipient_id": "56911112222",
                                                     "errors": [["code": 131026, "title": "Message undeliverable", "error_data": ["details": "Receiver is incapable"]]]]])
            #expect(try await inbox.postMeta(app, failed, secret: "app-secret").status == 200)
            let marked = try #require(try await Message.find(second.id, on: app.store.db))
            #expect(marked.deliveryStatus == .failed)
            #expect(marked.deliveryError?.contains("131026") == true && marked.deliveryError?.contains("Message undeliverable") == true)
            #expect(marked.deliveryErrorCode == "undeliverable")

            // A rate limit from the API is tried again; an invalid recipient fails for good, with the reason.
            provider.queue("/1234/messages", 400, "{\"error\":{\"message\":\"(#131030) Recipient phone number not in allowed list\",\"type\":\"OAuthException\",\"code\":131030}}")
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Tercera"])
            let refused = try await waitFor { try await Message.query(on: app.store.db).filter(\.$text == "Tercera").filter(\.$deliveryStatus == .failed).first() }
            #expect(refused.deliveryError?.contains("131030") == true)

            // After 24 hours only a template goes out: the agent is told, with a form for one.
            #expect(try await admin.get("/app/\(slug)/conversations/1").text.contains("window-closed") == false)
            clock.advance(by: 25 * 3600)
            let page = try await admin.get("/app/\(slug)/conversations/1")
            #expect(page.text.contains("id=\"window-closed\"") && page.text.contains("name=\"template.name\""))
            let closed = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "¿Hola?"])
            #expect(closed.status == 409 && closed.text.contains("window_closed"))
            let note = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "nota", "private": true])
            #expect(note.status == 201, "private notes are not limited")
            let template = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                                 json: ["template": ["name": "seguimiento_pedido", "language": "es", "parameters": ["Ana", "5521"]]])
            #expect(template.status == 201, "\(template.text)")
            let templated = try await waitFor { provider.calls("/1234/messages").first { ($0.json?["type"] as? String) == "template" } }
            let body = templated.json?["template"] as? [String: Any]
            #expect(body?["name"] as? String == "seguimiento_pedido")
            #expect(((body?["components"] as? [[String: Any]])?.first?["parameters"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["Ana", "5521"])

            // The credentials check says what the provider said.
            let check = try await app.request(.POST, "\(workspace.path)/inboxes/\(inbox.id)/check", token: workspace.token)
            #expect(check.status == 200, "\(check.text)")
        }
        try await provider.stop()
    }

    @Test("Messenger and Instagram: echoes ignored, watermarks applied, RESPONSE then the human agent tag, window errors readable")
    func messenger() async throws {
        let provider = try await ProviderStandIn.start()
        let clock = ManualClock(Date())
        try await withApp(clock: clock, runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await MessagingInbox.make(app, workspace, channel: "messenger",
                                                      settings: ["page_id": "PAGE1", "api_base": provider.base],
                                                      secrets: ["page_access_token": "PAGE-TOKEN", "app_secret": "meta-secret"])
            let ms = Int(clock.now().timeIntervalSince1970 * 1000)
            let inbound: [String: Any] = ["object": "page", "entry": [["id": "PAGE1", "time": ms, "messaging": [
                ["sender": ["id": "PSID-9"], "recipient": ["id": "PAGE1"], "timestamp": ms,
                 "message": ["mid": "m_in1", "text": "Hola desde Messenger",
                             "attachments": [["type": "image", "payload": ["url": provider.base + "/files/cat.jpg"]]]]],
                ["sender": ["id": "PAGE1"], "recipient": ["id": "PSID-9"], "timestamp": ms,
                 "message": ["mid": "m_echo", "text": "nuestro eco", "is_echo": true]],
            ]]]]
            #expect(try await inbox.postMeta(app, inbound, secret: "wrong").status == 401)
            #expect(try await inbox.postMeta(app, inbound, secret: "meta-secret").status == 200)
            #expect(try await app.count(Message.self) == 1)
            #expect(try await app.count(Attachment.self) == 1)
            #expect(try await ContactIdentity.query(on: app.store.db).first()?.kind == .messenger)

            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "¡Hola!"])
            let sent = try await waitFor { provider.calls("/me/messages").first }
            #expect(sent.query.contains("access_token=PAGE-TOKEN"))
            #expect(sent.json?["messaging_type"] as? String == "RESPONSE")
            #expect((sent.json?["recipient"] as? [String: Any])?["id"] as? String == "PSID-9")
            _ = try await waitFor { try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$deliveryStatus == .sent).first() }

            // Delivery then read watermarks.
            let later = Int(clock.now().addingTimeInterval(5).timeIntervalSince1970 * 1000)
            let delivered: [String: Any] = ["object": "page", "entry": [["id": "PAGE1", "time": later, "messaging": [
                ["sender": ["id": "PSID-9"], "recipient": ["id": "PAGE1"], "timestamp": later, "delivery": ["mids": ["m_out_unknown"], "watermark": later]]]]]]
            #expect(try await inbox.postMeta(app, delivered, secret: "meta-secret").status == 200)
            #expect(try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus == .delivered)
            let read: [String: Any] = ["object": "page", "entry": [["id": "PAGE1", "time": later, "messaging": [
                ["sender": ["id": "PSID-9"], "recipient": ["id": "PAGE1"], "timestamp": later, "read": ["watermark": later]]]]]]
            #expect(try await inbox.postMeta(app, read, secret: "meta-secret").status == 200)
            #expect(try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus == .read)

            // Two days later: the human agent tag; outside the window the provider's error is shown.
            clock.advance(by: 2 * 86400)
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Seguimos atentos"])
            let tagged = try await waitFor { provider.calls("/me/messages").dropFirst().first }
            #expect(tagged.json?["messaging_type"] as? String == "MESSAGE_TAG" && tagged.json?["tag"] as? String == "HUMAN_AGENT")
            provider.queue("/me/messages", 400, "{\"error\":{\"message\":\"This message is sent outside of allowed window.\",\"type\":\"OAuthException\",\"code\":10,\"error_subcode\":2018278}}")
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Otra"])
            let failed = try await waitFor { try await Message.query(on: app.store.db).filter(\.$text == "Otra").filter(\.$deliveryStatus == .failed).first() }
            #expect(failed.deliveryErrorCode == "window_closed" && failed.deliveryError?.contains("outside of allowed window") == true)
            // After 7 days the reply is refused before it is sent.
            clock.advance(by: 6 * 86400)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "x"]).status == 409)

            // Instagram: the same shape under object "instagram", its own identity kind, a page object refused.
            let instagram = try await MessagingInbox.make(app, workspace, channel: "instagram",
                                                          settings: ["page_id": "IG1", "api_base": provider.base],
                                                          secrets: ["page_access_token": "IG-TOKEN", "app_secret": "ig-secret"])
            let now = Int(clock.now().timeIntervalSince1970 * 1000)
            let dm: [String: Any] = ["object": "instagram", "entry": [["id": "IG1", "time": now, "messaging": [
                ["sender": ["id": "IGSID-5"], "recipient": ["id": "IG1"], "timestamp": now, "message": ["mid": "ig_m1", "text": "Hola desde Instagram"]]]]]]
            #expect(try await instagram.postMeta(app, inbound, secret: "ig-secret").status == 400)
            #expect(try await instagram.postMeta(app, dm, secret: "ig-secret").status == 200)
            #expect(try await ContactIdentity.query(on: app.store.db).filter(\.$kind == .instagram).first()?.value == "IGSID-5")
            let number = try #require(try await Conversation.query(on: app.store.db).filter(\.$channel == .instagram).first()).number
            _ = try await app.request(.POST, "\(workspace.path)/conversations/\(number)/messages", token: workspace.token, json: ["text": "¡Hola!"])
            let igSent = try await waitFor { provider.calls("/me/messages").first { $0.query.contains("IG-TOKEN") } }
            #expect((igSent.json?["recipient"] as? [String: Any])?["id"] as? String == "IGSID-5")
        }
        try await provider.stop()
    }

    @Test("Telegram: the secret token, update ids as the idempotency key, photos fetched, 429 retry_after respected")
    func telegram() async throws {
        let provider = try await ProviderStandIn.start()
        let clock = ManualClock(Date())
        try await withApp(clock: clock, runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await MessagingInbox.make(app, workspace, channel: "telegram", settings: ["api_base": provider.base],
                                                      secrets: ["bot_token": "123:ABC"])
            let secret = try #require(try await Inbox.find(UUID(uuidString: inbox.id), on: app.store.db)?.secrets(with: app.services.secrets)["secret_token"])
            func post(_ update: [String: Any], token: String?) async throws -> HTTPAnswer {
                var headers = [("Content-Type", "application/json")]
                if let token { headers.append(("X-Telegram-Bot-Api-Secret-Token", token)) }
                return try await app.request(.POST, inbox.path, raw: try JSONSerialization.data(withJSONObject: update), headers: headers)
            }
            let update: [String: Any] = ["update_id": 700, "message": [
                "message_id": 5, "date": Int(clock.now().timeIntervalSince1970), "caption": "Mi boleta",
                "from": ["id": 4242, "is_bot": false, "first_name": "Rosa", "last_name": "Díaz"],
                "chat": ["id": 4242, "type": "private", "first_name": "Rosa"],
                "photo": [["file_id": "small", "file_unique_id": "s", "width": 90, "height": 90],
                          ["file_id": "large", "file_unique_id": "l", "width": 800, "height": 800]]]]
            #expect(try await post(update, token: nil).status == 401)
            #expect(try await post(update, token: "wrong").status == 401)
            #expect(try await post(update, token: secret).status == 200)
            #expect(try await post(update, token: secret).status == 200)
            #expect(try await app.count(Message.self) == 1)
            #expect(provider.calls("/bot123:ABC/getFile").first?.json?["file_id"] as? String == "large")
            #expect(try await app.count(Attachment.self) == 1)
            #expect(try await Contact.query(on: app.store.db).first()?.name == "Rosa Díaz")
            // A document keeps its name and type.
            let document: [String: Any] = ["update_id": 702, "message": [
                "message_id": 7, "date": Int(clock.now().timeIntervalSince1970),
                "from": ["id": 4242, "is_bot": false, "first_name": "Rosa"], "chat": ["id": 4242, "type": "private"],
                "document": ["file_id": "doc-1", "file_unique_id": "d1", "file_name": "boleta.pdf", "mime_type": "application/pdf"]]]
            #expect(try await post(document, token: secret).status == 200)
            #expect(try await Attachment.query(on: app.store.db).filter(\.$filename == "boleta.pdf").first()?.contentType == "application/pdf")
            #expect(try await app.count(Message.self) == 2)
            // A group message is not a customer conversation.
            var group = update
            group["update_id"] = 701
            group["message"] = ["message_id": 6, "date": 0, "text": "hola grupo", "from": ["id": 1, "is_bot": false, "first_name": "X"],
                                "chat": ["id": -100, "type": "group", "title": "G"]]
            #expect(try await post(group, token: secret).status == 200)
            #expect(try await app.count(Message.self) == 2)

            provider.queue("/sendMessage", 429, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 3\",\"parameters\":{\"retry_after\":3}}")
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Recibido, gracias"])
            _ = try await waitFor { provider.calls("/sendMessage").first }
            try await Task.sleep(for: .milliseconds(300))
            #expect(provider.calls("/sendMessage").count == 1, "not again before retry_after")
            let job = try #require(try await Job.query(on: app.store.db).filter(\.$kind == JobKind.send.rawValue).first())
            #expect(job.runAt.timeIntervalSince(clock.now()) > 2.5 && job.lastError?.contains("Too Many Requests") == true)
            clock.advance(by: 4)
            let retried = try await waitFor { provider.calls("/sendMessage").dropFirst().first }
            #expect(retried.json?["chat_id"] as? String == "4242" && retried.json?["text"] as? String == "Recibido, gracias")
            _ = try await waitFor { try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$deliveryStatus == .sent).first() }
            // The check points the bot's webhook here.
            #expect(try await app.request(.POST, "\(workspace.path)/inboxes/\(inbox.id)/check", token: workspace.token).status == 200)
        }
        try await provider.stop()
    }

    @Test("Twilio's documented signature vector")
    func twilioVector() {
        let signature = TwilioAdapter.signature(url: "https://mycompany.com/myapp.php?foo=1&bar=2", parameters: [
            ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"), ("From", "+12349013030"), ("To", "+18005551212"),
        ], authToken: "12345")
        #expect(signature == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    }

    @Test("Twilio: signed on the public URL, a changed parameter refused, statuses applied, the same phone on WhatsApp and SMS is one contact")
    func twilio() async throws {
        let provider = try await ProviderStandIn.start()
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let sms = try await MessagingInbox.make(app, workspace, channel: "twilio",
                                                    settings: ["account_sid": "AC123", "from": "+15550001111", "api_base": provider.base,
                                                               "public_url": "https://desk.example.com/webhooks/twilio/placeholder"],
                                                    secrets: ["auth_token": "twilio-token"])
            // The URL Twilio signs is the public one, configured on the inbox.
            let publicURL = "https://desk.example.com" + sms.path
            _ = try await app.request(.PATCH, "\(workspace.path)/inboxes/\(sms.id)", token: workspace.token,
                                      json: ["settings": ["account_sid": "AC123", "from": "+15550001111", "api_base": provider.base, "public_url": publicURL]])
            func post(_ fields: [(String, String)], signedFields: [(String, String)]? = nil) async throws -> HTTPAnswer {
                let signature = TwilioAdapter.signature(url: publicURL, parameters: signedFields ?? fields, authToken: "twilio-token")
                return try await app.request(.POST, sms.path, raw: Data(ProviderHTTP.formEncode(fields).utf8),
                                             headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature)])
            }
            let fields = [("MessageSid", "SM1"), ("AccountSid", "AC123"), ("From", "+56911112222"), ("To", "+15550001111"),
                          ("Body", "Hola por SMS"), ("NumMedia", "0")]
            #expect(try await post(fields.map { $0.0 == "Body" ? ($0.0, "Otro texto") : $0 }, signedFields: fields).status == 401)
            let accepted = try await post(fields)
            #expect(accepted.status == 200 && accepted.text.contains("<Response>"))
            #expect(try await app.count(Message.self) == 1)

            // The same number on WhatsApp (another inbox): the same contact.
            let whatsapp = try await MessagingInbox.make(app, workspace, channel: "whatsapp",
                                                         settings: ["phone_number_id": "1234", "api_base": provider.base],
                                                         secrets: ["access_token": "t", "app_secret": "s"])
            #expect(try await whatsapp.postMeta(app, whatsappWebhook(messages: [waText("wamid.Z", "Hola por WhatsApp")]), secret: "s").status == 200)
            #expect(try await app.count(Contact.self) == 1)
            #expect(try await app.count(Conversation.self) == 2)

            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Hola, ¿en qué ayudamos?"])
            let sent = try await waitFor { provider.calls("/2010-04-01/Accounts/AC123/Messages.json").first }
            #expect(sent.headers.first(name: "Authorization") == ProviderHTTP.basicAuth("AC123", "twilio-token"))
            let form = Dictionary(uniqueKeysWithValues: TwilioAdapter.formFields(sent.body))
            #expect(form["To"] == "+56911112222" && form["From"] == "+15550001111" && form["Body"] == "Hola, ¿en qué ayudamos?")
            let outgoing = try await waitFor { try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$providerMessageID != nil).first() }
            let status = [("MessageSid", outgoing.providerMessageID ?? ""), ("MessageStatus", "undelivered"), ("ErrorCode", "30003"), ("AccountSid", "AC123")]
            #expect(try await post(status).status == 200)
            let marked = try #require(try await Message.find(outgoing.id, on: app.store.db))
            #expect(marked.deliveryStatus == .failed && marked.deliveryError?.contains("30003") == true && marked.deliveryErrorCode == "undeliverable")
        }
        try await provider.stop()
    }
}

/// Polls until `body` gives a value (or fails after a while).
func waitFor<T>(seconds: Double = 10, _ body: () async throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw AtiendeError(.unavailable, "timed out waiting")
}
