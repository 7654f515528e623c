@testable import AtiendeChannels
@testable import AtiendeCore
import AtiendeMail
import AtiendeNetwork
@testable import AtiendeWeb
import AsyncHTTPClient
import Fluent
import Foundation
import Testing
import Vapor

/// Server-side request forgery: no workspace setting and no webhook can make Atiende connect to this machine or its
/// private networks. The app here allows only 127.0.0.2 (where the provider stand-in listens), so 127.0.0.1 and every
/// other internal address stay refused while the stand-in still works through the explicit setting.
@Suite("Outbound guard", .serialized)
struct OutboundGuardTests {
    static let internalHosts = ["127.0.0.1", "[::1]", "localhost", "api.localhost", "10.1.2.3", "172.16.0.9", "192.168.1.1",
                                "169.254.169.254", "100.64.0.1", "[fd00::1]", "[fe80::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "224.0.0.1"]

    @Test("Internal, private, link-local, unique-local, mapped and multicast addresses are internal; public ones are not")
    func classification() throws {
        for host in ["127.0.0.1", "127.8.9.10", "::1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.100.0.1",
                     "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::",
                     "0.0.0.0", "::", "239.1.1.1", "255.255.255.255", "198.18.0.1"] {
            #expect(try #require(IPAddressBytes(host)).isInternal, "\(host)")
        }
        for host in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "2a00:1450:4003:80e::200e", "::ffff:8.8.8.8"] {
            #expect(!(try #require(IPAddressBytes(host)).isInternal), "\(host)")
        }
        #expect(IPAddressBytes("example.com") == nil)
        #expect(IPAddressBytes("[::1]") != nil)

        let allowed = try OutboundGuard(allowing: "127.0.0.2, 10.9.0.0/16, mail.lan")
        #expect(allowed.permits(IPAddressBytes("127.0.0.2")!))
        #expect(!allowed.permits(IPAddressBytes("127.0.0.1")!))
        #expect(allowed.permits(IPAddressBytes("10.9.200.1")!) && !allowed.permits(IPAddressBytes("10.8.0.1")!))
        #expect(allowed.permits(IPAddressBytes("10.0.0.1")!, host: "mail.lan"))
        #expect(throws: OutboundGuard.InvalidRule.self) { try OutboundGuard(allowing: "10.0.0.0/99") }
        #expect(throws: OutboundGuard.InvalidRule.self) { try OutboundGuard(allowing: "http://x/") }
    }

    @Test("Names are refused on what they resolve to, before any connection; the connection's peer is checked again")
    func resolution() async throws {
        let strict = OutboundGuard.strict
        for host in ["localhost", "127.0.0.1", "[::1]", "169.254.169.254", "LOCALHOST."] {
            await #expect(throws: OutboundGuard.Refused.self) { _ = try await strict.resolve(host: host, port: 80) }
        }
        // A name that is only a name for loopback (not caught by its spelling) is refused on its address.
        let hosts = (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? ""
        if hosts.contains("ip6-localhost") {
            await #expect(throws: OutboundGuard.Refused.self) { _ = try await strict.resolve(host: "ip6-localhost", port: 80) }
        }

        // The check when a connection opens, on its own: the pool's peer check refuses loopback even past the first one.
        let standIn = try await ProviderStandIn.start()
        let client = GuardedHTTP.makeClient(network: strict)
        await #expect(throws: (any Error).self) {
            _ = try await client.execute(HTTPClientRequest(url: standIn.base + "/anything"), timeout: .seconds(5))
        }
        #expect(standIn.calls.isEmpty)
        try await client.shutdown()
        try await standIn.stop()
    }

    @Test("Mail servers: an internal SMTP or IMAP host is refused before connecting, and open and closed ports read the same")
    func mailServers() async throws {
        let listener = try await MailCatcher.start()
        let closedPort = 9
        var messages: [String] = []
        for port in [listener.port, closedPort] {
            let smtp = SMTPClient(settings: .init(host: "127.0.0.1", port: port, security: .none, network: .strict))
            do {
                _ = try await smtp.check()
                Issue.record("SMTP to loopback was not refused")
            } catch let failure as SMTPClient.Failure {
                messages.append(failure.description)
            }
            let imap = IMAPClient(settings: .init(host: "127.0.0.1", port: port, security: .none, username: "u", password: "p", network: .strict))
            do {
                _ = try await imap.connect()
                Issue.record("IMAP to loopback was not refused")
            } catch let failure as IMAPClient.Failure {
                messages.append(failure.description)
            }
        }
        #expect(messages.count == 4 && Set(messages).count == 1, "\(messages)")
        #expect(messages.first?.contains("internal address") == true)
        #expect(listener.received.isEmpty)
        listener.stop()
    }

