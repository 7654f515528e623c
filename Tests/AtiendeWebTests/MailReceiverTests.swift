@testable import AtiendeCore
import AtiendeMail
import AtiendeNetwork
@testable import AtiendeWeb
import Fluent
import Foundation
import NIOCore
import NIOPosix
import SQLKit
import Testing

/// The SMTP/LMTP receiver (`ATIENDE_MAIL_PORT`) never bounces mail because of its own trouble.
@Suite("The mail receiver", .serialized)
struct MailReceiverTests {
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    @Test("A database that does not answer gets 451 (try later), never 550; the retried mail is stored once")
    func databaseDown() async throws {
        let port = try await Self.freePort()
        try await withApp(environment: ["ATIENDE_MAIL_PORT": String(port)]) { app in
            let workspace = try await WorkspaceFixture.make(app)
            _ = try await EmailInbox.make(app, workspace)
            let client = SMTPClient(settings: .init(host: "127.0.0.1", port: port, security: .none, network: OutboundGuard(rules: [.any])))
            let mail = Data("From: Ana <ana@example.com>\r\nTo: soporte@tienda.cl\r\nSubject: Hola\r\nMessage-ID: <down-1@example.com>\r\n\r\nSigo esperando\r\n".utf8)
            _ = try await waitFor { try? await client.check() }

            // The database stops answering (its inboxes table is gone): the relay is told to try later.
            try await app.store.sql.raw("ALTER TABLE inboxes RENAME TO inboxes_away").run()
            do {
                try await client.send(mail, from: "ana@example.com", to: ["soporte@tienda.cl"])
                Issue.record("the mail was acknowledged while nothing could store it")
            } catch let failure as SMTPClient.Failure {
                guard case .temporary(let text) = failure else { Issue.record("a permanent refusal: \(failure)"); return }
                #expect(text.contains("451"), "\(text)")
            }
            try await app.store.sql.raw("ALTER TABLE inboxes_away RENAME TO inboxes").run()

            // The relay's retry is accepted and stored once.
            try await client.send(mail, from: "ana@example.com", to: ["soporte@tienda.cl"])
            try await client.send(mail, from: "ana@example.com", to: ["soporte@tienda.cl"])
            #expect(try await Message.query(on: app.store.db).filter(\.$providerMessageID == "down-1@example.com").count() == 1)
            // An address nobody has is still a plain 550.
            do {
                try await client.send(mail, from: "ana@example.com", to: ["nadie@tienda.cl"])
                Issue.record("an unknown address was accepted")
            } catch let failure as SMTPClient.Failure {
                guard case .permanent(let text) = failure else { Issue.record("\(failure)"); return }
                #expect(text.contains("550"))
            }
        }
    }
}
