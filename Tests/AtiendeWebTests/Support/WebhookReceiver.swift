import Foundation
import NIOConcurrencyHelpers
import Vapor

/// A real HTTP server standing in for an integrator's webhook endpoint: records what it receives and
/// answers with the statuses it is told to.
final class WebhookReceiver: @unchecked Sendable {
    struct Received: Sendable {
        var body: Data
        var headers: HTTPHeaders
    }

    let app: Application
    let port: Int
    private let state = NIOLockedValueBox<(received: [Received], statuses: [Int])>(([], []))
    private let files = NIOLockedValueBox<[String: (type: String, data: Data)]>([:])

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var received: [Received] { state.withLockedValue { $0.received } }

    /// `statuses` are answered in order; after them, 200. Files (`serve`) are answered at any path ending in (or asking
    /// `?name=` for) their name; any other file is a 404.
    static func start(statuses: [Int] = []) async throws -> WebhookReceiver {
        let app = try await Application.make(Environment(name: "testing", arguments: ["receiver"]))
        app.logger.logLevel = .error
        app.http.server.configuration.hostname = "127.0.0.1"
        app.http.server.configuration.port = 0
        let box = NIOLockedValueBox<WebhookReceiver?>(nil)
        app.post("hook") { req async throws -> Response in
            guard let receiver = box.withLockedValue({ $0 }) else { return Response(status: .serviceUnavailable) }
            let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
            let status = receiver.state.withLockedValue { state -> Int in
                state.received.append(Received(body: body, headers: req.headers))
                return state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
            }
            let response = Response(status: HTTPResponseStatus(statusCode: status))
            if status == 200 {
                response.body = .init(string: "{\"message_id\":\"ext-\(receiver.received.count)\"}")
                response.headers.contentType = .json
            }
            return response
        }
        app.get("**") { req -> Response in
            let name = req.query[String.self, at: "name"] ?? req.url.path.split(separator: "/").last.map(String.init) ?? ""
            guard let file = box.withLockedValue({ $0 })?.files.withLockedValue({ $0[name] }) else { return Response(status: .notFound) }
            let response = Response(status: .ok, body: .init(data: file.data))
            response.headers.replaceOrAdd(name: .contentType, value: file.type)
            return response
        }
        try await app.startup()
        guard let port = app.http.server.shared.localAddress?.port else { throw Abort(.internalServerError) }
        let receiver = WebhookReceiver(app: app, port: port, statuses: statuses)
        box.withLockedValue { $0 = receiver }
        return receiver
    }

    private init(app: Application, port: Int, statuses: [Int]) {
        self.app = app
        self.port = port
        state.withLockedValue { $0.statuses = statuses }
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func serve(_ name: String, type: String, data: Data) { files.withLockedValue { $0[name] = (type, data) } }

    func stop() async throws { try await app.asyncShutdown() }
}
