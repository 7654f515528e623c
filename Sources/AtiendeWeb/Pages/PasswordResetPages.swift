import AtiendeCore
import Crypto
import Foundation
import Plot
import Vapor

/// "Forgot your password?": a link by email, valid for an hour and once. Asking answers the same whether or not the
/// address has an account, and is rate-limited per address and per email. It needs the instance's mail
/// (`ATIENDE_SMTP_URL`) and its public address (`ATIENDE_PUBLIC_URL`): a link is never built from the request's Host,
/// which whoever asks could choose.
enum PasswordResetPages {
    /// Asks per hour: from one address, and for one email.
    static let perAddress = 10, perEmail = 3

    static func available(_ req: Request) -> Bool { req.atiende.config.systemMail != nil && req.atiende.config.publicURL != nil }

    /// The link's token for a reset: derived from its id with the instance's key, so neither the database nor the mail
    /// job keeps it.
    static func token(for id: UUID, key: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(id.uuidString.lowercased().utf8),
                                                  using: SymmetricKey(data: Data((key + ":password-reset").utf8)))
        return "pwr_" + id.uuidString.lowercased().replacingOccurrences(of: "-", with: "") + "_"
            + Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
    }

    static func page(_ req: Request, t: Localizer, _ body: Node<HTML.BodyContext>, status: HTTPStatus = .ok) async throws -> HTMLPage {
        let csrf = try await req.csrfToken()
        let content: Node<HTML.BodyContext> = .div(.class("card"), .h1(.text(t("reset.title"))), body,
                                                   .p(.a(.href(SiteURL.login.path), .text("← " + t("reset.back")))))
        return HTMLPage(html: Layout.plain(t("reset.title"), t: t, csrf: csrf, content), status: status)
    }

    static func askForm(_ req: Request, t: Localizer, email: String = "", error: String? = nil) async throws -> Node<HTML.BodyContext> {
        let csrf = try await req.csrfToken()
        guard available(req) else { return .p(.id("reset-unavailable"), .text(t("reset.unavailable"))) }
        return .group(
            .p(.text(t("reset.intro"))),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .form(.class("stack"), .id("reset-ask"), .method(.post), .action(SiteURL.forgotPassword.path), .csrf(csrf),
                  .label(.span(.text(t("login.email"))), .field(.type(.email), .name("email"), .value(email), .required(true), .autofocus(true),
                                                                .attribute(named: "autocomplete", value: "username"))),
                  .button(.type(.submit), .class("primary"), .text(t("reset.send")))))
    }

    static func forgot(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        let email = req.query[String.self, at: "email"].flatMap(IdentityNormalizer.email) ?? ""
        return try await page(req, t: t, try await askForm(req, t: t, email: email)).encodeResponse(for: req)
    }

    struct AskForm: Content { var email: String? }

    static func ask(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        guard available(req) else { return try await page(req, t: t, try await askForm(req, t: t), status: .notFound).encodeResponse(for: req) }
        let form = try req.content.decode(AskForm.self)
        guard let email = IdentityNormalizer.email(form.email ?? "") else {
            return try await page(req, t: t, try await askForm(req, t: t, email: form.email ?? "", error: t("error.invalid_email")),
                                  status: .badRequest).encodeResponse(for: req)
        }
        let now = req.atiende.store.clock.now()
        switch try await req.atiende.passwordResets.take([("address:" + (req.clientAddress ?? "unknown"), perAddress), ("email:" + email, perEmail)],
                                                         now: now) {
        case .failure(let refusal):
            let minutes = max(1, Int((refusal.wait / 60).rounded(.up)))
            let response = try await page(req, t: t, try await askForm(req, t: t, email: email, error: t("reset.rate_limited", minutes)),
                                          status: .tooManyRequests).encodeResponse(for: req)
            response.headers.replaceOrAdd(name: .retryAfter, value: String(Int(refusal.wait.rounded(.up))))
            return response
        case .success:
            break
        }
        let id = UUID()
        try await req.atiende.accounts.requestReset(email: email, id: id,
                                                    tokenHash: SecretToken.sha256Hex(token(for: id, key: req.atiende.config.secretKey)))
        // The same answer for every address: whether it has an account is not for whoever asks to know.
        return try await page(req, t: t, .group(.p(.class("notice"), .role("status"), .id("reset-sent"), .text(t("reset.sent", email))),
                                                .p(.class("hint"), .text(t("reset.sent_hint")))))
            .encodeResponse(for: req)
    }

    static func choose(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        let token = req.parameters.get("token") ?? ""
        guard token.count < 200, try await req.atiende.accounts.pendingReset(tokenHash: SecretToken.sha256Hex(token)) != nil else {
            return try await invalid(req, t: t)
        }
        return try await page(req, t: t, try await chooseForm(req, t: t, token: token)).encodeResponse(for: req)
    }

    static func invalid(_ req: Request, t: Localizer) async throws -> Response {
        try await page(req, t: t, .group(.p(.class("form-error"), .role("alert"), .text(t("error.reset_link_invalid"))),
                                         .p(.a(.href(SiteURL.forgotPassword.path), .text(t("reset.ask_again"))))), status: .gone)
            .encodeResponse(for: req)
    }

    static func chooseForm(_ req: Request, t: Localizer, token: String, error: String? = nil) async throws -> Node<HTML.BodyContext> {
        let csrf = try await req.csrfToken()
        return .group(
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .form(.class("stack"), .id("reset-choose"), .method(.post), .action(SiteURL.resetPassword(token).path), .csrf(csrf),
                  .label(.span(.text(t("account.new_password"))), .field(.type(.password), .name("password"), .required(true), .autofocus(true),
                                                                       .attribute(named: "autocomplete", value: "new-password"),
                                                                       .attribute(named: "minlength", value: String(PasswordPolicy.minimumLength)))),
                  .button(.type(.submit), .class("primary"), .text(t("reset.save")))))
    }

    struct ChooseForm: Content { var password: String? }

    /// The new password, once: every session is signed out and this browser signed in.
    static func save(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        let token = req.parameters.get("token") ?? ""
        let hash = SecretToken.sha256Hex(token)
        guard token.count < 200, try await req.atiende.accounts.pendingReset(tokenHash: hash) != nil else { return try await invalid(req, t: t) }
        let password = try req.content.decode(ChooseForm.self).password ?? ""
        do {
            try PasswordPolicy.check(password)
        } catch let error as AtiendeError {
            return try await page(req, t: t, try await chooseForm(req, t: t, token: token, error: ErrorPages.message(error, t: t)),
                                  status: .badRequest).encodeResponse(for: req)
        }
        let user: User
        do {
            user = try await req.atiende.accounts.redeemReset(tokenHash: hash, newHash: try await req.password.async.hash(password))
        } catch let error as AtiendeError where error.code == "reset_link_invalid" {
            return try await invalid(req, t: t)
        }
        // The mailbox proves the password, not the phone: someone with a second factor still gives it.
        if user.hasTwoFactor { return try await SignInCode.askForCode(req, user: user, next: nil) }
        return try await AuthPages.startSession(req, user: user, next: nil, method: .passwordReset)
    }
}
