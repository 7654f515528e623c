import AtiendeCore
import Foundation
import Plot
import Vapor

/// The account page's "where you are signed in" and "API tokens": the person's sessions (this one marked; any other
/// signed out, or all of them at once) and personal tokens (made with a name, an expiry and a scope, shown once, revoked).
enum AccountAccessPart {
    /// A token just made, shown once on the page that answers its form.
    struct Issued { var name: String; var token: String }

    static func section(_ req: Request, signedIn: SignedIn, t: Localizer, csrf: String, issued: Issued?, tokenError: String?)
        async throws -> Node<HTML.BodyContext> {
        let accounts = req.atiende.accounts
        let sessions = try await accounts.sessions(of: signedIn.userID)
        let tokens = try await accounts.tokens(of: signedIn.userID)
        let row = Row(t: t, csrf: csrf, now: req.atiende.store.clock.now(), current: signedIn.session.id,
                      format: Formatting(t: t, timeZone: TimeZone(identifier: signedIn.user.timeZone) ?? .gmt))
        let others = sessions.filter { $0.id != signedIn.session.id }.count
        let sessionList: Node<HTML.BodyContext> = .ul(.class("access-list"), .id("session-list"), .forEach(sessions, row.session))
        let tokenList: Node<HTML.BodyContext> = tokens.isEmpty ? .p(.class("empty"), .text(t("account.tokens.none")))
            : .ul(.class("access-list"), .id("token-list"), .forEach(tokens, row.token))
        return .group(
            .h2(.id("sessions"), .text(t("account.sessions"))),
            .p(.class("hint"), .text(t("account.sessions_hint"))),
            sessionList,
            .if(others > 0, .form(.method(.post), .action(SiteURL.endOtherSessions.path), .csrf(csrf),
                                  .button(.type(.submit), .class("danger"), .text(t("account.sessions.end_others", others))))),
            .h2(.id("tokens"), .text(t("account.tokens"))),
            .p(.class("hint"), .text(t("account.tokens_hint"))),
            .unwrap(issued) { issued in
                .div(.class("notice"), .role("status"), .id("new-token"),
                     .p(.text(t("account.token.shown_once", issued.name))),
                     .code(.class("copy"), .id("new-token-value"), .attribute(named: "aria-label", value: t("account.token.value")),
                           .text(issued.token)))
            },
            tokenList,
            .unwrap(tokenError) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .h3(.text(t("account.token.new"))),
            tokenForm(t: t, csrf: csrf))
    }

    /// The lists' entries, in the person's language and time zone: what it is, then when, then its button.
    struct Row {
        let t: Localizer
        let csrf: String
        let now: Date
        let current: UUID?
        let format: Formatting

        func session(_ session: AgentSession) -> Node<HTML.ListContext> {
            let isCurrent = session.id == current
            let when = [session.address ?? "", t("account.session.started_at", format.dateTime(session.createdAt)),
                        t("account.session.seen_at", format.elapsed(since: session.lastSeenAt ?? session.createdAt, now: now))]
            let end: Node<HTML.BodyContext> = .unwrap(isCurrent ? nil : session.id) { id in
                .form(.class("inline"), .method(.post), .action(SiteURL.endSession(id).path), .csrf(csrf),
                      .button(.type(.submit), .text(t("account.session.end"))))
            }
            return .li(.if(isCurrent, .class("current")),
                       .div(.span(.class("what"), .attribute(named: "title", value: escapeAttribute(session.userAgent ?? "")),
                                  .text(AccountAccessPart.describe(session.userAgent, t: t))),
                            .if(isCurrent, .span(.class("badge"), .text(t("account.session.this")))),
                            .span(.class("when"), .text(when.filter { !$0.isEmpty }.joined(separator: " · ")))),
                       end)
        }

        func token(_ token: APIToken) -> Node<HTML.ListContext> {
            let expired = token.expiresAt.map { $0 <= now } ?? false
            let expires = token.expiresAt.map { t(expired ? "account.token.expired_at" : "account.token.expires_at", format.dateTime($0)) }
                ?? t("account.token.no_expiry")
            let used = token.lastUsedAt.map { t("account.token.used_at", format.elapsed(since: $0, now: now)) } ?? t("account.token.never_used")
            let when = [t(token.readOnly == true ? "account.token.read_only" : "account.token.full"),
                        token.createdAt.map { t("account.token.created_at", format.dateTime($0)) } ?? "", used, expires]
            let revoke: Node<HTML.BodyContext> = .unwrap(token.id) { id in
                .form(.class("inline"), .method(.post), .action(SiteURL.revokeToken(id).path), .csrf(csrf),
                      .button(.type(.submit), .class("danger"), .text(t("account.token.revoke"))))
            }
            return .li(.if(expired, .class("inactive")),
                       .div(.span(.class("what"), .text(token.name)), .text(" "), .code(.text(token.prefix + "…")),
                            .span(.class("when"), .text(when.filter { !$0.isEmpty }.joined(separator: " · ")))),
                       revoke)
        }
    }

