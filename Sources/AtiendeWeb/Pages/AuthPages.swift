import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// Sign-in, sign-out, the first-run page, invitations and the person's own account.
enum AuthPages {
    // MARK: Home and sign-in

    /// `/`: the first-run page when nothing exists yet, else the last workspace's inbox, else sign-in.
    static func home(_ req: Request) async throws -> Response {
        if try await Workspace.query(on: req.db).count() == 0 { return req.redirect(to: SiteURL.setup.path) }
        guard let signedIn = try await req.signedIn() else { return req.redirect(to: SiteURL.login.path) }
        return req.redirect(to: try await landing(for: signedIn.userID, preferred: signedIn.session.workspaceID, on: req.db))
    }

    static func landing(for userID: UUID, preferred: UUID?, on db: any Database) async throws -> String {
        let memberships = try await Membership.query(on: db).filter(\.$user.$id == userID).with(\.$workspace).all()
        guard let chosen = memberships.first(where: { $0.$workspace.id == preferred }) ?? memberships.first else { return SiteURL.account.path }
        return SiteURL.inbox(chosen.workspace.slug).path
    }

    /// Only our own paths are followed after sign-in (no open redirect).
    static func safeNext(_ raw: String?) -> String? {
        // Browsers drop tabs and newlines from a URL (`/\t/evil.example` is `//evil.example`): no whitespace or control
        // characters at all, and nothing that names a scheme or a host.
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.contains("\\"), raw.count < 500,
              !raw.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }),
              let parts = URLComponents(string: raw), parts.scheme == nil, parts.host == nil else { return nil }
        return raw
    }

    static func loginPage(_ req: Request, t: Localizer, error: String? = nil, email: String = "", status: HTTPStatus = .ok) async throws -> HTMLPage {
        let csrf = try await req.csrfToken()
        let next = safeNext(req.query[String.self, at: "next"]) ?? ""
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .h1(.text(t("login.title"))),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .form(.class("stack"), .method(.post), .action(SiteURL.login.path(query: [("next", next)])),
                  .csrf(csrf),
                  .label(.span(.text(t("login.email"))), .field(.type(.email), .name("email"), .value(email), .required(true), .autofocus(true),
                                                                .attribute(named: "autocomplete", value: "username"))),
                  .label(.span(.text(t("login.password"))), .field(.type(.password), .name("password"), .required(true),
                                                                   .attribute(named: "autocomplete", value: "current-password"))),
                  .button(.type(.submit), .class("primary"), .text(t("login.submit")))),
            .if(PasswordResetPages.available(req), .p(.a(.href(SiteURL.forgotPassword.path(query: [("email", email)])), .id("forgot-password"),
                                                         .text(t("login.forgot"))))),
            languageLinks(t, path: SiteURL.login.path))
        return HTMLPage(html: Layout.plain(t("login.title"), t: t, csrf: csrf, content), status: status)
    }

    static func languageLinks(_ t: Localizer, path: String) -> Node<HTML.BodyContext> {
        .p(.class("languages"), .a(.href(path + "?lang=es"), .attribute(named: "hreflang", value: "es"), .text("Español")), .text(" · "),
           .a(.href(path + "?lang=en"), .attribute(named: "hreflang", value: "en"), .text("English")))
    }

    static func login(_ req: Request) async throws -> Response {
        if try await req.signedIn() != nil, let next = safeNext(req.query[String.self, at: "next"]) { return req.redirect(to: next) }
        let email = req.query[String.self, at: "email"].flatMap(IdentityNormalizer.email) ?? ""
        let response = try await loginPage(req, t: Localizer.negotiate(req), email: email).encodeResponse(for: req)
        if let lang = req.query[String.self, at: "lang"], Localizer.Language(rawValue: lang) != nil {
            response.cookies["atiende_lang"] = HTTPCookies.Value(string: lang, maxAge: 31_536_000, path: "/", sameSite: .lax)
        }
        return response
    }

    struct LoginForm: Content { var email: String; var password: String }

    static func signIn(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        let form = try req.content.decode(LoginForm.self)
        let email = IdentityNormalizer.email(form.email) ?? ""
        let user: User?
        do {
            user = try await req.checkPassword(form.password, email: email)
        } catch let throttled as SignInThrottle.Throttled {
            let minutes = throttled.minutes
            let response = try await loginPage(req, t: t, error: t("login.throttled", minutes), email: form.email, status: .tooManyRequests)
                .encodeResponse(for: req)
            response.headers.replaceOrAdd(name: .retryAfter, value: String(Int(throttled.retryAfter.rounded(.up))))
            return response
        }
        guard let user else {
            return try await loginPage(req, t: t, error: t("login.failed"), email: form.email, status: .unauthorized).encodeResponse(for: req)
        }
        if user.hasTwoFactor { return try await SignInCode.askForCode(req, user: user, next: safeNext(req.query[String.self, at: "next"])) }
        let response = try await startSession(req, user: user, next: safeNext(req.query[String.self, at: "next"]), method: .password)
        req.rememberDevice(response, email: email)
        return response
    }

    /// A fresh session (a new token: the old cookie, if any, dies), then on to `next` or the last workspace.
    static func startSession(_ req: Request, user: User, next: String?, workspace: UUID? = nil,
                             method: AccountService.SignInMethod?) async throws -> Response {
        let userID = try user.requireID()
        let (session, token) = try await req.atiende.accounts.startSession(
            for: userID, workspace: workspace, replacing: req.cookies[SessionAuth.cookie]?.string, device: req.device, method: method)
        var target = next ?? ""
        if next == nil { target = try await landing(for: userID, preferred: session.workspaceID, on: req.db) }
        let response = req.redirect(to: target, redirectType: .normal)
        response.cookies[SessionAuth.cookie] = SessionAuth.sessionCookie(token, secure: req.isSecureDeployment)
        response.cookies[SessionAuth.csrfCookie] = SessionAuth.expired()
        return response
    }

    static func logout(_ req: Request) async throws -> Response {
        if let token = req.cookies[SessionAuth.cookie]?.string { try await req.atiende.accounts.endSession(token: token) }
        let response = req.redirect(to: SiteURL.login.path, redirectType: .normal)
        response.cookies[SessionAuth.cookie] = SessionAuth.expired()
        return response
    }

    static func switchWorkspace(_ req: Request) async throws -> Response {
        _ = try await req.requireSignedIn()
        guard let slug = req.query[String.self, at: "workspace"], slug.count < 200 else { throw AtiendeError.notFound("workspace") }
        return req.redirect(to: SiteURL.inbox(slug).path)
    }

    // MARK: First run

    static func setupPage(_ req: Request, t: Localizer, error: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        guard try await Workspace.query(on: req.db).count() == 0 else { return req.redirect(to: SiteURL.login.path) }
        let csrf = try await req.csrfToken()
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .h1(.text(t("setup.title"))),
            .p(.text(t("setup.intro"))),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .form(.class("stack"), .method(.post), .action(SiteURL.setup.path),
                  .csrf(csrf),
                  .label(.span(.text(t("setup.workspace"))), .field(.type(.text), .name("workspace"), .required(true), .autofocus(true))),
                  .label(.span(.text(t("setup.name"))), .field(.type(.text), .name("name"), .required(true))),
                  .label(.span(.text(t("login.email"))), .field(.type(.email), .name("email"), .required(true))),
                  .label(.span(.text(t("setup.password"))), .field(.type(.password), .name("password"), .required(true),
                                                                   .attribute(named: "minlength", value: String(PasswordPolicy.minimumLength)),
                                                                   .attribute(named: "autocomplete", value: "new-password"))),
                  .label(.span(.text(t("account.language"))), languageSelect(t.language.rawValue)),
                  .label(.span(.text(t("account.time_zone"))), timeZoneInput("America/Santiago")),
                  .button(.type(.submit), .class("primary"), .text(t("setup.submit")))),
            languageLinks(t, path: SiteURL.setup.path))
        return try await HTMLPage(html: Layout.plain(t("setup.title"), t: t, csrf: csrf, content), status: status).encodeResponse(for: req)
    }

    static func setup(_ req: Request) async throws -> Response {
        try await setupPage(req, t: Localizer.negotiate(req))
    }

    struct SetupForm: Content { var workspace: String; var name: String; var email: String; var password: String; var language: String; var time_zone: String }

    static func createFirstWorkspace(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        guard try await Workspace.query(on: req.db).count() == 0 else { return req.redirect(to: SiteURL.login.path, redirectType: .normal) }
        let form = try req.content.decode(SetupForm.self)
        do {
            try PasswordPolicy.check(form.password)
            let hash = try await req.password.async.hash(form.password)
            let (_, user) = try await WorkspaceService.create(
                name: form.workspace, adminEmail: form.email, adminName: form.name.trimmingCharacters(in: .whitespaces),
                passwordHash: { hash }, language: form.language, timeZone: form.time_zone, store: req.atiende.store)
            return try await startSession(req, user: user, next: nil, method: .setup)
        } catch let error as AtiendeError {
            return try await setupPage(req, t: t, error: ErrorPages.message(error, t: t), status: HTTPStatus(statusCode: error.status))
        }
    }

    // MARK: Invitations

    /// An invitation to someone without an account asks for their name and a password of their choosing. One to an
    /// existing account asks for no password at all: that person accepts it while signed in as themselves, so a link
    /// can never be used to guess someone's password or to enter their account.
    static func invitationPage(_ req: Request, t: Localizer, error: String? = nil, name: String = "", status: HTTPStatus = .ok) async throws -> Response {
        guard let token = req.parameters.get("token"), let invitation = try await req.atiende.accounts.invitation(token: token),
              let workspace = try await Workspace.find(invitation.$workspace.id, on: req.db)
        else { throw AtiendeError(.gone, code: "invitation_expired", "this invitation link has expired or was already used") }
        let csrf = try await req.csrfToken()
        let here = SiteURL.invitation(token).path
        let existing = try await User.query(on: req.db).filter(\.$email == invitation.email).first()
        let signedIn = try await req.signedIn()
        let form: Node<HTML.BodyContext>
        if existing == nil {
            form = .form(.class("stack"), .method(.post), .action(here), .csrf(csrf),
                         .label(.span(.text(t("setup.name"))), .field(.type(.text), .name("name"), .value(name), .required(true))),
                         .label(.span(.text(t("setup.password"))),
                                .field(.type(.password), .name("password"), .required(true),
                                       .attribute(named: "minlength", value: String(PasswordPolicy.minimumLength)),
                                       .attribute(named: "autocomplete", value: "new-password"))),
                         .button(.type(.submit), .class("primary"), .text(t("invite.accept"))))
        } else if let signedIn, signedIn.user.email == invitation.email {
            form = .form(.class("stack"), .method(.post), .action(here), .csrf(csrf),
                         .button(.type(.submit), .class("primary"), .text(t("invite.accept"))))
        } else if signedIn != nil {
            form = .group(.p(.text(t("invite.other_account", invitation.email))),
                          .form(.method(.post), .action(SiteURL.logout.path), .csrf(csrf),
                                .button(.type(.submit), .text(t("invite.switch_account")))))
        } else {
            form = .p(.a(.class("button primary"), .href(SiteURL.login.path(query: [("next", here), ("email", invitation.email)])),
                         .text(t("invite.sign_in", invitation.email))))
        }
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .h1(.text(t("invite.title", workspace.name))),
            .p(.text(t(existing == nil ? "invite.new_account" : "invite.existing_account", invitation.email))),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            form,
            languageLinks(t, path: here))
        let response = try await HTMLPage(html: Layout.plain(t("invite.title", workspace.name), t: t, csrf: csrf, content), status: status)
            .encodeResponse(for: req)
        req.attachCSRFCookie(to: response)
        return response
    }

    static func invitation(_ req: Request) async throws -> Response {
        try await invitationPage(req, t: Localizer.negotiate(req))
    }

    struct InvitationForm: Content { var name: String?; var password: String? }

    static func acceptInvitation(_ req: Request) async throws -> Response {
        let t = Localizer.negotiate(req)
        guard let token = req.parameters.get("token"), let invitation = try await req.atiende.accounts.invitation(token: token) else {
            throw AtiendeError(.gone, code: "invitation_expired", "this invitation link has expired or was already used")
        }
        let form = try req.content.decode(InvitationForm.self)
        do {
            if try await User.query(on: req.db).filter(\.$email == invitation.email).first() != nil {
                guard let signedIn = try await req.signedIn(), signedIn.user.email == invitation.email else {
                    throw AtiendeError(.forbidden, code: "sign_in_to_accept", "sign in as \(invitation.email) to accept this invitation")
                }
                let (user, workspaceID) = try await req.atiende.accounts.accept(token: token, as: signedIn.userID)
                return try await startSession(req, user: user, next: nil, workspace: workspaceID, method: .invitation)
            }
            let password = form.password ?? ""
            try PasswordPolicy.check(password)
            let hash = try await req.password.async.hash(password)
            // The new account speaks the language the invitation page was read in.
            let (user, workspaceID) = try await req.atiende.accounts.accept(token: token, name: form.name ?? "", passwordHash: hash,
                                                                            language: t.language.rawValue)
            let response = try await startSession(req, user: user, next: nil, workspace: workspaceID, method: .invitation)
            req.rememberDevice(response, email: user.email)
            return response
        } catch let error as AtiendeError {
            return try await invitationPage(req, t: t, error: ErrorPages.message(error, t: t), name: form.name ?? "",
                                            status: HTTPStatus(statusCode: error.status))
        }
    }

    // MARK: Account

    static let commonTimeZones = ["America/Santiago", "America/Argentina/Buenos_Aires", "America/Bogota", "America/Lima", "America/Mexico_City",
                                  "America/Montevideo", "America/Caracas", "America/New_York", "America/Los_Angeles", "Europe/Madrid",
                                  "Europe/London", "UTC"]

    static func languageSelect<C>(_ selected: String) -> Node<C> {
        .dropdown(.name("language"), .option(.value("es"), .text("Español"), .selected(selected == "es")),
                .option(.value("en"), .text("English"), .selected(selected == "en")))
    }

    static func timeZoneInput<C>(_ value: String) -> Node<C> {
        .group(.field(.type(.text), .name("time_zone"), .value(value), .attribute(named: "list", value: "time-zones"), .required(true)),
               .element(named: "datalist", nodes: [.attribute(named: "id", value: "time-zones")] + commonTimeZones.map { zone in
                   .element(named: "option", nodes: [.attribute(named: "value", value: zone)])
               }))
    }

    static func account(_ req: Request) async throws -> HTMLPage {
        try await accountPage(req, passwordError: nil)
    }

    static func accountPage(_ req: Request, passwordError: String?, tokenError: String? = nil, issued: AccountAccessPart.Issued? = nil,
                            twoFactor: TwoFactorPart.Shown? = nil, status: HTTPStatus = .ok) async throws -> HTMLPage {
        let signedIn = try await req.requireSignedIn()
        let user = signedIn.user
        let t = Localizer(Localizer.Language(rawValue: user.language) ?? .es)
        let csrf = signedIn.session.csrfToken
        let saved = req.query[String.self, at: "saved"]
        let back = try await landing(for: signedIn.userID, preferred: signedIn.session.workspaceID, on: req.db)
        let access = try await AccountAccessPart.section(req, signedIn: signedIn, t: t, csrf: csrf, issued: issued, tokenError: tokenError)
        let secondFactor = try await TwoFactorPart.section(req, user: user, t: t, csrf: csrf, shown: twoFactor)
        let notices = ["password": "account.password_changed", "sessions": "account.sessions_ended", "token": "account.token.revoked",
                       "two_factor_off": "two_factor.turned_off"]
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .p(.a(.href(back), .text("← " + t("account.back")))),
            .h1(.text(t("account.title"))),
            .unwrap(saved) { key in .p(.class("notice"), .role("status"), .text(t(notices[key] ?? "common.saved"))) },
            .form(.class("stack"), .id("preferences"), .method(.post), .action(SiteURL.account.path),
                  .csrf(csrf),
                  .label(.span(.text(t("setup.name"))), .field(.type(.text), .name("name"), .value(user.name), .required(true))),
                  .label(.span(.text(t("account.language"))), languageSelect(user.language)),
                  .label(.span(.text(t("account.time_zone"))), timeZoneInput(user.timeZone)),
                  .label(.span(.text(t("account.signature"))), .textBox(.name("signature"), .attribute(named: "rows", value: "3"),
                                                                       .attribute(named: "maxlength", value: "2000"), .text(user.signature ?? ""))),
                  .h2(.text(t("account.working_hours"))),
                  .p(.class("hint"), .text(t("account.working_hours_hint"))),
                  .label(.field(.type(.checkbox), .name("has_hours"), .value("1"), .if(user.workingHours != nil, .attribute(named: "checked", value: "checked"))),
                         .text(" " + t("account.has_working_hours"))),
                  ServiceSettingsPage.weekFields(t, user.workingHours),
                  .h2(.text(t("account.email_notifications"))),
                  req.atiende.config.systemMail == nil
                      ? .p(.class("hint"), .text(t("account.email_notifications_off")))
                      : .p(.class("hint"), .text(t("account.email_notifications_hint"))),
                  .div(.class("checks"), .forEach(emailedKinds(t)) { kind, label in
                      .label(.field(.type(.checkbox), .name("email_" + kind.rawValue), .value("1"),
                                    .if(user.emailedNotifications.contains(kind), .attribute(named: "checked", value: "checked"))),
                             .text(" " + label))
                  }),
                  .field(.type(.hidden), .name("email_choices"), .value("1")),
                  .button(.type(.submit), .class("primary"), .text(t("common.save")))),
            .h2(.id("password"), .text(t("account.password"))),
            .unwrap(passwordError) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .form(.class("stack"), .method(.post), .action(SiteURL.password.path),
                  .csrf(csrf),
                  .label(.span(.text(t("account.current_password"))), .field(.type(.password), .name("current"), .required(true),
                                                                           .attribute(named: "autocomplete", value: "current-password"))),
                  .label(.span(.text(t("account.new_password"))), .field(.type(.password), .name("new"), .required(true),
                                                                       .attribute(named: "autocomplete", value: "new-password"))),
                  .button(.type(.submit), .text(t("account.change_password")))),
            secondFactor,
            access)
        return HTMLPage(html: Layout.plain(t("account.title"), t: t, csrf: csrf, content), status: status)
    }

    /// The notifications a person may also get by email, with what the account page calls them.
    static func emailedKinds(_ t: Localizer) -> [(AgentNotification.Kind, String)] {
        [(.assigned, t("account.notify.assigned")), (.mention, t("account.notify.mention")), (.slaWarning, t("account.notify.sla_warning")),
         (.slaBreach, t("account.notify.sla_breach")), (.overCapacity, t("account.notify.over_capacity")),
         (.reminder, t("account.notify.reminder")), (.unanswered, t("account.notify.unanswered")),
         (.compensationRequested, t("account.notify.compensation_requested")), (.compensationDecided, t("account.notify.compensation_decided")),
         (.backupFailed, t("account.notify.backup_failed"))]
    }

    struct PreferencesForm: Content { var name: String; var language: String; var time_zone: String }

    static func savePreferences(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        let form = try req.content.decode(PreferencesForm.self)
        let fields = try req.content.decode([String: String].self)
        // The person's own hours are in their own time zone.
        let hours: BusinessHours? = fields["has_hours"] != nil
            ? BusinessHours(timeZone: form.time_zone, week: try ServiceSettingsPage.parseWeek(fields), holidays: []) : nil
        try await req.atiende.accounts.updatePreferences(of: signedIn.userID, name: form.name, language: form.language, timeZone: form.time_zone,
                                                         workingHours: .some(hours), signature: fields["signature"],
                                                         emailedNotifications: fields["email_choices"] == nil ? nil
                                                             : Set(AgentNotification.Kind.allCases.filter { fields["email_" + $0.rawValue] != nil }))
        return req.redirect(to: SiteURL.account.path(query: [("saved", "1")]), redirectType: .normal)
    }

    struct PasswordForm: Content { var current: String; var new: String }

    /// Changes the password, ends every session of the person (other browsers are signed out) and starts a new one here.
    static func changePassword(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        do {
            return try await changePassword(req, signedIn: signedIn)
        } catch let error as AtiendeError {
            // Said on the account page, beside the form, in the person's language.
            let t = Localizer(Localizer.Language(rawValue: signedIn.user.language) ?? .es)
            return try await accountPage(req, passwordError: ErrorPages.message(error, t: t), status: HTTPStatus(statusCode: error.status))
                .encodeResponse(for: req)
        }
    }

    private static func changePassword(_ req: Request, signedIn: SignedIn) async throws -> Response {
        let form = try req.content.decode(PasswordForm.self)
        // The current password is checked like any other: a stolen session cannot guess it faster than a sign-in form.
        do {
            guard try await req.checkPassword(form.current, email: signedIn.user.email)?.id == signedIn.userID else {
                throw AtiendeError(.forbidden, code: "wrong_password", "the current password is not right")
            }
        } catch let throttled as SignInThrottle.Throttled {
            throw AtiendeError(.rateLimited, code: "too_many_attempts",
                               "too many wrong passwords; wait \(throttled.minutes) min and try again")
        }
        try PasswordPolicy.check(form.new)
        let hash = try await req.password.async.hash(form.new)
        try await req.atiende.accounts.changePassword(of: signedIn.userID, newHash: hash)
        return try await startSession(req, user: signedIn.user, next: SiteURL.account.path(query: [("saved", "password")]),
                                      workspace: signedIn.session.workspaceID, method: nil)
    }
}
