import AtiendeCore
import Fluent
import Vapor

/// Browser sign-in: an HttpOnly session cookie and a CSRF token per session (or, before signing in, a
/// double-submit cookie). Every form post and every cookie-authenticated API call must carry the token.
enum SessionAuth {
    static let cookie = "atiende_session"
    static let csrfCookie = "atiende_csrf"
    static let csrfField = "_csrf"
    static let csrfHeader = "X-CSRF-Token"

    /// A cookie for the session token; `Secure` when the public URL is https.
    static func sessionCookie(_ token: String, secure: Bool) -> HTTPCookies.Value {
        HTTPCookies.Value(string: token, maxAge: Int(AccountService.sessionLifetime), path: "/", isSecure: secure,
                          isHTTPOnly: true, sameSite: .lax)
    }

    static func expired() -> HTTPCookies.Value {
        HTTPCookies.Value(string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/", isHTTPOnly: true, sameSite: .lax)
    }
}

/// The signed-in person behind a browser request.
struct SignedIn: Sendable {
    let session: AgentSession
    let user: User
    let token: String
    var userID: UUID { session.$user.id }
}

extension Request {
    private struct SignedInKey: StorageKey { typealias Value = SignedIn }
    private struct AnonymousCSRFKey: StorageKey { typealias Value = String }

    var isSecureDeployment: Bool { atiende.config.publicURL?.hasPrefix("https://") ?? false }

    /// The session named by the cookie, if it is live.
    func signedIn() async throws -> SignedIn? {
        if let cached = storage[SignedInKey.self] { return cached }
        guard let token = cookies[SessionAuth.cookie]?.string, !token.isEmpty,
              let (session, user) = try await atiende.accounts.session(token: token) else { return nil }
        let signedIn = SignedIn(session: session, user: user, token: token)
        storage[SignedInKey.self] = signedIn
        return signedIn
    }

    /// Forgets the signed-in person read for this request (their account just changed).
    func clearSignedInCache() { storage[SignedInKey.self] = nil }

    /// The CSRF token this browser must send back: its session's, or the anonymous double-submit cookie's.
    func csrfToken() async throws -> String {
        if let signedIn = try await signedIn() { return signedIn.session.csrfToken }
        if let existing = storage[AnonymousCSRFKey.self] { return existing }
        var token = SecretToken.make(prefix: "", bytes: 24)
        if let cookie = cookies[SessionAuth.csrfCookie]?.string, (20..<100).contains(cookie.count) { token = cookie }
        storage[AnonymousCSRFKey.self] = token
        return token
    }

    /// Sets the anonymous CSRF cookie on a response that rendered a form before sign-in.
    func attachCSRFCookie(to response: Response) {
        guard let token = storage[AnonymousCSRFKey.self] else { return }
        response.cookies[SessionAuth.csrfCookie] = HTTPCookies.Value(string: token, path: "/", isSecure: isSecureDeployment,
                                                                       isHTTPOnly: true, sameSite: .strict)
    }

    /// Refuses the request unless it carries this browser's CSRF token in the form field or the header.
    func verifyCSRF() async throws {
        let sent = headers.first(name: SessionAuth.csrfHeader)
            ?? (try? content.get(String.self, at: SessionAuth.csrfField))
        let expected: String?
        if let signedIn = try await signedIn() { expected = signedIn.session.csrfToken }
        else { expected = cookies[SessionAuth.csrfCookie]?.string }
        guard let sent, let expected, !expected.isEmpty, SecretToken.constantTimeEquals(sent, expected) else {
            throw AtiendeError(.forbidden, code: "csrf_failed", "the form was stale or not sent from Atiende; reload the page and try again")
        }
    }

    /// The signed-in person, or a redirect to the sign-in page that comes back here.
    func requireSignedIn() async throws -> SignedIn {
        guard let signedIn = try await signedIn() else { throw PageRedirect(to: SiteURL.login.path(query: [("next", url.path)])) }
        return signedIn
    }
}

/// Thrown by a page to send the browser elsewhere (e.g. to sign in).
struct PageRedirect: Error {
    let to: String
}
