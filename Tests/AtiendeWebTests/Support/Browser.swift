@testable import AtiendeCore
@testable import AtiendeWeb
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A minimal browser for page tests: keeps cookies, posts forms, reads the CSRF token from pages.
final class Browser: @unchecked Sendable {
    let app: TestApp
    var cookies: [String: String] = [:]

    init(_ app: TestApp) { self.app = app }

    /// Redirects are looked at, not followed.
    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                   configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    /// A browser already signed in as `userID` (no password needed); returns it with its CSRF token.
    static func signedIn(_ app: TestApp, as userID: UUID) async throws -> (Browser, String) {
        let browser = Browser(app)
        let (session, token) = try await app.services.accounts.startSession(for: userID, workspace: nil)
        browser.cookies[SessionAuth.cookie] = token
        return (browser, session.csrfToken)
    }

    @discardableResult
    func get(_ path: String) async throws -> HTTPAnswer {
        try await send(.GET, path, headers: [("Accept", "text/html")])
    }

    @discardableResult
    func post(_ path: String, form: [(String, String)]) async throws -> HTTPAnswer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = form.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
        return try await send(.POST, path, body: Data(body.utf8), headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "text/html")])
    }

    @discardableResult
    func api(_ method: HTTPMethod, _ path: String, json: Any? = nil, csrf: String?) async throws -> HTTPAnswer {
        var headers = [("Content-Type", "application/json")]
        if let csrf { headers.append(("X-CSRF-Token", csrf)) }
        return try await send(method, path, body: try json.map { try JSONSerialization.data(withJSONObject: $0) }, headers: headers)
    }

    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, headers: [(String, String)]) async throws -> HTTPAnswer {
        let cookieHeader = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        var all = headers
        if !cookieHeader.isEmpty { all.append(("Cookie", cookieHeader)) }
        var request = HTTPClientRequest(url: app.base + path)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        for (name, value) in all { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await Self.client.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 16 * 1024 * 1024)
        let answer = HTTPAnswer(status: Int(response.status.code), body: Data(collected.readableBytesView), headers: response.headers)
        for header in answer.headers[canonicalForm: "set-cookie"] {
            let pair = header.split(separator: ";").first.map(String.init) ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 || (parts.count == 1 && pair.hasSuffix("=")) else { continue }
            let name = parts[0], value = parts.count == 2 ? parts[1] : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return answer
    }

    /// The CSRF token a page carries in its `<meta name="csrf-token">`.
    static func csrf(in page: HTTPAnswer) -> String? {
        guard let range = page.text.range(of: "name=\"csrf-token\" content=\"") else { return nil }
        return String(page.text[range.upperBound...].prefix { $0 != "\"" })
    }
}
