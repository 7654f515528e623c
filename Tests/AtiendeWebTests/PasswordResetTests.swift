@testable import AtiendeCore
@testable import AtiendeWeb
import AtiendeMail
import Fluent
import Foundation
import Testing

/// "Forgot your password?": a link by email that works once and within the hour, an answer that never tells which
/// addresses have accounts, limits per email and per address, and every other session signed out.
@Suite("Password reset by email", .serialized)
struct PasswordResetTests {
    static func ask(_ browser: Browser, _ email: String) async throws -> HTTPAnswer {
        let page = try await browser.get("/password/forgot")
        let csrf = try #require(Browser.csrf(in: page))
        return try await browser.post("/password/forgot", form: [("_csrf", csrf), ("email", email)])
    }

    static func link(in mail: ParsedMail) -> String? {
        mail.text.split(separator: "\n").first { $0.hasPrefix("https://desk.example/password/reset/") }
            .map { String($0.dropFirst("https://desk.example".count)) }
    }

    @Test("the link arrives in the person's language, sets the password once, signs every other browser out; an unknown address gets the same answer and no mail")
    func reset() async throws {
        let catcher = try await MailCatcher.start()
        defer { catcher.stop() }
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withApp(clock: clock, runJobs: true, environment: catcher.environment) { app in
            let ana = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            try await app.services.accounts.updatePreferences(of: ana.adminID, name: "Ana", language: "en", timeZone: nil)
            let (elsewhere, _) = try await Browser.signedIn(app, as: ana.adminID)
            let browser = Browser(app)
            #expect(try await browser.get("/login").text.contains("href=\"/password/forgot\""))

            let unknown = try await Self.ask(browser, "nadie@example.com")
            let known = try await Self.ask(browser, "ANA@example.com")
            #expect(unknown.status == 200 && known.status == 200)
            let strip = { (text: String) in text.replacingOccurrences(of: "nadie@example.com", with: "X").replacingOccurrences(of: "ana@example.com", with: "X")
                .replacingOccurrences(of: #"content="[^"]+""#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #"value="[^"]+""#, with: "", options: .regularExpression) }
            #expect(strip(unknown.text) == strip(known.text), "the same answer whether or not the address has an account")
            #expect(known.text.contains("id=\"reset-sent\""))

            let mail = try #require(try await catcher.wait(for: 1).first)
            #expect(mail.recipients == ["ana@example.com"] && mail.mail.subject == "Choose a new password for Atiende")
            #expect(mail.mail.text.contains("Hi Ana,") && mail.mail.headers.raw("Auto-Submitted")?.contains("auto-generated") == true)
            let path = try #require(Self.link(in: mail.mail))
            #expect(try await PasswordReset.query(on: app.store.db).count() == 1, "no reset for an address without an account")
            #expect(try await PasswordReset.query(on: app.store.db).first()?.tokenHash.contains(path.split(separator: "/").last.map(String.init) ?? "-") == false,
                    "only the token's hash is kept")

            // A short password is refused beside the form; the link still works.
            let form = try await browser.get(path)
            #expect(form.status == 200 && form.headers.first(name: .cacheControl) == "no-store")
            let csrf = try #require(Browser.csrf(in: form))
            let short = try await browser.post(path, form: [("_csrf", csrf), ("password", "corta")])
            #expect(short.status == 400)
            let saved = try await browser.post(path, form: [("_csrf", csrf), ("password", "una clave nueva y larga")])
            #expect(saved.status == 303 && browser.cookies[SessionAuth.cookie] != nil)
            #expect(try await browser.get("/account").status == 200, "signed in with the new password")
            #expect(try await elsewhere.get("/account").status == 303, "every other browser is signed out")
            #expect(try await AccountSecurityTests.signIn(Browser(app), "ana@example.com", "una clave nueva y larga") == 303)
            #expect(try await AccountSecurityTests.signIn(Browser(app), "ana@example.com", AccountSecurityTests.password) == 401)

            // Once only.
            let again = try await Browser(app).get(path)
            #expect(again.status == 410 && again.text.contains("/password/forgot"))
            let replay = try await browser.post(path, form: [("_csrf", try #require(Browser.csrf(in: try await browser.get("/account")))),
                                                             ("password", "otra clave distinta 2")])
            #expect(replay.status == 410)
            #expect(try await AccountSecurityTests.signIn(Browser(app), "ana@example.com", "una clave nueva y larga") == 303)
        }
    }

    @Test("a link expires after an hour; asking is limited per email and per address; a forged token is refused")
    func limits() async throws {
        let catcher = try await MailCatcher.start()
        defer { catcher.stop() }
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withApp(clock: clock, runJobs: true, environment: catcher.environment) { app in
            _ = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let browser = Browser(app)
            #expect(try await Self.ask(browser, "ana@example.com").status == 200)
            let first = try #require(try await catcher.wait(for: 1).first)
            let path = try #require(Self.link(in: first.mail))
            clock.advance(by: 3601)
            #expect(try await Browser(app).get(path).status == 410, "an hour later")
            #expect(try await Browser(app).get("/password/reset/pwr_forged").status == 410)

            // The hour has passed for that first ask too: the limits count the last hour's.
            for _ in 0..<PasswordResetPages.perEmail { #expect(try await Self.ask(browser, "ana@example.com").status == 200) }
            let limited = try await Self.ask(browser, "ana@example.com")
            #expect(limited.status == 429 && limited.headers.first(name: .retryAfter) != nil)
            #expect(try await PasswordReset.query(on: app.store.db).count() == 1 + PasswordResetPages.perEmail)
            for n in 0..<(PasswordResetPages.perAddress - PasswordResetPages.perEmail) {
                #expect(try await Self.ask(browser, "otro\(n)@example.com").status == 200)
            }
            #expect(try await Self.ask(browser, "ultimo@example.com").status == 429, "per address too")
            let bad = try await Self.ask(Browser(app), "no es un correo")
            #expect(bad.status == 400)
        }
    }

    @Test("without the instance's mail and public address the page says so and nothing is asked")
    func unavailable() async throws {
        try await withApp { app in
            _ = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let browser = Browser(app)
            #expect(!(try await browser.get("/login").text.contains("/password/forgot")))
            let page = try await browser.get("/password/forgot")
            #expect(page.status == 200 && page.text.contains("id=\"reset-unavailable\"") && !page.text.contains("id=\"reset-ask\""))
            let csrf = try #require(Browser.csrf(in: page))
            #expect(try await browser.post("/password/forgot", form: [("_csrf", csrf), ("email", "ana@example.com")]).status == 404)
            #expect(try await PasswordReset.query(on: app.store.db).count() == 0)
        }
    }
}