    static func tokenForm(t: Localizer, csrf: String) -> Node<HTML.BodyContext> {
        let lifetimes: [(String, String)] = AccountService.tokenLifetimes.map { days in
            (days.map(String.init) ?? "", days.map { t("account.token.days", $0) } ?? t("account.token.never"))
        }
        let scopes = [("full", t("account.token.full")), ("read", t("account.token.read_only"))]
        return .form(.class("stack"), .id("token-form"), .method(.post), .action(SiteURL.accountTokens.path), .csrf(csrf),
                     .label(.span(.text(t("account.token.name"))), .field(.type(.text), .name("name"), .required(true),
                                                                         .attribute(named: "maxlength", value: "100"))),
                     .label(.span(.text(t("account.token.expires"))), choice("days", lifetimes, selected: "90")),
                     .label(.span(.text(t("account.token.scope"))), choice("scope", scopes, selected: "full")),
                     .button(.type(.submit), .text(t("account.token.create"))))
    }

    static func choice(_ name: String, _ options: [(value: String, label: String)], selected: String) -> Node<HTML.LabelContext> {
        .dropdown(.name(name), .forEach(options) { option in
            .option(.value(option.value), .text(option.label), .selected(option.value == selected))
        })
    }

    /// "Firefox on Linux": what a person recognises of a browser's self-description.
    static func describe(_ userAgent: String?, t: Localizer) -> String {
        guard let ua = userAgent, !ua.isEmpty else { return t("account.session.unknown") }
        let browsers: [(String, String)] = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
                                            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"), ("python", "Python")]
        let systems: [(String, String)] = [("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("CrOS", "ChromeOS"),
                                           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux")]
        let browser = browsers.first { ua.contains($0.0) }?.1
        let system = systems.first { ua.contains($0.0) }?.1
        switch (browser, system) {
        case let (b?, s?): return t("account.session.on", b, s)
        case let (b?, nil): return b
        case let (nil, s?): return s
        default: return t("account.session.unknown")
        }
    }

    static func endSession(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        let id = try req.uuidParameter("sessionId", "session")
        // This browser signs out with the sign-out button; another person's session is no session of theirs.
        guard id != signedIn.session.id, try await req.atiende.accounts.endSession(id, of: signedIn.userID) else {
            throw AtiendeError.notFound("session")
        }
        return req.redirect(to: SiteURL.account.path(query: [("saved", "sessions")]) + "#sessions", redirectType: .normal)
    }

    static func endOthers(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        try await req.atiende.accounts.endOtherSessions(of: signedIn.userID, keeping: try signedIn.session.requireID())
        return req.redirect(to: SiteURL.account.path(query: [("saved", "sessions")]) + "#sessions", redirectType: .normal)
    }

    struct TokenForm: Content { var name: String?; var days: String?; var scope: String? }

    /// Makes a token and answers with the account page showing it, once (it never goes into an address).
    static func createToken(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        do {
            return try await createToken(req, signedIn: signedIn)
        } catch let error as AtiendeError {
            // Said beside the form, in the person's language.
            let t = Localizer(Localizer.Language(rawValue: signedIn.user.language) ?? .es)
            return try await AuthPages.accountPage(req, passwordError: nil, tokenError: ErrorPages.message(error, t: t),
                                                   status: HTTPStatus(statusCode: error.status)).encodeResponse(for: req)
        }
    }

    private static func createToken(_ req: Request, signedIn: SignedIn) async throws -> Response {
        let form = try req.content.decode(TokenForm.self)
        let days: Int?
        switch form.days?.trimmingCharacters(in: .whitespaces) ?? "" {
        case "": days = nil
        case let text: guard let value = Int(text) else {
            throw AtiendeError.invalid("a token lasts from 1 to 3650 days, or until revoked", code: "invalid_token_expiry")
        }
            days = value
        }
        guard ["full", "read", nil].contains(form.scope) else {
            throw AtiendeError.invalid("a token's scope is full or read", code: "invalid_token_scope")
        }
        let (record, token) = try await req.atiende.accounts.issueToken(for: signedIn.userID, name: form.name ?? "", days: days,
                                                                        readOnly: form.scope == "read")
        // The token is in this page only (pages are never cached: `HTMLPage` says no-store).
        return try await AuthPages.accountPage(req, passwordError: nil, issued: Issued(name: record.name, token: token)).encodeResponse(for: req)
    }

    static func revokeToken(_ req: Request) async throws -> Response {
        let signedIn = try await req.requireSignedIn()
        guard try await req.atiende.accounts.revokeToken(try req.uuidParameter("tokenId", "token"), of: signedIn.userID) else {
            throw AtiendeError.notFound("token")
        }
        return req.redirect(to: SiteURL.account.path(query: [("saved", "token")]) + "#tokens", redirectType: .normal)
    }
}
