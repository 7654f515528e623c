@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

/// Two-factor sign-in: RFC 6238's own test vectors, set-up from the account page, the code after the password (once
/// each), recovery codes, and turning it off with the password.
@Suite("Two-factor sign-in with an authenticator app", .serialized)
struct TwoFactorTests {
    @Test("codes are RFC 6238's (SHA-1 test vectors, last six digits), one step either side, in base32 and otpauth form")
    func vectors() {
        let secret = Data("12345678901234567890".utf8)
        for (time, code) in [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"),
                             (2_000_000_000, "279037"), (20_000_000_000, "353130")] as [(Int64, String)] {
            #expect(TOTP.code(secret: secret, step: time / 30) == code, "\(time)")
        }
        let now = Date(timeIntervalSince1970: 1_111_111_109)
        #expect(TOTP.matchingStep("081 804", secret: secret, now: now) == Int64(1_111_111_109) / 30)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: TOTP.step(now) - 1), secret: secret, now: now) != nil)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: TOTP.step(now) - 2), secret: secret, now: now) == nil)
        #expect(TOTP.matchingStep("08180a", secret: secret, now: now) == nil && TOTP.matchingStep("٠٨١٨٠٤", secret: secret, now: now) == nil)
        #expect(TOTP.base32(secret) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        #expect(TOTP.uri(secret: secret, account: "ana@example.com", issuer: "Atiende")
                == "otpauth://totp/Atiende:ana@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Atiende&algorithm=SHA1&digits=6&period=30")
    }

    static func field(_ id: String, in page: HTTPAnswer) -> String? {
        guard let start = page.text.range(of: "id=\"\(id)\""), let close = page.text[start.upperBound...].firstIndex(of: ">") else { return nil }
        return String(page.text[page.text.index(after: close)...].prefix { $0 != "<" })
    }

    @Test("set up on the account page with a first code; then signing in asks for a code after the password, each once; a recovery code works once; off takes the password")
    func flow() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withApp(clock: clock) { app in
            let ana = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let (browser, csrf) = try await Browser.signedIn(app, as: ana.adminID)
            #expect(try await browser.get("/account").text.contains("action=\"/account/two-factor\""))
            #expect(try await browser.post("/account/two-factor", form: [("_csrf", csrf)]).status == 303)
            let setup = try await browser.get("/account")
            let key = try #require(Self.field("two-factor-secret", in: setup)).replacingOccurrences(of: " ", with: "")
            let user = try #require(try await User.find(ana.adminID, on: app.store.db))
            let secret = try #require(try app.services.accounts.pendingTwoFactor(user, secrets: app.services.secrets))
            #expect(TOTP.base32(secret) == key && user.totpSecret == nil, "shown, and not on before a code confirms it")
            #expect(!(String(decoding: user.totpPending ?? Data(), as: UTF8.self).contains(key)), "sealed at rest")

            let wrong = try await browser.post("/account/two-factor/confirm", form: [("_csrf", csrf), ("code", "000000")])
            #expect(wrong.status == 400 && wrong.text.contains("revisa la hora"))
            let now = TOTP.step(clock.now())
            let on = try await browser.post("/account/two-factor/confirm", form: [("_csrf", csrf), ("code", TOTP.code(secret: secret, step: now))])
            #expect(on.status == 200 && on.text.contains("id=\"recovery-codes\""))
            let codes = on.text.components(separatedBy: "<li><code>").dropFirst().map { String($0.prefix { $0 != "<" }) }
            #expect(codes.count == 10 && Set(codes).count == 10)
            #expect(!(try await browser.get("/account").text.contains(codes[0])), "shown once")

            // Signing in: the password, then the code.
            func signIn(_ code: String?) async throws -> (Browser, HTTPAnswer?) {
                let b = Browser(app)
                #expect(try await AccountSecurityTests.signIn(b, "ana@example.com", AccountSecurityTests.password) == 303)
                #expect(b.cookies[SessionAuth.cookie] == nil, "no session from the password alone")
                guard let code else { return (b, nil) }
                let page = try await b.get("/login/code")
                let token = try #require(Browser.csrf(in: page))
                return (b, try await b.post("/login/code", form: [("_csrf", token), ("code", code)]))
            }
            let (_, sameStep) = try await signIn(TOTP.code(secret: secret, step: now))
            #expect(sameStep?.status == 401, "the code that turned it on was used")
            clock.advance(by: 30)
            let fresh = TOTP.code(secret: secret, step: TOTP.step(clock.now()))
            let (laptop, answer) = try await signIn(fresh)
            #expect(answer?.status == 303 && laptop.cookies[SessionAuth.cookie] != nil)
            #expect(try await laptop.get("/account").status == 200)
            let (_, replay) = try await signIn(fresh)
            #expect(replay?.status == 401, "a code works once")
            let (_, recovered) = try await signIn(codes[3].uppercased())
            #expect(recovered?.status == 303, "a recovery code, however it is typed")
            let (_, again) = try await signIn(codes[3])
            #expect(again?.status == 401, "once")
            #expect(AccountService.recoveryCodesLeft(try #require(try await User.find(ana.adminID, on: app.store.db))) == 9)

            // The note between the steps: forged, or stale after five minutes, it asks for the password again.
            let (waiting, _) = try await signIn(nil)
            let forged = Browser(app)
            forged.cookies[SignInCode.cookie] = String((waiting.cookies[SignInCode.cookie] ?? "").dropLast(2)) + "00"
            #expect(try await forged.get("/login/code").status == 303)
            clock.advance(by: 301)
            #expect(try await waiting.get("/login/code").status == 303)

            // Off: only with the password.
            let (desk, deskCSRF) = try await Browser.signedIn(app, as: ana.adminID)
            #expect(try await desk.post("/account/two-factor/off", form: [("_csrf", deskCSRF), ("password", "no es")]).status == 403)
            #expect(try await User.find(ana.adminID, on: app.store.db)?.hasTwoFactor == true)
            #expect(try await desk.post("/account/two-factor/off", form: [("_csrf", deskCSRF), ("password", AccountSecurityTests.password)]).status == 303)
            let plain = Browser(app)
            #expect(try await AccountSecurityTests.signIn(plain, "ana@example.com", AccountSecurityTests.password) == 303)
            #expect(plain.cookies[SessionAuth.cookie] != nil)
        }
    }

    /// Sets two-factor up on the account page with the app's current code.
    static func turnOn(_ app: TestApp, _ browser: Browser, csrf: String, user id: UUID, now: Date) async throws {
        #expect(try await browser.post("/account/two-factor", form: [("_csrf", csrf)]).status == 303)
        let user = try #require(try await User.find(id, on: app.store.db))
        let secret = try #require(try app.services.accounts.pendingTwoFactor(user, secrets: app.services.secrets))
        #expect(try await browser.post("/account/two-factor/confirm", form: [("_csrf", csrf), ("code", TOTP.code(secret: secret, step: TOTP.step(now)))]).status == 200)
    }

    @Test("an admin with it requires it for the workspace: a member without it is sent to set it up, and their token is refused until then")
    func required() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app, name: "Tienda Andina")
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (agent, agentToken) = try await workspace.member(app, role: .agent)
            let (admin, adminCSRF) = try await Browser.signedIn(app, as: workspace.adminID)
            let settings = "/app/\(slug)/settings/workspace"
            #expect(try await admin.get(settings).text.contains("name=\"require_two_factor\""))
            let requiring: [(String, String)] = [("_csrf", adminCSRF), ("name", "Tienda Andina"), ("language", "es"), ("time_zone", "UTC"),
                                                 ("country_code", ""), ("two_factor_choice", "1"), ("require_two_factor", "1")]
            let first = try await admin.post(settings, form: requiring)
            #expect(first.status == 400 && first.text.contains("en tu propia cuenta"), "the admin has none yet")
            #expect(try await Workspace.find(workspace.id, on: app.store.db)?.requireTwoFactor != true)
            try await Self.turnOn(app, admin, csrf: adminCSRF, user: workspace.adminID, now: clock.now())
            let saved = try await admin.post(settings, form: requiring)
            #expect(saved.status == 303)
            #expect(try await Workspace.find(workspace.id, on: app.store.db)?.requireTwoFactor == true)

            let (desk, csrf) = try await Browser.signedIn(app, as: agent)
            let sent = try await desk.get("/app/\(slug)/inbox")
            #expect(sent.status == 303 && sent.headers.first(name: .location) == "/account?two_factor_for=\(slug)#two-factor")
            let account = try await desk.get("/account?two_factor_for=\(slug)")
            #expect(account.status == 200 && account.text.contains("«Tienda Andina» exige verificación en dos pasos"))
            #expect(!(try await desk.get("/account?two_factor_for=otra-cosa").text.contains("two-factor-required")), "only a workspace that requires it")
            let refused = try await app.request(.GET, "\(workspace.path)/conversations", token: agentToken)
            #expect(refused.status == 403 && refused.text.contains("two_factor_required"))

            // Set up: in.
            try await Self.turnOn(app, desk, csrf: csrf, user: agent, now: clock.now())
            #expect(try await desk.get("/app/\(slug)/inbox").status == 200)
            #expect(try await app.request(.GET, "\(workspace.path)/conversations", token: agentToken).status == 200)

            // Saved again without the box: no longer required.
            #expect(try await admin.post(settings, form: [("_csrf", adminCSRF), ("name", "Tienda Andina"), ("language", "es"), ("time_zone", "UTC"),
                                                          ("country_code", ""), ("two_factor_choice", "1")]).status == 303)
            #expect(try await Workspace.find(workspace.id, on: app.store.db)?.requireTwoFactor == false)
        }
    }

    @Test("knowing the password buys no more guesses at the code; a password reset still asks for the code; `next` never leaves the site")
    func guesses() async throws {
        let catcher = try await MailCatcher.start()
        defer { catcher.stop() }
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withApp(clock: clock, runJobs: true, environment: catcher.environment) { app in
            let ana = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let (desk, csrf) = try await Browser.signedIn(app, as: ana.adminID)
            try await Self.turnOn(app, desk, csrf: csrf, user: ana.adminID, now: clock.now())
            // Each round: the right password (which clears its source's failures), then four wrong codes (the fifth
            // would hold the source back). From one address its own limit ends it at 20.
            var codes: [Int] = [], passwords: [Int] = []
            for _ in 0..<6 {
                let b = Browser(app)
                let signedIn = try await AccountSecurityTests.signIn(b, "ana@example.com", AccountSecurityTests.password)
                passwords.append(signedIn)
                guard signedIn == 303, let token = Browser.csrf(in: try await b.get("/login/code")) else { continue }
                for _ in 0..<4 { codes.append(try await b.post("/login/code", form: [("_csrf", token), ("code", "000000")]).status) }
            }
            #expect(codes.count == 20 && codes.allSatisfy { $0 == 401 } && passwords.last == 429, "\(codes) \(passwords)")
            // From many browsers (each its own source), the account's count of codes ends it, password or not.
            let throttle = app.services.signIns
            for n in 0..<SignInThrottle.codesPerAccount {
                _ = try await throttle.beginCode(email: "eva@example.com", source: .device("d\(n)"), now: clock.now())
            }
            await #expect(throws: SignInThrottle.Throttled.self) {
                _ = try await throttle.beginCode(email: "eva@example.com", source: .device("fresh"), now: clock.now())
            }

            // A reset proves the mailbox, not the phone.
            clock.advance(by: 16 * 60)
            let browser = Browser(app)
            let ask = try await browser.get("/password/forgot")
            #expect(try await browser.post("/password/forgot", form: [("_csrf", try #require(Browser.csrf(in: ask))), ("email", "ana@example.com")]).status == 200)
            let mail = try #require(try await catcher.wait(for: 1).first)
            let path = try #require(PasswordResetTests.link(in: mail.mail))
            let form = try await browser.get(path)
            let saved = try await browser.post(path, form: [("_csrf", try #require(Browser.csrf(in: form))), ("password", "una clave nueva y larga")])
            #expect(saved.status == 303 && saved.headers.first(name: .location)?.hasPrefix("/login/code") == true)
            #expect(browser.cookies[SessionAuth.cookie] == nil, "no session without the code")

            for next in ["/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example", "https://evil.example", "/ /evil.example"] {
                #expect(AuthPages.safeNext(next) == nil, "\(next.debugDescription)")
            }
            #expect(AuthPages.safeNext("/app/tienda/conversations/4?view=mine") == "/app/tienda/conversations/4?view=mine")
        }
    }
}
