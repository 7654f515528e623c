@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing
import Vapor

/// Two workspaces on one instance: what an admin of one can do to the people of the other (nothing), and how password
/// guessing is slowed at its source without locking the account's owner out.
@Suite("Accounts across workspaces", .serialized)
struct AccountSecurityTests {
    static let password = "la clave de ana 1"

    /// A workspace whose admin has a real password; returns the fixture and the admin's email.
    static func workspace(_ app: TestApp, name: String, email: String) async throws -> WorkspaceFixture {
        try await WorkspaceFixture.make(app, name: name, email: email, adminName: name + " Admin", password: password)
    }

    /// Signs in through the form; the status tells how it went (303 in, 401 wrong, 429 throttled).
    static func signIn(_ browser: Browser, _ email: String, _ password: String) async throws -> Int {
        let page = try await browser.get("/login")
        let csrf = try #require(Browser.csrf(in: page))
        return try await browser.post("/login", form: [("_csrf", csrf), ("email", email), ("password", password)]).status
    }

    static func memberships(_ app: TestApp, _ userID: UUID) async throws -> Int {
        try await Membership.query(on: app.store.db).filter(\.$user.$id == userID).count()
    }

    @Test("An invitation to someone with an account asks for no password and is accepted only by them, signed in")
    func invitationToExistingAccount() async throws {
        try await withApp { app in
            let a = try await Self.workspace(app, name: "Tienda A", email: "ana@example.com")
            let b = try await Self.workspace(app, name: "Tienda B", email: "mallory@example.com")

            // Mallory (admin of B) "adds" Ana: an invitation, and nothing of Ana's account shows.
            let added = try await app.request(.POST, "\(b.path)/users", token: b.token, json: ["email": "ana@example.com", "role": "admin"])
            #expect(added.status == 201, "\(added.text)")
            let fresh = try await app.request(.POST, "\(b.path)/users", token: b.token, json: ["email": "nadie@example.com", "role": "admin"])
            #expect(Set(try added.json().keys) == Set(try fresh.json().keys))
            #expect(try added.json()["id"] == nil && !added.text.contains(a.adminID.uuidString) && !added.text.contains("Tienda A Admin"))
            #expect(try await Self.memberships(app, a.adminID) == 1)
            let link = try #require(try added.json()["invitation_url"] as? String)
            let path = try #require(URL(string: link)?.path)

            // The link asks for no password, and no password (right or wrong) accepts it.
            let attacker = Browser(app)
            let page = try await attacker.get(path)
            #expect(page.status == 200 && !page.text.contains("type=\"password\"") && page.text.contains("/login?next="))
            let csrf = try #require(Browser.csrf(in: page))
            for guess in (0..<25).map({ "guess \($0)" }) + [Self.password] {
                let answer = try await attacker.post(path, form: [("_csrf", csrf), ("password", guess)])
                #expect(answer.status == 403, "\(answer.status)")
            }
            #expect(attacker.cookies[SessionAuth.cookie] == nil)
            #expect(try await Self.memberships(app, a.adminID) == 1)

            // Signed in as someone else, Mallory still cannot accept it.
            let (mallory, malloryCSRF) = try await Browser.signedIn(app, as: b.adminID)
            #expect(try await mallory.post(path, form: [("_csrf", malloryCSRF)]).status == 403)
            #expect(try await Self.memberships(app, a.adminID) == 1)

            // Ana, signed in, accepts with one click.
            let (ana, anaCSRF) = try await Browser.signedIn(app, as: a.adminID)
            let invitation = try await ana.get(path)
            #expect(!invitation.text.contains("type=\"password\""))
            #expect(try await ana.post(path, form: [("_csrf", anaCSRF)]).status == 303)
            #expect(try await Self.memberships(app, a.adminID) == 2)
        }
    }

    @Test("Adding a member never creates an account with a password the admin chose")
    func noAdminChosenPasswords() async throws {
        try await withApp { app in
            let b = try await Self.workspace(app, name: "Tienda B", email: "mallory@example.com")
            let withPassword = try await app.request(.POST, "\(b.path)/users", token: b.token,
                                                     json: ["email": "newhire@example.com", "role": "agent", "password": "chosen by mallory"])
            #expect(withPassword.status == 400 && withPassword.text.contains("password_not_accepted"))
            let invited = try await app.request(.POST, "\(b.path)/users", token: b.token, json: ["email": "newhire@example.com", "role": "agent"])
            #expect(invited.status == 201)
            // No account exists until the person accepts and chooses their own password.
            #expect(try await User.query(on: app.store.db).filter(\.$email == "newhire@example.com").first() == nil)
            let path = try #require(URL(string: try invited.json()["invitation_url"] as? String ?? "")?.path)
            let newcomer = Browser(app)
            newcomer.cookies["atiende_lang"] = "en"
            let page = try await newcomer.get(path)
            let csrf = try #require(Browser.csrf(in: page))
            #expect(try await newcomer.post(path, form: [("_csrf", csrf), ("name", "Nueva"), ("password", "mi propia clave 1")]).status == 303)
            let user = try #require(try await User.query(on: app.store.db).filter(\.$email == "newhire@example.com").first())
            #expect(try Bcrypt.verify("mi propia clave 1", created: user.passwordHash))
            #expect(user.language == "en", "the account speaks the language its invitation was read in")

            // Inviting someone who is already a member says so beside the form, on the people page.
            let slug = try #require(try await Workspace.find(b.id, on: app.store.db)).slug
            let (admin, csrfToken) = try await Browser.signedIn(app, as: b.adminID)
            let again = try await admin.post("/app/\(slug)/settings/users", form: [("_csrf", csrfToken), ("email", "newhire@example.com"), ("role", "agent")])
            #expect(again.status == 409 && again.text.contains("form-error") && again.text.contains("value=\"newhire@example.com\""))
        }
    }