    @Test("Every outbound setting refuses internal targets with 400 and changes nothing; the allowed stand-in works")
    func settings() async throws {
        let provider = try await ProviderStandIn.start(host: "127.0.0.2")
        try await withApp(environment: ["ATIENDE_ALLOW_PRIVATE_TARGETS": "127.0.0.2"]) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let path = "\(workspace.path)/inboxes"
            for host in Self.internalHosts {
                let attempts: [[String: Any]] = [
                    ["name": "API", "channel": "api", "webhook_url": "http://\(host):8080/hook"],
                    ["name": "WA", "channel": "whatsapp", "settings": ["phone_number_id": "1", "api_base": "http://\(host)"],
                     "secrets": ["access_token": "t", "app_secret": "s"]],
                    ["name": "Mail", "channel": "email", "settings": ["address": "a@example.com", "smtp_host": host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))]],
                    ["name": "Mail", "channel": "email", "settings": ["address": "a@example.com", "imap_host": host]],
                ]
                for body in attempts {
                    let answer = try await app.request(.POST, path, token: workspace.token, json: body)
                    #expect(answer.status == 400 && answer.text.contains("\"code\":\"internal_target\""), "\(host): \(answer.text)")
                }
            }
            #expect(try await app.count(Inbox.self) == 0)

            // Changing an existing inbox to an internal target is refused the same way.
            let allowed = try await app.request(.POST, path, token: workspace.token, json: [
                "name": "WA", "channel": "whatsapp", "settings": ["phone_number_id": "1", "api_base": provider.base],
                "secrets": ["access_token": "t", "app_secret": "s"]])
            #expect(allowed.status == 201, "\(allowed.text)")
            let id = try allowed.json()["id"] as? String ?? ""
            let changed = try await app.request(.PATCH, "\(path)/\(id)", token: workspace.token,
                                                json: ["settings": ["phone_number_id": "1", "api_base": "http://169.254.169.254"]])
            #expect(changed.status == 400)
            let kept = try #require(try await Inbox.find(UUID(uuidString: id), on: app.store.db))
            #expect(kept.settings.values["api_base"] == provider.base)
            // The allowed stand-in answers the connection check.
            let check = try await app.request(.POST, "\(path)/\(id)/check", token: workspace.token)
            #expect(check.status == 200, "\(check.text)")
        }
        try await provider.stop()
    }

    @Test("Media: only from the provider's own host; a redirect to loopback is refused; credentials never follow to another origin")
    func media() async throws {
        let provider = try await ProviderStandIn.start(host: "127.0.0.2")
        let cdn = try await ProviderStandIn.start(host: "127.0.0.2")
        let internalService = try await ProviderStandIn.start(host: "127.0.0.1")
        try await withApp(runJobs: true, environment: ["ATIENDE_ALLOW_PRIVATE_TARGETS": "127.0.0.2"]) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let sms = try await MessagingInbox.make(app, workspace, channel: "twilio",
                                                    settings: ["account_sid": "AC1", "from": "+15550001111", "api_base": provider.base,
                                                               "public_url": "https://desk.example.com/hook"],
                                                    secrets: ["auth_token": "tok"])
            func post(_ sid: String, media: String, type: String = "image/png") async throws -> HTTPAnswer {
                let fields = [("MessageSid", sid), ("AccountSid", "AC1"), ("From", "+56911112222"), ("To", "+15550001111"),
                              ("Body", "foto"), ("NumMedia", "1"), ("MediaUrl0", media), ("MediaContentType0", type)]
                let signature = TwilioAdapter.signature(url: "https://desk.example.com/hook", parameters: fields, authToken: "tok")
                return try await app.request(.POST, sms.path, raw: Data(ProviderHTTP.formEncode(fields).utf8),
                                             headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature)])
            }
            // Straight at an internal service: not the provider's host, never fetched; the message is kept with a note.
            #expect(try await post("SM1", media: internalService.base + "/files/secret").status == 200)
            // At the provider, which redirects to loopback: refused at the hop.
            provider.queue("/files/hop", 302, "", headers: [("Location", internalService.base + "/files/secret")])
            #expect(try await post("SM2", media: provider.base + "/files/hop").status == 200)
            #expect(internalService.calls.isEmpty)
            let notes = try await Message.query(on: app.store.db).sort(\.$createdAt).all().map(\.text)
            #expect(notes.count == 2 && notes.allSatisfy { $0.contains("[") }, "\(notes)")
            #expect(try await app.count(Attachment.self) == 0)

            // At the provider, redirected to its CDN (another origin): fetched, without the account's credentials there.
            provider.queue("/files/cdn", 307, "", headers: [("Location", cdn.base + "/files/photo")])
            #expect(try await post("SM3", media: provider.base + "/files/cdn").status == 200)
            #expect(provider.calls("/files/cdn").first?.headers.first(name: "Authorization") == ProviderHTTP.basicAuth("AC1", "tok"))
            let hop = try #require(cdn.calls("/files/photo").first)
            #expect(hop.headers.first(name: "Authorization") == nil)
            #expect(try await app.count(Attachment.self) == 1)

            // A file of a type we do not keep: the message says so instead of the file vanishing.
            #expect(try await post("SM4", media: provider.base + "/files/tool.exe", type: "application/x-msdownload").status == 200)
            let noted = try #require(try await Message.query(on: app.store.db).filter(\.$providerMessageID == "SM4").first())
            #expect(noted.text.contains("foto") && noted.text.contains("[media-1"), "\(noted.text)")
            #expect(try await app.count(Attachment.self) == 1)
        }
        try await provider.stop()
        try await cdn.stop()
        try await internalService.stop()
    }

    @Test("An API inbox's webhook that redirects to loopback delivers nothing there")
    func webhookRedirect() async throws {
        let receiver = try await ProviderStandIn.start(host: "127.0.0.2")
        let internalService = try await ProviderStandIn.start(host: "127.0.0.1")
        try await withApp(runJobs: true, environment: ["ATIENDE_ALLOW_PRIVATE_TARGETS": "127.0.0.2"]) { app in
            let workspace = try await WorkspaceFixture.make(app)
            receiver.queue("/hook", 302, "", headers: [("Location", internalService.base + "/steal")])
            let inbox = try await workspace.apiInbox(app, webhook: receiver.base + "/hook")
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c1", "name": "Ana"])).status == 200)
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Hola"])
            let failed = try await waitFor {
                try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$deliveryStatus == .failed).first()
            }
            #expect(failed.deliveryError?.contains("302") == true)
            #expect(receiver.calls("/hook").count == 1)
            #expect(internalService.calls.isEmpty)
        }
        try await receiver.stop()
        try await internalService.stop()
    }
}
