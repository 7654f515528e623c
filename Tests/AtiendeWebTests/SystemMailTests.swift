@testable import AtiendeCore
@testable import AtiendeWeb
import AtiendeMail
import Fluent
import Foundation
import Testing

@Suite("The instance's own mail: notifications, chat replies to visitors who left", .serialized)
struct SystemMailTests {
    @Test("assignments and SLA breaches reach people by email in their language with the link; each person chooses which")
    func notifications() async throws {
        let catcher = try await MailCatcher.start()
        defer { catcher.stop() }
        // Tuesday 24 November 2026, 12:00 in Santiago.
        let clock = ManualClock(ISO8601.date("2026-11-24T15:00:00Z")!)
        try await withApp(clock: clock, runJobs: true, environment: catcher.environment) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let inbox = try await workspace.apiInbox(app, name: "Ventas")
            let (supervisor, _) = try await workspace.member(app, role: .supervisor)
            let (agent, _) = try await workspace.member(app, role: .agent)
            try await app.services.accounts.updatePreferences(of: agent, name: "Ana Díaz", language: "en", timeZone: nil)
            let email = { (id: UUID) in try #require(try await User.find(id, on: app.store.db)).email }
            let (agentEmail, supervisorEmail, adminEmail) = (try await email(agent), try await email(supervisor), try await email(workspace.adminID))

            // The supervisor keeps only warnings by email, on the account page.
            let (browser, csrf) = try await Browser.signedIn(app, as: supervisor)
            let page = try await browser.get("/account").text
            #expect(page.contains("name=\"email_sla_breach\"") && page.contains("Avisos por correo"))
            #expect(try await browser.post("/account", form: [("_csrf", csrf), ("name", "Sofía"), ("language", "es"), ("time_zone", "UTC"),
                                                              ("email_choices", "1"), ("email_sla_warning", "1")]).status == 303)
            #expect(try await User.find(supervisor, on: app.store.db)?.emailedNotifications == [.slaWarning])
            // Saving the page without the email boxes (an older form) leaves the choice alone.
            #expect(try await app.services.accounts.updatePreferences(of: supervisor, name: nil, language: nil, timeZone: nil) == ())
            #expect(try await User.find(supervisor, on: app.store.db)?.emailedNotifications == [.slaWarning])

            #expect(try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token, json: [
                "name": "Una hora", "is_default": true,
                "rules": ["rules": [["targets": ["first_response": 600]]], "business_time": false] as [String: Any]]).status == 201)
            var first = APIInbox.message("n-1", from: ["id": "c", "name": "Marta Pérez"], text: "¿Y mi pedido?")
            first["subject"] = "Pedido 4411"
            #expect(try await inbox.post(app, first,
                                         timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                          json: ["assignee_id": agent.uuidString]).status == 200)

            let assigned = try #require(try await catcher.wait(for: 1).first)
            #expect(assigned.recipients == [agentEmail])
            #expect(assigned.mail.from.first?.email == "avisos@desk.example")
            #expect(assigned.mail.subject == "[Acme] Admin assigned conversation #1 to you — Pedido 4411", "\(assigned.mail.subject)")
            #expect(assigned.mail.text.contains("Hi Ana Díaz,"))
            #expect(assigned.mail.text.contains("Customer: Marta Pérez") && assigned.mail.text.contains("Inbox: Ventas"))
            #expect(assigned.mail.text.contains("https://desk.example/app/\(slug)/conversations/1"))
            #expect(assigned.mail.headers.raw("Auto-Submitted")?.contains("auto-generated") == true && assigned.mail.isAutomatic)

            clock.advance(by: 601)
            #expect(try await ServiceLevelScanner(store: app.store).scan() == 1)
            let inApp = try await AgentNotification.query(on: app.store.db).filter(\.$kind == .slaBreach).all().map(\.userID)
            #expect(Set(inApp) == [agent, supervisor, workspace.adminID], "everyone sees the breach in the app")
            let all = try await catcher.wait(for: 3)
            try await Task.sleep(for: .milliseconds(300))
            let breaches = catcher.received.filter { $0.mail.subject.contains("#1") && !$0.mail.subject.contains("assign") }
            #expect(Set(breaches.flatMap(\.recipients)) == [agentEmail, adminEmail], "not the supervisor, who turned breaches off: \(all.map(\.recipients))")
            #expect(!catcher.received.contains { $0.recipients.contains(supervisorEmail) })
            let english = try #require(breaches.first { $0.recipients == [agentEmail] })
            #expect(english.mail.subject == "[Acme] The deadline of #1 was missed — Pedido 4411", "\(english.mail.subject)")
            #expect(english.mail.text.contains("Deadline: First response."))
            let spanish = try #require(breaches.first { $0.recipients == [adminEmail] })
            #expect(spanish.mail.subject == "[Acme] El plazo de #1 venció — Pedido 4411" && spanish.mail.text.contains("Plazo: Primera respuesta."))
        }
    }

    @Test("a chat reply still unread a moment later goes to the email the visitor left, unless they are there or read it")
    func awayReply() async throws {
        let catcher = try await MailCatcher.start()
        defer { catcher.stop() }
        var environment = catcher.environment
        environment["ATIENDE_WIDGET_AWAY_MAIL_SECONDS"] = "1"
        try await withApp(runJobs: true, environment: environment) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await ChatInbox.make(app, workspace)
            let visitor = try #require(try await inbox.start(app).1)
            #expect(try await inbox.say(app, visitor, "¿Hacen envíos a Temuco?").status == 201)
            #expect(try await app.request(.POST, inbox.base + "/contact", token: visitor.session, json: ["email": "marta@example.com"]).status == 204)
            func reply(_ text: String) async throws {
                #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                              json: ["text": text]).status == 201)
            }

            // On the site: the reply is only in the chat, even unread.
            let socket = try await VisitorSocket.connect(app, inbox, visitor)
            try await reply("Sí, por Chilexpress.")
            #expect(try await socket.wait(for: "message", "text", "Sí, por Chilexpress.") != nil)
            try await Task.sleep(for: .milliseconds(2500))
            #expect(catcher.received.isEmpty, "the visitor was on the site")

            // Read, then gone: nothing to mail.
            try await reply("¿Algo más?")
            #expect(try await socket.wait(for: "message", "text", "¿Algo más?") != nil)
            try await socket.send(["type": "read"])
            for _ in 0..<100 where try await Message.query(on: app.store.db).filter(\.$text == "¿Algo más?").first()?.deliveryStatus != .read {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await socket.close()
            try await Task.sleep(for: .milliseconds(2500))
            #expect(catcher.received.isEmpty, "the visitor read it before leaving")

            // Gone and unread: mailed once.
            try await reply("Llega en 3 días hábiles.")
            let mail = try #require(try await catcher.wait(for: 1).first)
            #expect(mail.recipients == ["marta@example.com"])
            #expect(mail.mail.subject == "Acme respondió a tu mensaje (solicitud n.º 1)", "\(mail.mail.subject)")
            #expect(mail.mail.text.contains("Admin te respondió en el chat de Acme:") && mail.mail.text.contains("Llega en 3 días hábiles."))
            #expect(!mail.mail.text.contains("Chilexpress"))
            #expect(mail.mail.from.first?.email == "avisos@desk.example" && !mail.mail.isAutomatic)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(catcher.received.count == 1)
            #expect(try await inbox.history(app, visitor).count == 4, "the replies are in the chat too")
        }
    }

    @Test("without an SMTP server nothing is queued for mail, and the account page says why")
    func withoutServer() async throws {
        try await withApp(runJobs: false) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agent, _) = try await workspace.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("q-1", from: ["id": "c"])).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["assignee_id": agent.uuidString]).status == 200)
            #expect(try await AgentNotification.query(on: app.store.db).count() == 1)
            #expect(try await Job.query(on: app.store.db).filter(\.$kind == JobKind.notificationMail.rawValue).count() == 0)
            let (browser, _) = try await Browser.signedIn(app, as: agent)
            #expect(try await browser.get("/account").text.contains("todavía no envía correos"))
        }
    }

    @Test("links need the public address: with it the conversation and account links are absolute, without it there are none")
    func links() {
        let notification = AgentNotification()
        notification.kind = .assigned
        notification.conversationNumber = 7
        notification.excerpt = ""
        let user = User(email: "ana@example.com", name: "Ana", passwordHash: "")
        let workspace = Workspace()
        workspace.name = "Acme"
        workspace.slug = "acme"
        let body = { (base: String?) in
            NotificationMailJob.body(notification, user: user, workspace: workspace, conversation: nil, actor: nil, base: base, t: Localizer(.es))
        }
        #expect(body("https://desk.example/").contains("https://desk.example/app/acme/conversations/7\n"))
        #expect(body("https://desk.example/").contains("https://desk.example/account"))
        #expect(!body(nil).contains("/app/") && body(nil).contains("#7") && body(nil).hasPrefix("Hola, Ana:"))
    }

    @Test("ATIENDE_SMTP_URL is read strictly: scheme, security, credentials, a from address")
    func configuration() throws {
        let parsed = try SystemMail.parse(url: "smtp://avisos%40desk.example:cl%3Ave@mail.desk.example?ca_file=/etc/ca.pem", from: "Avisos@Desk.example")
        #expect(parsed.smtp.host == "mail.desk.example" && parsed.smtp.port == 587 && parsed.smtp.security == .starttls)
        #expect(parsed.smtp.username == "avisos@desk.example" && parsed.smtp.password == "cl:ve" && parsed.smtp.caFile == "/etc/ca.pem")
        #expect(parsed.from == "avisos@desk.example" && parsed.smtp.hostname == "desk.example")
        let tls = try SystemMail.parse(url: "smtps://relay.example", from: "a@b.example")
        #expect(tls.smtp.port == 465 && tls.smtp.security == .tls)
        #expect(try SystemMail.parse(url: "smtp://127.0.0.1:2525?security=none", from: "a@b.example").smtp.security == SMTPClient.Security.none)
        #expect(throws: AppConfig.ConfigError.self) { try SystemMail.parse(url: "http://relay.example", from: "a@b.example") }
        #expect(throws: AppConfig.ConfigError.self) { try SystemMail.parse(url: "smtp://relay.example?security=maybe", from: "a@b.example") }
        #expect(throws: AppConfig.ConfigError.self) { try SystemMail.parse(url: "smtp://relay.example", from: "") }
        #expect(throws: AppConfig.ConfigError.self) {
            try AppConfig.fromEnvironment(["ATIENDE_SMTP_URL": "smtp://relay.example", "ATIENDE_DATA_DIR": NSTemporaryDirectory()])
        }
    }
}
