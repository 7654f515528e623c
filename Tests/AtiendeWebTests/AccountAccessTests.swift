@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing
import Vapor

/// The account page's sessions and API tokens: a person sees where they are signed in and signs any of it out, makes
/// tokens that expire or may only read, and revokes them; nobody reaches another person's.
@Suite("Sessions and API tokens on the account page", .serialized)
struct AccountAccessTests {
    static let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    static let phone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"

    /// Signs in through the form with a browser's own User-Agent.
    static func signIn(_ app: TestApp, _ email: String, userAgent: String) async throws -> Browser {
        let browser = Browser(app)
        let page = try await browser.get("/login")
        let csrf = try #require(Browser.csrf(in: page))
        let body = "_csrf=\(csrf)&email=\(email.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&password=la%20clave%20de%20ana%201"
        let answer = try await browser.send(.POST, "/login", body: Data(body.utf8),
                                            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("User-Agent", userAgent)])
        #expect(answer.status == 303, "\(answer.text)")
        return browser
    }

    /// The token a page shows once, in `#new-token-value`.
    static func shownToken(_ page: HTTPAnswer) -> String? {
        guard let start = page.text.range(of: "id=\"new-token-value\""), let close = page.text[start.upperBound...].firstIndex(of: ">") else { return nil }
        let token = String(page.text[page.text.index(after: close)...].prefix { $0 != "<" })
        return token.hasPrefix("atd_") ? token : nil
    }

    static func csrf(_ browser: Browser) async throws -> String {
        try #require(Browser.csrf(in: try await browser.get("/account")))
    }

    @Test("the account page lists every browser signed in as the person; one is signed out, then all but this one; another's session is out of reach")
    func sessions() async throws {
        try await withApp { app in
            let ana = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let eva = try await WorkspaceFixture.make(app, name: "Otra", email: "eva@example.com", password: AccountSecurityTests.password)
            let laptop = try await Self.signIn(app, "ana@example.com", userAgent: Self.firefox)
            let phone = try await Self.signIn(app, "ana@example.com", userAgent: Self.phone)
            let tablet = try await Self.signIn(app, "ana@example.com", userAgent: "<script>alert(1)</script>")
            let evasBrowser = try await Self.signIn(app, "eva@example.com", userAgent: Self.firefox)

            let page = try await laptop.get("/account")
            #expect(page.status == 200)
            #expect(page.text.contains("Firefox en Linux") && page.text.contains("Chrome en Android"), "described in the person's language")
            #expect(page.text.contains("este navegador") && page.text.contains("127.0.0.1"))
            #expect(!page.text.contains("<script>alert(1)</script>"), "what a browser says of itself is text")
            let sessions = try await AgentSession.query(on: app.store.db).filter(\.$user.$id == ana.adminID).all()
            #expect(sessions.count == 3 && Set(sessions.compactMap(\.userAgent)) == [Self.firefox, Self.phone, "<script>alert(1)</script>"])
            let phoneSession = try #require(sessions.first { $0.userAgent == Self.phone }?.id)
            let evasSession = try #require(try await AgentSession.query(on: app.store.db).filter(\.$user.$id == eva.adminID).first()?.id)

            // Another person's session by its id: not found, and it stays signed in.
            let csrf = try await Self.csrf(laptop)
            #expect(try await laptop.post("/account/sessions/\(evasSession.uuidString)/end", form: [("_csrf", csrf)]).status == 404)
            #expect(try await evasBrowser.get("/account").status == 200)
            #expect(try await laptop.post("/account/sessions/not-an-id/end", form: [("_csrf", csrf)]).status == 404)
            // Without the CSRF token nothing ends.
            #expect(try await laptop.post("/account/sessions/\(phoneSession.uuidString)/end", form: []).status == 403)
            #expect(try await phone.get("/account").status == 200)

            // The phone, signed out from the laptop: its next page asks it to sign in.
            let ended = try await laptop.post("/account/sessions/\(phoneSession.uuidString)/end", form: [("_csrf", csrf)])
            #expect(ended.status == 303 && ended.headers.first(name: .location)?.contains("saved=sessions") == true)
            #expect(try await phone.get("/account").status == 303)
            #expect(try await tablet.get("/account").status == 200)

            // Everywhere else: the tablet goes, the laptop stays, Eva's stays.
            let rest = try await laptop.post("/account/sessions/end-others", form: [("_csrf", csrf)])
            #expect(rest.status == 303)
            #expect(try await tablet.get("/account").status == 303)
            #expect(try await laptop.get("/account").status == 200)
            #expect(try await evasBrowser.get("/account").status == 200)
            #expect(try await AgentSession.query(on: app.store.db).filter(\.$user.$id == ana.adminID).count() == 1)
        }
    }

    @Test("a session's last use is written at most every five minutes, and shown")
    func lastSeen() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withApp(clock: clock) { app in
            let ana = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let laptop = try await Self.signIn(app, "ana@example.com", userAgent: Self.firefox)
            func seen() async throws -> Date? { try await AgentSession.query(on: app.store.db).filter(\.$user.$id == ana.adminID).first()?.lastSeenAt }
            let first = try #require(try await seen())
            clock.advance(by: 120)
            try await laptop.get("/account")
            #expect(try await seen() == first, "two minutes later: not written again")
            clock.advance(by: 240)
            try await laptop.get("/account")
            #expect(try await seen() == clock.now())
        }
    }

    @Test("a token is made on the account page and shown once; a read-only one only reads; it expires; it is revoked; bad forms change nothing")
    func tokens() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withApp(clock: clock) { app in
            let ana = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let eva = try await WorkspaceFixture.make(app, name: "Otra", email: "eva@example.com", password: AccountSecurityTests.password)
            let (browser, csrf) = try await Browser.signedIn(app, as: ana.adminID)
            func count() async throws -> Int { try await APIToken.query(on: app.store.db).filter(\.$user.$id == ana.adminID).count() }
            let before = try await count()

            // Bad forms: said beside the form, nothing made.
            for (form, code) in [([("name", "  "), ("days", "30"), ("scope", "read")], "El token necesita un nombre"),
                                 ([("name", "x"), ("days", "abc"), ("scope", "read")], "Un token dura"),
                                 ([("name", "x"), ("days", "0"), ("scope", "read")], "Un token dura"),
                                 ([("name", "x"), ("days", "30"), ("scope", "admin")], "El alcance"),
                                 ([("name", String(repeating: "n", count: 101)), ("days", ""), ("scope", "full")], "El token necesita un nombre")] {
                let answer = try await browser.post("/account/tokens", form: [("_csrf", csrf)] + form)
                #expect(answer.status == 400 && answer.text.contains(code), "\(form) → \(answer.status)")
            }
            #expect(try await count() == before)

            let made = try await browser.post("/account/tokens", form: [("_csrf", csrf), ("name", "Informe <nocturno>"), ("days", "30"), ("scope", "read")])
            #expect(made.status == 200 && made.headers.first(name: .cacheControl) == "no-store")
            #expect(made.text.contains("Informe &lt;nocturno&gt;") && !made.text.contains("Informe <nocturno>"))
            let value = try #require(Self.shownToken(made))
            // Shown once: the next page has its name and prefix only.
            let later = try await browser.get("/account")
            #expect(!later.text.contains(value) && later.text.contains(String(value.prefix(10))) && later.text.contains("Solo lectura"))

            // It reads; it changes nothing.
            #expect(try await app.request(.GET, "\(ana.path)/conversations", token: value).status == 200)
            let write = try await app.request(.POST, "\(ana.path)/teams", token: value, json: ["name": "Nivel 2"])
            #expect(write.status == 403 && write.text.contains("read_only_token"), "\(write.text)")
            #expect(try await Team.query(on: app.store.db).filter(\.$workspace.$id == ana.id).count() == 0)
            let record = try #require(try await APIToken.query(on: app.store.db).filter(\.$prefix == String(value.prefix(10))).first())
            #expect(record.lastUsedAt != nil && record.readOnly == true)
            #expect(record.expiresAt == clock.now().addingTimeInterval(30 * 86_400))

            // Thirty days on, it is refused for what it is.
            clock.advance(by: 30 * 86_400)
            let expired = try await app.request(.GET, "\(ana.path)/conversations", token: value)
            #expect(expired.status == 401 && expired.text.contains("token_expired"))
            // The browser's session (14 days) is long over too: signed in again, the page says the token expired.
            #expect(try await browser.get("/account").status == 303)
            let (again, csrfAgain) = try await Browser.signedIn(app, as: ana.adminID)
            #expect(try await again.get("/account").text.contains("venció el"))

            // A full token lasts until revoked; Eva cannot revoke it, Ana can.
            let full = try await again.post("/account/tokens", form: [("_csrf", csrfAgain), ("name", "ERP"), ("days", ""), ("scope", "full")])
            let fullValue = try #require(Self.shownToken(full))
            #expect(try await app.request(.POST, "\(ana.path)/teams", token: fullValue, json: ["name": "Nivel 2"]).status == 201)
            let fullID = try #require(try await APIToken.query(on: app.store.db).filter(\.$prefix == String(fullValue.prefix(10))).first()?.id)
            let (evasBrowser, evasCSRF) = try await Browser.signedIn(app, as: eva.adminID)
            #expect(try await evasBrowser.post("/account/tokens/\(fullID.uuidString)/revoke", form: [("_csrf", evasCSRF)]).status == 404)
            #expect(try await app.request(.GET, "\(ana.path)/conversations", token: fullValue).status == 200)
            let revoked = try await again.post("/account/tokens/\(fullID.uuidString)/revoke", form: [("_csrf", csrfAgain)])
            #expect(revoked.status == 303)
            #expect(try await app.request(.GET, "\(ana.path)/conversations", token: fullValue).status == 401)
            #expect(try await again.post("/account/tokens/\(fullID.uuidString)/revoke", form: [("_csrf", csrfAgain)]).status == 404, "once")
            #expect(!(try await again.get("/account").text.contains(String(fullValue.prefix(10)))))
        }
    }
}
