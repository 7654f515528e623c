@testable import AtiendeChannels
@testable import AtiendeCore
import AtiendeMail
@testable import AtiendeWeb
import Crypto
import Fluent
import Foundation
import Testing
import Vapor

/// An email inbox and raw mail posted to it, signed with its inbound secret.
struct EmailInbox: Sendable {
    let id: String
    let secret: String

    static func make(_ app: TestApp, _ workspace: WorkspaceFixture) async throws -> EmailInbox {
        let answer = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                           json: ["name": "Correo", "channel": "email", "settings": ["address": "Soporte@Tienda.cl"]])
        #expect(answer.status == 201, "\(answer.text)")
        let json = try answer.json()
        #expect((json["settings"] as? [String: String])?["address"] == "soporte@tienda.cl")
        return EmailInbox(id: json["id"] as? String ?? "", secret: json["secret"] as? String ?? "")
    }

    func post(_ app: TestApp, _ mail: String, secret: String? = nil) async throws -> HTTPAnswer {
        let raw = Data(mail.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let ts = String(Int(Date().timeIntervalSince1970))
        let key = secret ?? self.secret
        let headers = [("Content-Type", "message/rfc822"), ("X-Atiende-Timestamp", ts),
                       ("X-Atiende-Signature", WebhookSignature.sign(secret: key, timestamp: ts, body: raw))]
        return try await app.request(.POST, "/api/v1/channels/email/\(id.lowercased())/messages", raw: raw, headers: headers)
    }
}

func mail(from: String, to: String = "soporte@tienda.cl", id: String, subject: String = "Consulta", extra: String = "", body: String) -> String {
    """
    From: \(from)
    To: \(to)
    Subject: \(subject)
    Message-ID: <\(id)>
    Date: Mon, 23 Nov 2026 10:00:00 -0300
    \(extra)MIME-Version: 1.0
    Content-Type: text/plain; charset=utf-8

    \(body)

    """
}

@Suite("Email in: raw MIME, threading, safety", .serialized)
struct EmailInboundTests {
    @Test("mail becomes a conversation with the customer's words and the original; replies thread by token or References, never across senders")
    func threading() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await EmailInbox.make(app, workspace)
            let first = mail(from: "Marta Silva <marta@example.com>", id: "m1@example.com", subject: "Cambio de talla",
                             body: "Hola, quiero cambiar la talla del pedido 5521.\n\nEnviado desde mi iPhone")
            #expect(try await inbox.post(app, first, secret: "whsec_wrong").status == 401)
            let posted = try await inbox.post(app, first)
            #expect(posted.status == 200, "\(posted.text)")
            #expect(try await inbox.post(app, first).status == 200, "a redelivery")
            #expect(try await app.count(Message.self) == 1)
            let conversation = try #require(try await Conversation.query(on: app.store.db).first())
            let token = try #require(conversation.providerThreadID)
            #expect(conversation.subject == "Cambio de talla" && conversation.channel == .email)
            let message = try #require(try await Message.query(on: app.store.db).with(\.$attachments).first())
            #expect(message.text == "Hola, quiero cambiar la talla del pedido 5521.", "the phone signature is trimmed")
            #expect(message.attachments.map(\.filename) == ["original.eml"] && message.attachments.first?.contentType == "message/rfc822")
            #expect(try await Contact.query(on: app.store.db).first()?.name == "Marta Silva")

            // Her reply to our mail (plus-addressed Reply-To): the same conversation, quoted history trimmed.
            let reply = mail(from: "marta@example.com", to: "Soporte <soporte+\(token)@tienda.cl>", id: "m2@example.com", subject: "Re: [#1] Cambio de talla",
                             body: "La M, por favor.\n\nEl lun, 23 nov 2026 a las 9:00, Soporte escribió:\n> ¿Qué talla?")
            #expect(try await inbox.post(app, reply).status == 200)
            #expect(try await Conversation.query(on: app.store.db).count() == 1)
            #expect(try await Message.query(on: app.store.db).filter(\.$providerMessageID == "m2@example.com").first()?.text == "La M, por favor.")
            // A reply by References only (the token lost by her client): the same conversation.
            let byReference = mail(from: "marta@example.com", id: "m3@example.com", extra: "In-Reply-To: <m2@example.com>\nReferences: <m1@example.com> <m2@example.com>\n",
                                   body: "¿Me confirman?")
            #expect(try await inbox.post(app, byReference).status == 200)
            #expect(try await Conversation.query(on: app.store.db).count() == 1)

