@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("The agent workspace: sessions, CSRF, isolation, escaping, search, notifications", .serialized)
struct AgentWorkspaceTests {
    func slug(_ app: TestApp, _ workspace: WorkspaceFixture) async throws -> String {
        try await Workspace.find(workspace.id, on: app.store.db)?.slug ?? ""
    }

    @Test("every form post and cookie API call without the CSRF token is refused and changes nothing")
    func csrf() async throws {
        try await withApp { app in
            // setup
            let workspace = try await WorkspaceFixture.make(app, name: "Acme")
            let slug = try await slug(app, workspace)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("m-1", from: ["id": "c-1"])).status == 200)
            let (browser, token) = try await Browser.signedIn(app, as: workspace.adminID)

            // act + assert: forms
            let forms: [(String, [(String, String)])] = [
                ("/account", [("name", "Changed"), ("language", "en"), ("time_zone", "UTC")]),
                ("/logout", []),
                ("/app/\(slug)/settings/workspace", [("name", "Hijacked"), ("language", "en"), ("time_zone", "UTC")]),
                ("/app/\(slug)/settings/users", [("email", "evil@example.com"), ("role", "admin")]),
                ("/app/\(slug)/views", [("name", "x"), ("query", "view=mine")]),
            ]
            for (path, form) in forms {
                #expect(try await browser.post(path, form: form).status == 403, "\(path) without a token")
                #expect(try await browser.post(path, form: form + [("_csrf", "not-the-token")]).status == 403, "\(path) with a wrong token")
            }
            let admin = try #require(try await User.find(workspace.adminID, on: app.store.db))
            #expect(admin.name == "Admin" && admin.language == "es")
            #expect(try await Workspace.find(workspace.id, on: app.store.db)?.name == "Acme")
            #expect(try await app.count(Invitation.self) == 0)
            #expect(try await app.count(SavedView.self) == 0)
            #expect(try await browser.get("/app/\(slug)/inbox").status == 200, "the session survived the refused logout")

            // The API with the session cookie needs the header; a bearer token does not.
            let conversation = "\(workspace.path)/conversations/1"
            #expect(try await browser.api(.PATCH, conversation, json: ["status": "resolved"], csrf: nil).status == 403)
            #expect(try await browser.api(.PATCH, conversation, json: ["status": "resolved"], csrf: "wrong").status == 403)
            #expect(try await Conversation.query(on: app.store.db).first()?.status == .open)
            #expect(try await browser.api(.PATCH, conversation, json: ["status": "resolved"], csrf: token).status == 200)
            #expect(try await browser.api(.GET, conversation, csrf: nil).status == 200, "reads need no token")

            // With the token the same form works.
            #expect(try await browser.post("/account", form: [("_csrf", token), ("name", "Ana"), ("language", "en"), ("time_zone", "UTC")]).status == 303)
            #expect(try await User.find(workspace.adminID, on: app.store.db)?.language == "en")