    @Test("Parallel wrong passwords are counted before they are checked; the owner's own browser still signs in")
    func parallelGuesses() async throws {
        try await withApp { app in
            _ = try await Self.workspace(app, name: "Tienda A", email: "ana@example.com")
            _ = try await Self.workspace(app, name: "Tienda C", email: "bob@example.com")
            let owner = Browser(app)
            #expect(try await Self.signIn(owner, "ana@example.com", Self.password) == 303)
            #expect(owner.cookies[DeviceCookie.name] != nil)

            let guesses = (0..<30).map { _ in Browser(app) }
            var tokens: [String] = []
            for browser in guesses { tokens.append(try #require(Browser.csrf(in: try await browser.get("/login")))) }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for (browser, csrf) in zip(guesses, tokens) {
                    group.addTask {
                        try await browser.post("/login", form: [("_csrf", csrf), ("email", "ana@example.com"), ("password", "wrong guess")]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 401 }.count <= SignInThrottle.perSourceAndAccount, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count >= 30 - SignInThrottle.perSourceAndAccount)

            // The guessing address waits, even with the right password; Ana's own browser does not; Bob is not touched.
            #expect(try await Self.signIn(Browser(app), "ana@example.com", Self.password) == 429)
            #expect(try await Self.signIn(owner, "ana@example.com", Self.password) == 303)
            #expect(try await Self.signIn(Browser(app), "bob@example.com", Self.password) == 303)
        }
    }

    @Test("The throttle slows the failing source, never another one")
    func throttleSources() async throws {
        let throttle = SignInThrottle()
        let now = Date()
        // Password spraying from one address: 20 failures over 20 accounts, then that address waits.
        for n in 0..<SignInThrottle.perAddress { _ = try await throttle.begin(email: "user\(n)@x.com", source: .address("203.0.113.7"), now: now) }
        await #expect(throws: SignInThrottle.Throttled.self) { try await throttle.begin(email: "fresh@x.com", source: .address("203.0.113.7"), now: now) }
        // Another address, and a known browser behind the same address, go on.
        let other = try await throttle.begin(email: "user1@x.com", source: .address("198.51.100.9"), now: now)
        await throttle.succeeded(other)
        _ = try await throttle.begin(email: "user1@x.com", source: .device("d1"), now: now)
        // After the window the address may try again.
        _ = try await throttle.begin(email: "fresh@x.com", source: .address("203.0.113.7"), now: now.addingTimeInterval(SignInThrottle.window + 1))
        // An IPv6 source is its /64: one user holds all of it.
        #expect(IPAddressPrefix.v6Prefix64("2001:db8:1:2:aaaa:bbbb:cccc:1") == "2001:db8:1:2::/64")
        #expect(IPAddressPrefix.v6Prefix64("203.0.113.7") == nil)
        // A right password takes its attempt back: five successes in a row never lock anyone.
        for _ in 0..<10 { await throttle.succeeded(try await throttle.begin(email: "ok@x.com", source: .address("192.0.2.1"), now: now)) }
    }

    @Test("An unknown email takes as long to refuse as a known one")
    func timing() async throws {
        try await withApp { app in
            _ = try await Self.workspace(app, name: "Tienda A", email: "carol@example.com")
            func duration(_ email: String) async throws -> Double {
                let browser = Browser(app)
                let page = try await browser.get("/login")
                let csrf = try #require(Browser.csrf(in: page))
                let started = Date()
                _ = try await browser.post("/login", form: [("_csrf", csrf), ("email", email), ("password", "not it")])
                return Date().timeIntervalSince(started)
            }
            _ = try await duration("warmup@example.com")  // the stand-in hash is made once
            var known: [Double] = [], unknown: [Double] = []
            for _ in 0..<3 {
                known.append(try await duration("carol@example.com"))
                unknown.append(try await duration("nobody-\(UUID().uuidString.prefix(6))@example.com"))
            }
            let medianKnown = known.sorted()[1], medianUnknown = unknown.sorted()[1]
            #expect(medianUnknown > medianKnown * 0.5, "known \(known), unknown \(unknown)")
        }
    }

    @Test("The current password, when changing it, goes through the same throttle")
    func changePasswordThrottled() async throws {
        try await withApp { app in
            _ = try await Self.workspace(app, name: "Tienda A", email: "ana@example.com")
            let browser = Browser(app)
            #expect(try await Self.signIn(browser, "ana@example.com", Self.password) == 303)
            let account = try await browser.get("/account")
            let csrf = try #require(Browser.csrf(in: account))
            var statuses: [Int] = []
            for _ in 0..<(SignInThrottle.perSourceAndAccount + 1) {
                statuses.append(try await browser.post("/account/password", form: [("_csrf", csrf), ("current", "wrong one"), ("new", "otra clave nueva")]).status)
            }
            #expect(statuses.dropLast().allSatisfy { $0 == 403 } && statuses.last == 429, "\(statuses)")
        }
    }
}
