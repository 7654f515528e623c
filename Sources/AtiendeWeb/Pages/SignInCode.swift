import AtiendeCore
import Crypto
import Foundation
import Plot
import Vapor

/// The sign-in's second step for someone with two-factor on: after a right password the browser holds only a
/// short-lived signed note of whose password it was (bound to that password), and the code page takes the app's code or
/// a recovery code. Codes go through the sign-in throttle like passwords, and through a per-account count of their own.
enum SignInCode {
    static let cookie = "atiende_2fa"
    static let stepLifetime: TimeInterval = 300

    /// `userID.expiry.mac`: the password was right for this person until `expiry`.
    static func note(for user: User, now: Date, key: String) throws -> String {
        let expiry = Int64(now.addingTimeInterval(stepLifetime).timeIntervalSince1970)
        let id = try user.requireID().uuidString.lowercased()
        return "\(id).\(expiry).\(mac(id: id, expiry: expiry, passwordHash: user.passwordHash, key: key))"
    }

    static func mac(id: String, expiry: Int64, passwordHash: String, key: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data("\(id)\n\(expiry)\n\(passwordHash)".utf8), using: SymmetricKey(data: Data((key + ":two-factor").utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// The person whose password this browser gave, while the note is fresh and the password unchanged.
    static func pending(_ req: Request) async throws -> User? {
        guard let value = req.cookies[cookie]?.string, value.count < 300 else { return nil }
        let parts = value.split(separator: ".").map(String.init)
        guard parts.count == 3, let id = UUID(uuidString: parts[0]), let expiry = Int64(parts[1]),
              Double(expiry) > req.atiende.store.clock.now().timeIntervalSince1970,
              let user = try await User.find(id, on: req.db), user.isActive, user.hasTwoFactor,
              SecretToken.constantTimeEquals(parts[2], mac(id: parts[0], expiry: expiry, passwordHash: user.passwordHash, key: req.atiende.config.secretKey))
        else { return nil }
        return user
    }

    /// After a right password for someone with two-factor on: the code page, and the note for it.
    static func askForCode(_ req: Request, user: User, next: String?) async throws -> Response {
        let response = req.redirect(to: SiteURL.signInCode.path(query: [("next", next ?? "")]), redirectType: .normal)
        response.cookies[cookie] = HTTPCookies.Value(string: try note(for: user, now: req.atiende.store.clock.now(), key: req.atiende.config.secretKey),
                                                     maxAge: Int(stepLifetime), path: "/login", isSecure: req.isSecureDeployment,
                                                     isHTTPOnly: true, sameSite: .lax)
        return response
    }

    static func codePage(_ req: Request, t: Localizer, error: String? = nil, status: HTTPStatus = .ok) async throws -> HTMLPage {
        let csrf = try await req.csrfToken()
        let next = AuthPages.safeNext(req.query[String.self, at: "next"]) ?? ""
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .h1(.text(t("two_factor.title"))),
            .p(.text(t("two_factor.ask"))),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .form(.class("stack"), .id("two-factor-code"), .method(.post), .action(SiteURL.signInCode.path(query: [("next", next)])), .csrf(csrf),
                  .label(.span(.text(t("two_factor.code"))),
                         .field(.type(.text), .name("code"), .required(true), .autofocus(true), .attribute(named: "autocomplete", value: "one-time-code"),
                                .attribute(named: "inputmode", value: "text"), .attribute(named: "maxlength", value: "20"))),
                  .button(.type(.submit), .class("primary"), .text(t("two_factor.verify")))),
            .p(.class("hint"), .text(t("two_factor.recovery_hint"))),
            .p(.a(.href(SiteURL.login.path), .text("← " + t("reset.back")))))
        return HTMLPage(html: Layout.plain(t("two_factor.title"), t: t, csrf: csrf, content), status: status)
    }

    static func code(_ req: Request) async throws -> Response {
        guard try await pending(req) != nil else { return req.redirect(to: SiteURL.login.path) }
        let response = try await codePage(req, t: Localizer.negotiate(req)).encodeResponse(for: req)
        req.attachCSRFCookie(to: response)
        return response
    }

    struct CodeForm: Content { var code: String? }

    static func verify(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        guard let user = try await pending(req) else { return req.redirect(to: SiteURL.login.path) }
        let typed = try req.content.decode(CodeForm.self).code ?? ""
        // A code is a password's second half: guessed no faster than one, and no faster for knowing the password.
        let attempts: (SignInThrottle.Attempt, SignInThrottle.Attempt)
        do {
            attempts = try await req.atiende.signIns.beginCode(email: user.email, source: req.signInSource(for: user.email),
                                                               now: req.atiende.store.clock.now())
        } catch let throttled as SignInThrottle.Throttled {
            let response = try await codePage(req, t: t, error: t("login.throttled", throttled.minutes),
                                              status: .tooManyRequests).encodeResponse(for: req)
            response.headers.replaceOrAdd(name: .retryAfter, value: String(Int(throttled.retryAfter.rounded(.up))))
            return response
        }
        guard try await req.atiende.accounts.checkSecondFactor(try user.requireID(), code: typed, secrets: req.atiende.secrets, device: req.device) else {
            return try await codePage(req, t: t, error: t("two_factor.wrong"), status: .unauthorized).encodeResponse(for: req)
        }
        await req.atiende.signIns.succeeded(attempts.0)
        await req.atiende.signIns.succeeded(attempts.1)
        let response = try await AuthPages.startSession(req, user: user, next: AuthPages.safeNext(req.query[String.self, at: "next"]), method: .twoFactor)
        response.cookies[cookie] = HTTPCookies.Value(string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/login",
                                                     isHTTPOnly: true, sameSite: .lax)
        req.rememberDevice(response, email: user.email)
        return response
    }
}
