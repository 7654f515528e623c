@testable import AtiendeCore
import AtiendeMail
@testable import AtiendeWeb
import Fluent
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import Vapor

/// What an attacker can do without any account: hold connections open, hijack a WebSocket from a sibling origin, read
/// the data folder, find tokens in logs, or have a response read as another type.
@Suite("Hardening", .serialized)
struct HardeningTests {
    /// Connects to `port`, sends `bytes`, and returns what the server sent before it closed the connection (nil when it
    /// was still open after `seconds`).
    static func heldOpen(port: Int, sending bytes: String, seconds: Double) async throws -> String? {
        let received = NIOLockedValueBox("")
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(received)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: bytes)).get()
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !channel.isActive { return received.withLockedValue { $0 } }
            try await Task.sleep(for: .milliseconds(50))
        }
        try? await channel.close().get()
        return nil
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<String>
        init(_ received: NIOLockedValueBox<String>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLockedValue { $0 += String(buffer: buffer) }
        }
    }

    @Test("Work that ends after shutdown (a socket closing as the server stops) gets an error, never a crash")
    func lateWork() async throws {
        let app = try await TestApp.start()
        let store = app.store
        try await app.stop()
        // Before, `app.db` was force-unwrapped here and the process died (a visitor's socket closing during shutdown).
        await #expect(throws: (any Error).self) { try await store.sql.raw("SELECT 1 AS one").run() }
    }

    @Test("A connection that never finishes its headers is cut after the idle timeout")
    func unfinishedHeaders() async throws {
        try await withApp(environment: ["ATIENDE_IDLE_TIMEOUT_SECONDS": "1"]) { app in
            let held = try await Self.heldOpen(port: app.port, sending: "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: 1", seconds: 4)
            #expect(held != nil, "the half-sent request was still open after 4 s")
            // A whole request on a fresh connection is still answered.
            #expect(try await app.request(.GET, "/health/live").status == 200)
        }
    }

    @Test("An SMTP/LMTP session that goes quiet is told 421 and closed")
    func idleMailSession() async throws {
        let delegate = Accepting()
        let bound = AsyncStream<Int>.makeStream()
        let server = SMTPServer(host: "127.0.0.1", port: 0, hostname: "atiende.test", idleTimeout: .seconds(1), delegate: delegate)
        let task = Task { try await server.run { bound.continuation.yield($0); bound.continuation.finish() } }
        var port = 0
        for await bound in bound.stream { port = bound }
        let said = try await Self.heldOpen(port: port, sending: "EHLO client.test\r\n", seconds: 4)
        #expect(said?.contains("220 ") == true && said?.contains("421 4.4.2") == true, "\(said ?? "still open")")
        task.cancel()
    }

    struct Accepting: SMTPServer.Delegate {
        func recipient(_ address: String) async -> SMTPServer.RecipientAnswer { .accept }
        func deliver(_ delivery: SMTPServer.Delivery) async -> SMTPServer.Outcome { .stored("ok") }
    }

    @Test("A session's WebSocket must come from our own scheme, host and port")
    func webSocketOrigin() {
        #expect(Request.sameOrigin("http://127.0.0.1:8080", host: "127.0.0.1:8080", publicURL: nil))
        #expect(!Request.sameOrigin("http://127.0.0.1:9999", host: "127.0.0.1:8080", publicURL: nil))
        #expect(!Request.sameOrigin("https://127.0.0.1:8080", host: "127.0.0.1:8080", publicURL: nil))
        // A page on another port of the same host (accepted before: the host alone was compared).
        #expect(!Request.sameOrigin("http://desk.example.com:8080", host: "desk.example.com", publicURL: nil))
        #expect(!Request.sameOrigin("null", host: "desk.example.com", publicURL: nil))
        // Behind a proxy the public URL is the origin, and its host is not reached by plain http.
        #expect(Request.sameOrigin("https://desk.example.com", host: "desk.example.com", publicURL: "https://desk.example.com"))
        #expect(!Request.sameOrigin("http://desk.example.com", host: "desk.example.com", publicURL: "https://desk.example.com"))
        #expect(!Request.sameOrigin("https://desk.example.com:8443", host: "desk.example.com", publicURL: "https://desk.example.com"))
        #expect(!Request.sameOrigin("https://evil.example", host: "desk.example.com", publicURL: "https://desk.example.com"))
    }

    @Test("The database, the attachments and the key are readable by their owner only")
    func filePermissions() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let pdf: [String: Any] = ["message_id": "p-1", "from": ["id": "c"],
                                      "attachments": [["filename": "a.pdf", "content_type": "application/pdf", "data": Data("%PDF-1".utf8).base64EncodedString()]]]
            #expect(try await inbox.post(app, pdf).status == 200)
            func mode(_ url: URL) throws -> Int {
                try (FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
            }
            #expect(try mode(app.dataDirectory) & 0o077 == 0)
            var checked = 0
            let walker = FileManager.default.enumerator(at: app.dataDirectory, includingPropertiesForKeys: [.isRegularFileKey])
            while let url = walker?.nextObject() as? URL {
                guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
                #expect(try mode(url) & 0o077 == 0, "\(url.lastPathComponent) is readable by others")
                checked += 1
            }
            #expect(checked >= 2, "the key and the attachment at least")
        }
    }

    @Test("Session, invitation and API tokens never reach the logs, at any level")
    func tokensNotLogged() async throws {
        let lines = NIOLockedValueBox(Data())
        let app = try await TestApp.start(log: { data in lines.withLockedValue { $0.append(data) } })
        do {
            let workspace = try await WorkspaceFixture.make(app)
            let (_, invitation) = try await app.services.accounts.invite(email: "nueva@example.com", role: .agent, workspace: workspace.id,
                                                                         by: workspace.adminID)
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let session = try #require(browser.cookies[SessionAuth.cookie])
            #expect(try await browser.get("/invitations/\(invitation)").status == 200)
            #expect(try await app.request(.GET, "\(workspace.path)/inboxes", token: workspace.token).status == 200)
            let text = String(decoding: lines.withLockedValue { $0 }, as: UTF8.self)
            #expect(text.contains("[redacted]"), "trace logging ran")
            for secret in [session, invitation, workspace.token] {
                #expect(!text.contains(secret), "a token reached the logs")
                #expect(!text.contains(String(secret.dropFirst(4).prefix(16))), "part of a token reached the logs")
            }
        } catch {
            try await app.stop()
            throw error
        }
        try await app.stop()
    }

    @Test("Every response says nosniff: pages, API, errors, assets, health")
    func noSniff() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            for path in ["/health/live", "/api/v1/openapi.json", "/login", "/widget.js", "\(workspace.path)/inboxes", "/nowhere"] {
                let answer = try await app.request(.GET, path)
                #expect(answer.headers.first(name: "X-Content-Type-Options") == "nosniff", "\(path) → \(answer.status)")
            }
        }
    }
}