            // Before signing in, the login form carries a double-submit token.
            let anonymous = Browser(app)
            #expect(try await anonymous.post("/login", form: [("email", "a@example.com"), ("password", "whatever-long")]).status == 403)
        }
    }

    @Test("another workspace's conversation, contact or page is not found")
    func isolation() async throws {
        try await withApp { app in
            let mine = try await WorkspaceFixture.make(app, name: "Mine")
            let theirs = try await WorkspaceFixture.make(app, name: "Theirs")
            let (mySlug, theirSlug) = (try await slug(app, mine), try await slug(app, theirs))
            #expect(try await mine.apiInbox(app).post(app, APIInbox.message("a", from: ["id": "x"])).status == 200)
            #expect(try await theirs.apiInbox(app).post(app, APIInbox.message("b", from: ["id": "y"])).status == 200)
            let theirContact = try #require(try await Contact.query(on: app.store.db).filter(\.$workspace.$id == theirs.id).first())
            let (browser, _) = try await Browser.signedIn(app, as: mine.adminID)

            #expect(try await browser.get("/app/\(mySlug)/conversations/1").status == 200)
            #expect(try await browser.get("/app/\(mySlug)/conversations/2").status == 404)
            #expect(try await browser.get("/app/\(theirSlug)/conversations/1").status == 404)
            #expect(try await browser.get("/app/\(theirSlug)/inbox").status == 404)
            #expect(try await browser.get("/app/\(mySlug)/contacts/\(theirContact.id!.uuidString)").status == 404)
            #expect(try await browser.get("/app/\(mySlug)/conversations/1'%20OR%201=1").status == 404)
            let page = try await browser.get("/app/\(theirSlug)/conversations/1")
            #expect(page.text.contains("<h1>") && !page.text.contains("\"y\""), "a 404 page, not their data")
            #expect(try await Browser(app).get("/app/\(mySlug)/inbox").status == 303, "signed out: sent to sign in")
        }
    }

    @Test("signing in rotates the session; a password change signs out every other browser")
    func sessions() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (userID, _) = try await workspace.member(app, role: .agent)
            let email = try #require(try await User.find(userID, on: app.store.db)).email

            func signIn(_ browser: Browser, password: String = "a long password") async throws -> HTTPAnswer {
                let form = try await browser.get("/login")
                let token = try #require(Browser.csrf(in: form))
                return try await browser.post("/login", form: [("_csrf", token), ("email", email), ("password", password)])
            }
            let browser = Browser(app)
            #expect(try await signIn(browser, password: "wrong password!").status == 401)
            #expect(browser.cookies[SessionAuth.cookie] == nil)
            #expect(try await signIn(browser).status == 303)
            let first = try #require(browser.cookies[SessionAuth.cookie])
            #expect(try await signIn(browser).status == 303)
            let second = try #require(browser.cookies[SessionAuth.cookie])
            #expect(first != second)
            #expect(try await app.services.accounts.session(token: first) == nil, "the old session died at sign-in")

            let other = Browser(app)
            #expect(try await signIn(other).status == 303)
            let account = try await browser.get("/account")
            let token = try #require(Browser.csrf(in: account))
            #expect(try await browser.post("/account/password", form: [("_csrf", token), ("current", "nope"), ("new", "another long one")]).status == 403)
            #expect(try await browser.post("/account/password", form: [("_csrf", token), ("current", "a long password"), ("new", "another long one")]).status == 303)
            #expect(try await other.get("/account").status == 303, "the other browser was signed out")
            #expect(try await browser.get("/account").status == 200, "this browser got a fresh session")
            #expect(try await signIn(Browser(app), password: "another long one").status == 303)
        }
    }

    @Test("password guessing is slowed: after 5 failures for an email, even the right password waits")
    func throttle() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (userID, _) = try await workspace.member(app, role: .agent)
            let email = try #require(try await User.find(userID, on: app.store.db)).email
            let browser = Browser(app)
            func attempt(_ password: String) async throws -> HTTPAnswer {
                let token = try #require(Browser.csrf(in: try await browser.get("/login")))
                return try await browser.post("/login", form: [("_csrf", token), ("email", email), ("password", password)])
            }
            for _ in 0..<5 { #expect(try await attempt("wrong guess!").status == 401) }
            let refused = try await attempt("a long password")
            #expect(refused.status == 429 && refused.headers.first(name: "Retry-After") != nil)
            #expect(browser.cookies[SessionAuth.cookie] == nil)
            clock.advance(by: SignInThrottle.window + 1)
            #expect(try await attempt("a long password").status == 303)
        }
    }

    @Test("customer text is shown as text: scripts, handlers and attribute breakouts are escaped")
    func escaping() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try await slug(app, workspace)
            let inbox = try await workspace.apiInbox(app)
            let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
            #expect(try await inbox.post(app, APIInbox.message("x-1", from: ["id": "evil", "name": "\"><svg onload=alert(3)>"], text: hostile)).status == 200)
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            for path in ["/app/\(slug)/conversations/1", "/app/\(slug)/inbox", "/app/\(slug)/search?q=script"] {
                let page = try await browser.get(path)
                #expect(page.status == 200)
                #expect(!page.text.contains("<script>alert") && !page.text.contains("<img src=x") && !page.text.contains("<svg onload"), "\(path)")
                #expect(page.headers.first(name: "Content-Security-Policy")?.contains("script-src 'self'") == true)
            }
            let page = try await browser.get("/app/\(slug)/conversations/1")
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        }
    }

    @Test("search ignores accents and case on both databases, and typed syntax cannot change the query")
    func search() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try await slug(app, workspace)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("s-1", from: ["id": "c-1", "name": "José Núñez"], text: "La acción de cobranza fue rápida")).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("s-2", from: ["id": "c-2", "name": "Otra"], text: "Nada que ver")).status == 200)
            let other = try await WorkspaceFixture.make(app, name: "Other")
            #expect(try await other.apiInbox(app).post(app, APIInbox.message("s-3", from: ["id": "c-1"], text: "accion ajena")).status == 200)

            let search = app.services.search
            for query in ["accion", "ACCIÓN rapida", "cobr", "acción"] {
                let results = try await search.search(query, workspace: workspace.id)
                #expect(results.messages.map(\.conversationNumber) == [1], "\(query)")
            }
            #expect(try await search.search("jose nunez", workspace: workspace.id).contacts.map(\.name) == ["José Núñez"])
            #expect(try await search.search("accion", workspace: workspace.id, filters: .init(status: .resolved)).messages.isEmpty)
            for hostile in ["\" OR 1=1 --", "accion*) OR (1", "'; DROP TABLE messages; --", "NEAR(a b)", "\"\"\""] {
                _ = try await search.search(hostile, workspace: workspace.id)
            }
            #expect(try await app.count(Message.self) == 3)

            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await browser.get("/app/\(slug)/search?q=accion%20rapida")
            #expect(page.status == 200)
            #expect(page.text.contains("<mark>acción</mark>") && page.text.contains("<mark>rápida</mark>"))
            #expect(try await browser.get("/app/\(slug)/search?q=x&status=bogus").status == 400)
        }
    }

    @Test("the inbox's views, counts and filters")
    func inbox() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try await slug(app, workspace)
            let inbox = try await workspace.apiInbox(app)
            for i in 1...4 {
                #expect(try await inbox.post(app, APIInbox.message("i-\(i)", from: ["id": "c-\(i)", "name": "Cliente \(i)"], text: "mensaje \(i)")).status == 200)
            }
            let path = "\(workspace.path)/conversations"
            #expect(try await app.request(.PATCH, "\(path)/1", token: workspace.token, json: ["assignee_id": workspace.adminID.uuidString, "labels": ["vip"]]).status == 200)
            #expect(try await app.request(.PATCH, "\(path)/2", token: workspace.token, json: ["status": "resolved"]).status == 200)

            let query = app.services.inbox
            let counts = try await query.counts(workspace: workspace.id, user: workspace.adminID)
            #expect(counts.views == [.all: 3, .mine: 1, .unassigned: 2])
            #expect(counts.inboxes[inbox.id] == 3 && counts.labels == ["vip": 1])
            var filter = InboxQuery.Filter()
            filter.view = .unassigned
            filter.sort = .oldest
            #expect(try await query.rows(workspace: workspace.id, user: workspace.adminID, filter: filter).map(\.conversation.number) == [3, 4])
            // A sort never drops rows: without service levels nothing has a deadline, and all are listed.
            for sort in [InboxQuery.Sort.slaDue, .waitingLongest] {
                filter = InboxQuery.Filter()
                filter.sort = sort
                #expect(try await query.rows(workspace: workspace.id, user: workspace.adminID, filter: filter).count == 3, "\(sort)")
            }
            filter = InboxQuery.Filter()
            filter.label = "vip"
            let rows = try await query.rows(workspace: workspace.id, user: workspace.adminID, filter: filter)
            #expect(rows.map(\.conversation.number) == [1] && rows.first?.preview == "mensaje 1" && rows.first?.contactName == "Cliente 1")

            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await browser.get("/app/\(slug)/inbox?view=mine")
            #expect(page.status == 200 && page.text.contains("Cliente 1") && !page.text.contains("Cliente 3"))
            #expect(page.text.contains(#"<span class="channel" title="API" aria-label="API" role="img"><svg"#))
            #expect(try await browser.get("/app/\(slug)/inbox?view=everything").status == 400)
            // "Any" submits an empty value, not its label: the filter bar as a browser sends it, with its defaults, works.
            #expect(page.text.contains("<option value>") && !page.text.contains("<option>\(Localizer(.es)("filter.any"))"))
            let defaults = try await browser.get("/app/\(slug)/inbox?status=active&channel=&priority=&sort=last_activity")
            #expect(defaults.status == 200 && defaults.text.contains("Cliente 3"))
            let search = try await browser.get("/app/\(slug)/search?q=mensaje&status=&channel=&inbox=")
            #expect(search.status == 200 && search.text.contains("mensaje"))
            #expect(try await browser.get("/app/\(slug)/inbox?label=x%27%20OR%201%3D1").status == 200)
        }
    }

    @Test("an empty workspace shows its admin the first steps, each checked off when done, and agents none")
    func firstRun() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try await slug(app, workspace)
            let (admin, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let empty = try await admin.get("/app/\(slug)/inbox").text
            #expect(empty.contains("Primeros pasos") && empty.contains("class=\"todo\"><a href=\"/app/\(slug)/settings/inboxes\">"))
            _ = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                      json: ["name": "Chat", "channel": "webchat"])
            let after = try await admin.get("/app/\(slug)/inbox").text
            #expect(after.contains("class=\"done\"><a href=\"/app/\(slug)/settings/inboxes\">") && after.contains("/widget/demo?inbox="))
            #expect(after.contains("class=\"todo\"><a href=\"/widget/demo?inbox="), "the widget is tried once a chat came in, not when it is created")
            let (agentID, _) = try await workspace.member(app, role: .agent)
            let (agent, _) = try await Browser.signedIn(app, as: agentID)
            #expect(!(try await agent.get("/app/\(slug)/inbox").text.contains("Primeros pasos")))
        }
    }

    @Test("a mention in a note and an assignment notify the colleague")
    func notifications() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agentID, _) = try await workspace.member(app, role: .agent)
            let agent = try #require(try await User.find(agentID, on: app.store.db))
            let handle = String(agent.email.split(separator: "@")[0])
            #expect(try await workspace.apiInbox(app).post(app, APIInbox.message("n-1", from: ["id": "c"])).status == 200)
            let path = "\(workspace.path)/conversations/1"
            #expect(try await app.request(.POST, "\(path)/messages", token: workspace.token, json: ["text": "mira esto @\(handle), por favor", "private": true]).status == 201)
            #expect(try await app.request(.POST, "\(path)/messages", token: workspace.token, json: ["text": "public @\(handle)"]).status == 201)
            #expect(try await app.request(.PATCH, path, token: workspace.token, json: ["assignee_id": agentID.uuidString]).status == 200)
            let notes = try await AgentNotification.query(on: app.store.db).filter(\.$userID == agentID).sort(\.$createdAt).all()
            #expect(notes.map(\.kind) == [.mention, .assigned])
            #expect(notes.first?.conversationNumber == 1)
            let events = try await Event.query(on: app.store.db).filter(\.$type == EventType.notificationCreated.rawValue).count()
            #expect(events == 2)
            // The composer offers the colleague (by the handle the server recognises), never oneself.
            let (admin, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await admin.get("/app/\(try await slug(app, workspace))/conversations/1").text
            let members = try #require(page.range(of: "data-members=\"").map { String(page[$0.upperBound...].prefix { $0 != "\"" }) })
            let decoded = members.replacingOccurrences(of: "&quot;", with: "\"")
            let people = try #require(try JSONSerialization.jsonObject(with: Data(decoded.utf8)) as? [[String: String]])
            #expect(people.map(\.["name"]) == [agent.name])
            let typed = "@" + (people.first?["handle"] ?? "")
            #expect(Notifications.mentionHandles("ok \(typed) mira").count == 1)
            let mentioned = try await app.store.write { tx in try await Notifications.mentionedMembers(in: typed, workspace: workspace.id, in: tx) }
            #expect(mentioned == [agentID])
            #expect(Notifications.mentionHandles("hola @Ana.Perez y correo a@b.com, @josé-") == ["ana.perez", "jose"])
        }
    }

    @Test("an invitation link works once and expires")
    func invitations() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let accounts = app.services.accounts
            let (_, token) = try await accounts.invite(email: "Nueva@Example.com", role: .agent, workspace: workspace.id, by: workspace.adminID)
            let (_, stale) = try await accounts.invite(email: "tarde@example.com", role: .agent, workspace: workspace.id, by: workspace.adminID)
            let browser = Browser(app)
            let page = try await browser.get("/invitations/\(token)")
            #expect(page.status == 200)
            let csrf = try #require(Browser.csrf(in: page))
            #expect(try await browser.post("/invitations/\(token)", form: [("_csrf", csrf), ("name", "Nueva"), ("password", "short")]).status == 400)
            #expect(try await browser.post("/invitations/\(token)", form: [("_csrf", csrf), ("name", "Nueva"), ("password", "long enough pw")]).status == 303)
            let user = try #require(try await User.query(on: app.store.db).filter(\.$email == "nueva@example.com").first())
            #expect(try await Membership.query(on: app.store.db).filter(\.$user.$id == user.id!).first()?.role == .agent)
            #expect(try await Browser(app).get("/invitations/\(token)").status == 410, "used once")
            clock.advance(by: AccountService.invitationLifetime + 1)
            #expect(try await Browser(app).get("/invitations/\(stale)").status == 410, "expired")
            await #expect(throws: AtiendeError.self, "already a member") {
                try await accounts.invite(email: "nueva@example.com", role: .agent, workspace: workspace.id, by: workspace.adminID)
            }
        }
    }

    @Test("every page renders for the roles that may see it, in both languages")
    func pages() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try await slug(app, workspace)
            #expect(try await workspace.apiInbox(app).post(app, APIInbox.message("p-1", from: ["id": "c", "name": "Rita"], text: "hola")).status == 200)
            let contact = try #require(try await Contact.query(on: app.store.db).first())
            let (agentID, _) = try await workspace.member(app, role: .agent)
            let (admin, csrf) = try await Browser.signedIn(app, as: workspace.adminID)
            let (agent, _) = try await Browser.signedIn(app, as: agentID)
            let everyone = ["/app/\(slug)/inbox", "/app/\(slug)/inbox?view=mine&sort=priority&status=any", "/app/\(slug)/conversations/1",
                            "/app/\(slug)/contacts", "/app/\(slug)/contacts?q=rita", "/app/\(slug)/contacts/\(contact.id!.uuidString.lowercased())",
                            "/app/\(slug)/search?q=hola", "/app/\(slug)/notifications", "/app/\(slug)/canned", "/app/\(slug)/macros", "/account"]
            let supervisors = ["/app/\(slug)/availability"]
            let admins = SiteURL.Settings.allCases.map { SiteURL.settings(slug, $0).path }
            for language in ["es", "en"] {
                #expect(try await admin.post("/account", form: [("_csrf", csrf), ("name", "Admin"), ("language", language), ("time_zone", "America/Santiago")]).status == 303)
                for path in everyone + admins + supervisors {
                    let page = try await admin.get(path)
                    #expect(page.status == 200, "\(path): \(page.status)")
                    #expect(page.text.contains("<html lang=\"\(language)\""), "\(path) in \(language)")
                }
            }
            for path in everyone { #expect(try await agent.get(path).status == 200, "\(path)") }
            for path in admins + supervisors { #expect(try await agent.get(path).status == 403, "\(path) is not for agents") }
            #expect(try await admin.get("/setup").status == 303, "the first-run page is gone once a workspace exists")
            #expect(try await admin.get("/assets/app.js").headers.first(name: "Content-Type")?.contains("javascript") == true)

            // A saved view keeps only the inbox's own filters.
            #expect(try await admin.post("/app/\(slug)/views", form: [("_csrf", csrf), ("name", "Urgentes"), ("query", "view=all&priority=urgent&evil=%22%3E")]).status == 303)
            let view = try #require(try await SavedView.query(on: app.store.db).first())
            #expect(view.name == "Urgentes" && view.query == "view=all&priority=urgent")
            #expect(try await admin.get("/app/\(slug)/inbox").text.contains("Urgentes"))
            let delete = "/app/\(slug)/views/\(view.id!.uuidString.lowercased())/delete"
            let (other, otherCSRF) = try await Browser.signedIn(app, as: agentID)
            #expect(try await other.post(delete, form: [("_csrf", otherCSRF)]).status == 404, "someone else's view")
            #expect(try await admin.post(delete, form: [("_csrf", csrf)]).status == 303)
            #expect(try await app.count(SavedView.self) == 0)
        }
    }

    @Test("a logged call becomes a conversation in the contact's history")
    func loggedCall() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try await slug(app, workspace)
            #expect(try await workspace.apiInbox(app).post(app, APIInbox.message("l-1", from: ["id": "c", "name": "Jorge"])).status == 200)
            let phone = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Central", "channel": "phone"])
            #expect(phone.status == 201)
            let phoneID = try #require(try phone.json()["id"] as? String)
            let contact = try #require(try await Contact.query(on: app.store.db).first())
            let (browser, csrf) = try await Browser.signedIn(app, as: workspace.adminID)
            let path = "/app/\(slug)/contacts/\(contact.id!.uuidString.lowercased())/log"
            #expect(try await browser.post(path, form: [("_csrf", csrf), ("inbox_id", phoneID), ("direction", "incoming"), ("notes", "")]).status == 400)
            let answer = try await browser.post(path, form: [("_csrf", csrf), ("inbox_id", phoneID), ("direction", "outgoing"),
                                                             ("duration_minutes", "2.5"), ("outcome", "Resuelto"), ("notes", "Llamé para confirmar"), ("resolve", "1")])
            #expect(answer.status == 303 && answer.headers.first(name: "Location") == "/app/\(slug)/conversations/2")
            let logged = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 2).first())
            #expect(logged.channel == .phone && logged.status == .resolved && logged.$contact.id == contact.id && logged.firstResponseAt != nil)
            let page = try await browser.get("/app/\(slug)/conversations/2")
            #expect(page.text.contains("Llamada saliente registrada · duración 2:30 · Resuelto"))
        }
    }
}