            // Someone else with her token, or answering her Message-ID: never into her conversation.
            let forged = mail(from: "intruso@evil.example", to: "soporte+\(token)@tienda.cl", id: "x1@evil.example",
                              extra: "References: <m1@example.com>\n", body: "Cambien la dirección de envío a la mía.")
            #expect(try await inbox.post(app, forged).status == 200)
            let conversations = try await Conversation.query(on: app.store.db).sort(\.$number).all()
            #expect(conversations.count == 2)
            #expect(conversations[1].providerThreadID != token, "the intruder does not even learn her token in our replies")
            #expect(try await Message.query(on: app.store.db).filter(\.$conversation.$id == conversations[0].requireID()).count() == 3)

            // Marta copies her boss; the boss, now a participant, answers with the token: the same conversation, as the boss.
            let copied = mail(from: "marta@example.com", to: "soporte+\(token)@tienda.cl", id: "m4@example.com",
                              extra: "Cc: Jefe <jefe@example.com>, soporte@tienda.cl\n", body: "Copio a mi jefe.")
            #expect(try await inbox.post(app, copied).status == 200)
            #expect(try await Conversation.find(conversations[0].requireID(), on: app.store.db)?.participants == ["jefe@example.com"])
            let boss = mail(from: "jefe@example.com", to: "soporte+\(token)@tienda.cl", id: "b1@example.com", body: "Autorizado.")
            #expect(try await inbox.post(app, boss).status == 200)
            let answer = try #require(try await Message.query(on: app.store.db).filter(\.$providerMessageID == "b1@example.com").first())
            #expect(answer.$conversation.id == conversations[0].id)
            #expect(answer.senderID != conversations[0].$contact.id, "the boss writes as the boss")
            #expect(try await Conversation.query(on: app.store.db).count() == 2)
        }
    }

    @Test("the mail as sent: sanitized HTML, inline images embedded, remote images only when the agent asks")
    func htmlView() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await EmailInbox.make(app, workspace)
            let png = Data([0x89, 0x50, 0x4E, 0x47]).base64EncodedString()
            let html = """
            From: Ana <ana@example.com>
            To: soporte@tienda.cl
            Subject: Foto
            Message-ID: <html-1@example.com>
            MIME-Version: 1.0
            Content-Type: multipart/related; boundary="r"

            --r
            Content-Type: text/html; charset=utf-8

            <p onclick="steal()">Mira <b>esto</b></p><script>window.__xss=1</script><img src="cid:foto@x"><img src="https://tracker.example/p.gif">
            --r
            Content-Type: image/png
            Content-ID: <foto@x>
            Content-Transfer-Encoding: base64

            \(png)
            --r--

            """
            #expect(try await inbox.post(app, html).status == 200)
            let original = try #require(try await Attachment.query(on: app.store.db).filter(\.$filename == "original.eml").first())
            // The image the body shows is part of the mail, not a file of its own.
            #expect(try await Attachment.query(on: app.store.db).all().map(\.filename) == ["original.eml"])
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let conversation = try await browser.get("/app/\(slug)/conversations/1")
            let link = SiteURL.mailView(slug, try original.requireID()).path
            #expect(conversation.text.contains("href=\"\(link)\""))
            let page = try await browser.get(link)
            #expect(page.status == 200)
            #expect(page.text.contains("<p>Mira <b>esto</b></p>") && !page.text.contains("<script>window.__xss") && !page.text.contains("onclick"))
            #expect(page.text.contains("src=\"data:image/png;base64,\(png)\""), "the inline image is embedded")
            #expect(page.text.contains("data-remote-src=\"https://tracker.example/p.gif\"") && page.text.contains("id=\"show-images\""))
            #expect(page.headers.first(name: "Content-Security-Policy")?.contains("https:") == false)
            let withImages = try await browser.get(link + "?images=1")
            #expect(withImages.text.contains("<img src=\"https://tracker.example/p.gif\">"))
            #expect(withImages.headers.first(name: "Content-Security-Policy")?.contains("img-src 'self' data: blob: https: http:") == true)
            // An inline part whose Content-Type carries markup: not embedded, nothing of it reaches the page.
            let hostile = """
            From: Ana <ana@example.com>
            To: soporte@tienda.cl
            Subject: Otra foto
            Message-ID: <html-2@example.com>
            MIME-Version: 1.0
            Content-Type: multipart/related; boundary="r"

            --r
            Content-Type: text/html; charset=utf-8

            <p>Hola</p><img src="cid:mala@x">
            --r
            Content-Type: image/png"><meta http-equiv="refresh" content="0,url=https://evil.example/"><x y="
            Content-ID: <mala@x>
            Content-Transfer-Encoding: base64

            \(png)
            --r--

            """
            #expect(try await inbox.post(app, hostile).status == 200)
            let second = try #require(try await Attachment.query(on: app.store.db).filter(\.$filename == "original.eml")
                .sort(\.$createdAt, .descending).all().first { $0.id != original.id })
            let hostilePage = try await browser.get(SiteURL.mailView(slug, try second.requireID()).path)
            #expect(hostilePage.status == 200 && hostilePage.text.contains("<p>Hola</p>"))
            #expect(!hostilePage.text.contains("http-equiv") && !hostilePage.text.contains("evil.example") && !hostilePage.text.contains("data:image"))
            // Another workspace's member cannot open it.
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            let (stranger, _) = try await Browser.signedIn(app, as: other.adminID)
            #expect(try await stranger.get(link).status == 404)
        }
    }

    @Test("an out-of-office joining a pending conversation neither reopens it nor makes the customer wait")
    func outOfOffice() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await EmailInbox.make(app, workspace)
            #expect(try await inbox.post(app, """
                From: Ana <ana@example.com>
                To: soporte@tienda.cl
                Subject: Cambio de talla
                Message-ID: <ooo-1@example.com>

                ¿Puedo cambiar la talla?
                """).status == 200)
            let path = "\(workspace.path)/conversations/1"
            #expect(try await app.request(.PATCH, path, token: workspace.token, json: ["status": "pending"]).status == 200)
            let before = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(before.status == .pending)
            // Ana's out-of-office (Outlook's shape) answers our pending conversation.
            #expect(try await inbox.post(app, """
                From: Ana <ana@example.com>
                To: soporte@tienda.cl
                Subject: Respuesta automática: Cambio de talla
                Message-ID: <ooo-2@example.com>
                In-Reply-To: <ooo-1@example.com>
                Auto-Submitted: auto-replied
                X-Auto-Response-Suppress: All

                Estoy fuera de la oficina hasta el lunes.
                """).status == 200)
            let after = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(try await app.count(Conversation.self) == 1 && after.messageCount == before.messageCount + 1)
            #expect(after.status == .pending && after.waitingSince == before.waitingSince && after.lastIncomingAt == before.lastIncomingAt, "\(after.status)")
            #expect(try await Event.query(on: app.store.db).filter(\.$type == "conversation.status_changed").count() == 1, "only the agent's")
        }
    }

    @Test("a reply is composed threaded, signed by the agent and the inbox, quoting the customer; the agent sets their signature")
    func compose() async throws {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let conversation = ConversationSnapshot(
            id: UUID(), number: 42, inboxID: UUID(), contactID: UUID(), channel: .email, status: .open, priority: .none, assigneeID: nil,
            teamID: nil, labels: [], contactReason: nil, subject: "Cambio de talla", threadID: "t0123456789abcdef", snoozedUntil: nil,
            createdAt: now, updatedAt: now, lastMessageAt: now, waitingSince: nil, firstResponseAt: nil, resolvedAt: nil, messageCount: 2)
        func message(_ kind: MessageKind, _ text: String, provider: String?) -> MessageSnapshot {
            MessageSnapshot(id: UUID(), conversationID: conversation.id, kind: kind, senderType: kind == .incoming ? .contact : .agent, senderID: nil,
                            text: text, providerMessageID: provider, deliveryStatus: nil, deliveryError: nil, sentAt: now, createdAt: now,
                            attachments: [], template: nil)
        }
        let contact = ContactSnapshot(id: conversation.contactID, name: "Marta Silva", email: "marta@example.com", phone: nil, documentID: nil,
                                      attributes: [:], labels: [], identities: [IdentitySnapshot(kind: .email, value: "marta@example.com")], createdAt: now)
        var outbound = OutboundMessage(
            inboxID: conversation.inboxID, channel: .email,
            settings: InboxSettings(values: ["address": "soporte@tienda.cl", "display_name": "Tienda Sur", "signature": "Tienda Sur · +56 2 2222 2222"]),
            secrets: [:], conversation: conversation, message: message(.outgoing, "Claro, te la cambiamos.", provider: nil), contact: contact,
            agentName: "Ana Rojas", files: [], lastIncomingAt: now, now: now,
            previous: [message(.incoming, "Hola,\n¿puedo cambiar la talla?", provider: "m1@example.com")])
        outbound.agentSignature = "Ana Rojas\nEjecutiva de atención"
        let mail = try EmailSender.compose(outbound)
        #expect(mail.subject == "Re: Cambio de talla [#42]")
        #expect(mail.replyTo?.email == "soporte+t0123456789abcdef@tienda.cl")
        #expect(mail.inReplyTo == "m1@example.com" && mail.references == ["m1@example.com"])
        #expect(mail.from == MailAddress(name: "Ana Rojas · Tienda Sur", email: "soporte@tienda.cl"))
        #expect(mail.text.hasPrefix("Claro, te la cambiamos.\n\n-- \nAna Rojas\nEjecutiva de atención\nTienda Sur · +56 2 2222 2222\n\nEl "))
        #expect(mail.text.hasSuffix("Marta Silva escribió:\n> Hola,\n> ¿puedo cambiar la talla?"))
        #expect(!mail.automatic)
        // People CC'd on the thread get the agent's answer, but an automatic acknowledgement goes to the sender alone.
        outbound.participants = ["jefe@example.com"]
        #expect(try EmailSender.compose(outbound).cc.map(\.email) == ["jefe@example.com"])
        var acknowledgement = outbound
        acknowledgement.message = MessageSnapshot(id: UUID(), conversationID: conversation.id, kind: .outgoing, senderType: .system, senderID: nil,
                                                  text: "Recibimos tu mensaje (n.º 42).", providerMessageID: nil, deliveryStatus: nil,
                                                  deliveryError: nil, sentAt: now, createdAt: now, attachments: [], template: nil)
        let ack = try EmailSender.compose(acknowledgement)
        #expect(ack.cc.isEmpty && ack.automatic && ack.to.map(\.email) == ["marta@example.com"])

        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (browser, csrf) = try await Browser.signedIn(app, as: workspace.adminID)
            #expect(try await browser.post("/account", form: [("_csrf", csrf), ("name", "Admin"), ("language", "es"), ("time_zone", "UTC"),
                                                             ("signature", "  Admin\nSoporte  ")]).status == 303)
            #expect(try await User.find(workspace.adminID, on: app.store.db)?.signature == "Admin\nSoporte")
            #expect(try await browser.get("/account").text.contains("Admin\nSoporte</textarea>"))
        }
    }

    @Test("automatic mail and bounces are stored but never answered automatically; files of kept types are attachments")
    func automatic() async throws {
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await EmailInbox.make(app, workspace)
            let put = try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id)/service-levels", token: workspace.token, json: [
                "auto_replies": ["language": "es", "first_answer": ["es": "Recibimos tu correo: solicitud {number}."]] as [String: Any]])
            #expect(put.status == 200, "\(put.text)")
            let vacation = mail(from: "ana@empresa.cl", id: "v1@empresa.cl", subject: "Fuera de la oficina", extra: "Auto-Submitted: auto-replied\n",
                                body: "Vuelvo el lunes.")
            #expect(try await inbox.post(app, vacation).status == 200)
            let human = mail(from: "luis@example.com", id: "h1@example.com", body: "Una consulta de una persona.")
            #expect(try await inbox.post(app, human).status == 200)
            try await Task.sleep(for: .milliseconds(800))
            let answers = try await Message.query(on: app.store.db).filter(\.$senderType == .system).all()
            #expect(answers.count == 1, "only the person gets the automatic answer")
            #expect(answers.first?.text == "Recibimos tu correo: solicitud 2.")
            // A machine that doesn't say it is one: at most 3 automatic answers an hour to the same sender.
            for n in 2...6 { #expect(try await inbox.post(app, mail(from: "luis@example.com", id: "h\(n)@example.com", body: "Mensaje \(n)")).status == 200) }
            #expect(try await Conversation.query(on: app.store.db).count() == 7)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await Message.query(on: app.store.db).filter(\.$senderType == .system).count() == AutoReplyJob.perContactPerHour)
        }
    }
}
