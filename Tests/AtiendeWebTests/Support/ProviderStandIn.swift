import Foundation
import NIOConcurrencyHelpers
import Vapor

/// A real HTTP server standing in for WhatsApp's, Meta's, Telegram's and Twilio's APIs: records every call and answers
/// with the providers' success shapes, or with the answers a test queues (their error shapes).
final class ProviderStandIn: @unchecked Sendable {
    struct Call: Sendable {
        var method: String
        var path: String
        var query: String
        var body: Data
        var headers: HTTPHeaders
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Answer: Sendable {
        var status: Int
        var body: String
        var contentType = "application/json"
        var headers: [(String, String)] = []
    }

    let app: Application
    let port: Int
    let host: String
    private let state = NIOLockedValueBox<(calls: [Call], queued: [(String, Answer)])>(([], []))
    var base: String { "http://\(host):\(port)" }
    var calls: [Call] { state.withLockedValue { $0.calls } }
    /// Bytes served for any `/files/…` download.
    static let file = Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])

    static func start(host: String = "127.0.0.1") async throws -> ProviderStandIn {
        let app = try await Application.make(Environment(name: "testing", arguments: ["provider"]))
        app.logger.logLevel = .error
        app.http.server.configuration.hostname = host
        app.http.server.configuration.port = 0
        let box = NIOLockedValueBox<ProviderStandIn?>(nil)
        let handler: @Sendable (Request) async throws -> Response = { req in
            guard let standIn = box.withLockedValue({ $0 }) else { return Response(status: .serviceUnavailable) }
            let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
            let call = Call(method: req.method.rawValue, path: req.url.path, query: req.url.query ?? "", body: body, headers: req.headers)
            let answer = standIn.answer(to: call)
            let response = Response(status: HTTPResponseStatus(statusCode: answer.status))
            for (name, value) in answer.headers { response.headers.replaceOrAdd(name: name, value: value) }
            if req.url.path.hasPrefix("/files/") {
                response.body = .init(data: Self.file)
                response.headers.contentType = .png
            } else {
                response.body = .init(string: answer.body)
                response.headers.replaceOrAdd(name: .contentType, value: answer.contentType)
            }
            return response
        }
        app.on(.GET, "**", use: handler)
        app.on(.POST, "**", body: .collect(maxSize: "50mb"), use: handler)
        try await app.startup()
        guard let port = app.http.server.shared.localAddress?.port else { throw Abort(.internalServerError) }
        let standIn = ProviderStandIn(app: app, port: port, host: host)
        box.withLockedValue { $0 = standIn }
        return standIn
    }

    private init(app: Application, port: Int, host: String) {
        self.app = app
        self.port = port
        self.host = host
    }

    /// The next call whose path contains `pathPart` gets `answer` (once).
    func queue(_ pathPart: String, _ status: Int, _ body: String, headers: [(String, String)] = []) {
        state.withLockedValue { $0.queued.append((pathPart, Answer(status: status, body: body, headers: headers))) }
    }

    func calls(_ pathPart: String) -> [Call] { calls.filter { $0.path.contains(pathPart) } }

    private func answer(to call: Call) -> Answer {
        state.withLockedValue { s in
            s.calls.append(call)
            if let index = s.queued.firstIndex(where: { call.path.contains($0.0) }) { return s.queued.remove(at: index).1 }
            let n = s.calls.count
            let path = call.path
            if path.hasSuffix("/me/messages") { return Answer(status: 200, body: "{\"recipient_id\":\"1\",\"message_id\":\"m_out\(n)\"}") }
            if path.hasSuffix("/messages") {
                return Answer(status: 200, body: "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"1\",\"wa_id\":\"1\"}],\"messages\":[{\"id\":\"wamid.OUT\(n)\"}]}")
            }
            if path.hasSuffix("/media") { return Answer(status: 200, body: "{\"id\":\"up\(n)\"}") }
            if path.hasSuffix("/getFile") { return Answer(status: 200, body: "{\"ok\":true,\"result\":{\"file_id\":\"f\",\"file_path\":\"photos/file_\(n).jpg\"}}") }
            if path.contains("/bot") && (path.hasSuffix("/sendMessage") || path.hasSuffix("/sendPhoto") || path.hasSuffix("/sendDocument")) {
                return Answer(status: 200, body: "{\"ok\":true,\"result\":{\"message_id\":\(n),\"date\":0,\"chat\":{\"id\":1,\"type\":\"private\"}}}")
            }
            if path.hasSuffix("/getMe") { return Answer(status: 200, body: "{\"ok\":true,\"result\":{\"id\":1,\"is_bot\":true,\"username\":\"tienda_bot\"}}") }
            if path.hasSuffix("/setWebhook") { return Answer(status: 200, body: "{\"ok\":true,\"result\":true}") }
            if path.hasSuffix("/Messages.json") { return Answer(status: 201, body: "{\"sid\":\"SMout\(n)\",\"status\":\"queued\"}") }
            if path.hasSuffix(".json") { return Answer(status: 200, body: "{\"friendly_name\":\"Tienda\"}") }
            if path.hasSuffix("/me") { return Answer(status: 200, body: "{\"id\":\"1\",\"name\":\"Tienda Sur\"}") }
            // A WhatsApp media id: where to download it.
            return Answer(status: 200, body: "{\"url\":\"\(base)/files/\(path.split(separator: "/").last ?? "x")\",\"mime_type\":\"image/png\"}")
        }
    }

    func stop() async throws { try await app.asyncShutdown() }
}
