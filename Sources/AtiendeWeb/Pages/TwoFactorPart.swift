import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// Two-factor sign-in with an authenticator app (TOTP) on the account page: set up (confirmed with a first code), new
/// recovery codes, turned off with the password. `SignInCode` asks for the code at sign-in.
enum TwoFactorPart {
    /// What the account page shows once: the recovery codes just made, or an error beside the form.
    enum Shown { case codes([String]), error(String) }

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
        let typed = try req.content.decode(SignInCode.CodeForm.self).code ?? ""
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
        let codes = try await req.atiende.accounts.renewRecoveryCodes(signedIn.userID, secrets: req.atiende.secrets)
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
            return try await accountAnswer(req, shown: .error(t("login.throttled", throttled.minutes)),
                                           status: .tooManyRequests)
        }
        try await req.atiende.accounts.disableTwoFactor(signedIn.userID)
        return req.redirect(to: SiteURL.account.path(query: [("saved", "two_factor_off")]) + "#two-factor", redirectType: .normal)
    }
}
