import AtiendeMail
import Foundation

/// An SMTP server on a loopback port that keeps what it is sent (AtiendeMail's receiver, accepting every address), for
/// tests of the instance's own mail. `environment` points an app at it.
final class MailCatcher: SMTPServer.Delegate, @unchecked Sendable {
    private let lock = NSLock()
    private var deliveries: [SMTPServer.Delivery] = []
    private var task: Task<Void, any Error>?
    private(set) var port = 0

    static func start() async throws -> MailCatcher {
        let catcher = MailCatcher()
        let bound = AsyncStream<Int>.makeStream()
        let server = SMTPServer(host: "127.0.0.1", port: 0, hostname: "catcher.test", delegate: catcher)
        catcher.task = Task { try await server.run { bound.continuation.yield($0); bound.continuation.finish() } }
        for await port in bound.stream { catcher.port = port }
        return catcher
    }

    var environment: [String: String] {
        ["ATIENDE_SMTP_URL": "smtp://127.0.0.1:\(port)?security=none", "ATIENDE_MAIL_FROM": "avisos@desk.example",
         "ATIENDE_PUBLIC_URL": "https://desk.example"]
    }

    func recipient(_ address: String) async -> SMTPServer.RecipientAnswer { .accept }

    func deliver(_ delivery: SMTPServer.Delivery) async -> SMTPServer.Outcome {
        lock.withLock { deliveries.append(delivery) }
        return .stored("kept")
    }

    var received: [(recipients: [String], mail: ParsedMail)] {
        lock.withLock { deliveries }.compactMap { delivery in (try? MIMEParser.parse(delivery.message)).map { (delivery.recipients, $0) } }
    }

    /// Waits until `count` messages have arrived (or 10 s have passed) and returns what arrived.
    func wait(for count: Int) async throws -> [(recipients: [String], mail: ParsedMail)] {
        for _ in 0..<200 {
            if lock.withLock({ deliveries.count }) >= count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return received
    }

    func stop() { task?.cancel() }
}
