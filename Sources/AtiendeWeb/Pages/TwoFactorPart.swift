import AtiendeCore
import Crypto
import Fluent
import Foundation
import Plot
import Vapor

/// Two-factor sign-in with an authenticator app (TOTP): set up and turned off on the account page, asked for at sign-in
/// after the password. Between the two steps the browser holds only a short-lived signed note of whose password was
/// right, bound to that password; each code goes through the sign-in throttle like a password.
enum TwoFactorPart {
    static let cookie = "atiende_2fa"
    static let stepLifetime: TimeInterval = 300

    /// What the account page shows once: the recovery codes just made, or an error beside the form.
    enum Shown { case codes([String]), error(String) }

    // MARK: - The sign-in's second step

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
        // A code is a password's second half: guessed no faster than one.
        let attempt: SignInThrottle.Attempt
        do {
            attempt = try await req.atiende.signIns.begin(email: user.email, source: req.signInSource(for: user.email), now: req.atiende.store.clock.now())
        } catch let throttled as SignInThrottle.Throttled {
            let response = try await codePage(req, t: t, error: t("login.throttled", max(1, Int((throttled.retryAfter / 60).rounded(.up)))),
                                              status: .tooManyRequests).encodeResponse(for: req)
            response.headers.replaceOrAdd(name: .retryAfter, value: String(Int(throttled.retryAfter.rounded(.up))))
            return response
        }
        guard try await req.atiende.accounts.checkSecondFactor(try user.requireID(), code: typed, secrets: req.atiende.secrets) else {
            return try await codePage(req, t: t, error: t("two_factor.wrong"), status: .unauthorized).encodeResponse(for: req)
        }
        await req.atiende.signIns.succeeded(attempt)
        let response = try await AuthPages.startSession(req, user: user, next: AuthPages.safeNext(req.query[String.self, at: "next"]))
        response.cookies[cookie] = HTTPCookies.Value(string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/login",
                                                     isHTTPOnly: true, sameSite: .lax)
        req.rememberDevice(response, email: user.email)
        return response
    }

    // MARK: - The account page

    static func section(_ req: Request, user: User, t: Localizer, csrf: String, shown: Shown?) async throws -> Node<HTML.BodyContext> {
        let error: String? = if case .error(let text) = shown { text } else { nil }
        let codes: [String]? = if case .codes(let list) = shown { list } else { nil }
        let body: Node<HTML.BodyContext>
        if user.hasTwoFactor {
            body = .group(
                .p(.id("two-factor-on"), .text(t("two_factor.on", AccountService.recoveryCodesLeft(user)))),
                .unwrap(codes) { codes in
                    .div(.class("notice"), .role("status"), .id("recovery-codes"), .p(.text(t("two_factor.codes_once"))),
                         .ul(.forEach(codes) { .li(.code(.text($0))) }))
                },
                .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
                .form(.class("inline"), .method(.post), .action(SiteURL.twoFactorRecovery.path), .csrf(csrf),
                      .button(.type(.submit), .text(t("two_factor.new_codes")))),
                .form(.class("stack"), .id("two-factor-off"), .method(.post), .action(SiteURL.twoFactorOff.path), .csrf(csrf),
                      .label(.span(.text(t("account.current_password"))), .field(.type(.password), .name("password"), .required(true),
                                                                               .attribute(named: "autocomplete", value: "current-password"))),
                      .button(.type(.submit), .class("danger"), .text(t("two_factor.turn_off")))))
        } else if let secret = try req.atiende.accounts.pendingTwoFactor(user, secrets: req.atiende.secrets) {
            let uri = TOTP.uri(secret: secret, account: user.email, issuer: "Atiende")
            let grouped = stride(from: 0, to: TOTP.base32(secret).count, by: 4).map { start -> String in
                let text = Array(TOTP.base32(secret))
                return String(text[start..<min(start + 4, text.count)])
            }.joined(separator: " ")
            body = .group(
                .p(.text(t("two_factor.setup"))),
                .code(.class("copy"), .id("two-factor-secret"), .text(grouped)),
                .p(.a(.href(escapeAttribute(uri)), .text(t("two_factor.open_app")))),
                .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
                .form(.class("stack"), .id("two-factor-confirm"), .method(.post), .action(SiteURL.twoFactorConfirm.path), .csrf(csrf),
                      .label(.span(.text(t("two_factor.code"))),
                             .field(.type(.text), .name("code"), .required(true), .attribute(named: "autocomplete", value: "one-time-code"),
                                    .attribute(named: "inputmode", value: "numeric"), .attribute(named: "maxlength", value: "8"))),
                      .button(.type(.submit), .class("primary"), .text(t("two_factor.confirm")))))
        } else {
            body = .group(
                .p(.text(t("two_factor.off"))),
                .form(.method(.post), .action(SiteURL.twoFactor.path), .csrf(csrf), .button(.type(.submit), .text(t("two_factor.turn_on")))))
        }
        // Sent here by a workspace of theirs that requires it: named, when it does.
        var requiredBy: String?
        if !user.hasTwoFactor, let slug = req.query[String.self, at: "two_factor_for"], slug.count <= 80,
           let workspace = try await Workspace.query(on: req.db).filter(\.$slug == slug).first(), workspace.requireTwoFactor == true,
           try await Membership.query(on: req.db).filter(\.$workspace.$id == workspace.requireID()).filter(\.$user.$id == user.requireID()).first() != nil {
            requiredBy = workspace.name
        }
        return .group(.h2(.id("two-factor"), .text(t("two_factor.heading"))),
                      .unwrap(requiredBy) { .p(.class("notice gaps"), .role("alert"), .id("two-factor-required"), .text(t("two_factor.required", $0))) },
                      body)
    }

    static func accountAnswer(_ req: Request, shown: Shown?, status: HTTPStatus = .ok) async throws -> Response {
        let response = try await AuthPages.accountPage(req, passwordError: nil, twoFactor: shown, status: status).encodeResponse(for: req)
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return response
    }

    static func begin(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        guard !signedIn.user.hasTwoFactor else { return req.redirect(to: SiteURL.account.path + "#two-factor", redirectType: .normal) }
        _ = try await req.atiende.accounts.beginTwoFactor(signedIn.userID, secrets: req.atiende.secrets)
        return req.redirect(to: SiteURL.account.path + "#two-factor", redirectType: .normal)
    }

    static func confirm(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        let t = Localizer(Localizer.Language(rawValue: signedIn.user.language) ?? .es)
        let typed = try req.content.decode(CodeForm.self).code ?? ""
        do {
            let codes = try await req.atiende.accounts.confirmTwoFactor(signedIn.userID, code: typed, secrets: req.atiende.secrets)
            req.clearSignedInCache()
            return try await accountAnswer(req, shown: .codes(codes))
        } catch let error as AtiendeError {
            return try await accountAnswer(req, shown: .error(ErrorPages.message(error, t: t)), status: HTTPStatus(statusCode: error.status))
        }
    }

    static func renewCodes(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        guard signedIn.user.hasTwoFactor else { throw AtiendeError.notFound("two-factor sign-in") }
        let codes = try await req.atiende.accounts.renewRecoveryCodes(signedIn.userID)
        req.clearSignedInCache()
        return try await accountAnswer(req, shown: .codes(codes))
    }

    struct OffForm: Content { var password: String? }

    /// Turning it off takes the current password, checked like any other.
    static func turnOff(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        let t = Localizer(Localizer.Language(rawValue: signedIn.user.language) ?? .es)
        let password = try req.content.decode(OffForm.self).password ?? ""
        do {
            guard try await req.checkPassword(password, email: signedIn.user.email)?.id == signedIn.userID else {
                return try await accountAnswer(req, shown: .error(t("error.wrong_password")), status: .forbidden)
            }
        } catch let throttled as SignInThrottle.Throttled {
            return try await accountAnswer(req, shown: .error(t("login.throttled", max(1, Int((throttled.retryAfter / 60).rounded(.up))))),
                                           status: .tooManyRequests)
        }
        try await req.atiende.accounts.disableTwoFactor(signedIn.userID)
        return req.redirect(to: SiteURL.account.path(query: [("saved", "two_factor_off")]) + "#two-factor", redirectType: .normal)
    }
}
