@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing
import Vapor

/// The audit log: sign-ins, failed ones, tokens, exports and every configuration change, for admins only, filtered,
/// paged and downloaded; what agents see of a colleague's account events is only that they happened.
@Suite("The audit log", .serialized)
struct AuditLogTests {
    static func types(_ app: TestApp, _ workspace: UUID) async throws -> [String] {
        try await Event.query(on: app.store.db).filter(\.$workspace.$id == workspace).sort(\.$seq).all().map(\.type)
    }

    @Test("sign-ins, wrong passwords and codes, tokens and sessions are entries of every workspace of the person, with the address for admins only")
    func accountEvents() async throws {
        try await withApp { app in
            let ana = try await WorkspaceFixture.make(app, name: "Tienda", email: "ana@example.com", password: AccountSecurityTests.password)
            let other = try await WorkspaceFixture.make(app, name: "Otra", email: "eva@example.com", password: AccountSecurityTests.password)
            // Ana is also an agent of Eva's workspace.
            try await app.store.write { tx in try await Membership(workspaceID: other.id, userID: ana.adminID, role: .agent).create(on: tx.db) }

            _ = try await AccountAccessTests.signIn(app, "ana@example.com", userAgent: AccountAccessTests.firefox)
            for workspace in [ana.id, other.id] {
                let signedIn = try #require(try await Event.query(on: app.store.db).filter(\.$workspace.$id == workspace)
                    .filter(\.$type == "account.signed_in").first())
                #expect(signedIn.actorID == ana.adminID && signedIn.conversationID == nil)
                let payload = try #require(JSON.decode(RecordEventPayload.self, from: signedIn.payload))
                #expect(payload.detail == "password" && payload.address == "127.0.0.1")
            }

            // A wrong password for Ana: an entry; for an address with no account: nothing anywhere, only the throttle.
            let before = try await Event.query(on: app.store.db).count()
            for email in ["ana@example.com", "nadie@example.com"] {
                let browser = Browser(app)
                let csrf = try #require(Browser.csrf(in: try await browser.get("/login")))
                let answer = try await browser.post("/login", form: [("_csrf", csrf), ("email", email), ("password", "no es la clave")])
                #expect(answer.status == 401)
            }
            // Written just after the answer (its time must not tell that the account exists).
            var failed: [Event] = []
            for _ in 0..<100 {
                failed = try await Event.query(on: app.store.db).filter(\.$type == "account.sign_in_failed").all()
                if failed.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(failed.count == 2 && Set(failed.map(\.$workspace.id)) == [ana.id, other.id] && failed.allSatisfy { $0.actorID == ana.adminID })
            #expect(try await Event.query(on: app.store.db).count() == before + 2)

            // A token made and revoked through the account page.
            let (browser, csrf) = try await Browser.signedIn(app, as: ana.adminID)
            let made = try await browser.post("/account/tokens", form: [("_csrf", csrf), ("name", "Informe"), ("days", "30"), ("scope", "read")])
            #expect(made.status == 200)
            let token = try #require(try await APIToken.query(on: app.store.db).filter(\.$name == "Informe").first())
            #expect(try await browser.post("/account/tokens/\(try token.requireID().uuidString)/revoke", form: [("_csrf", csrf)]).status == 303)
            let own = try await Self.types(app, ana.id)
            #expect(own.contains("api_token.created") && own.contains("api_token.revoked"), "\(own)")

            // The admin reads the details; an agent's event stream says only that it happened.
            let log = try await app.request(.GET, "\(ana.path)/audit-log?category=account", token: ana.token)
            #expect(log.status == 200, "\(log.text)")
            let entries = try #require(try log.json()["data"] as? [[String: Any]])
            #expect(entries.allSatisfy { ($0["type"] as? String)?.hasPrefix("account.") == true })
            #expect(entries.contains { ($0["type"] as? String) == "account.sign_in_failed" && ($0["payload"] as? [String: Any])?["address"] as? String == "127.0.0.1" })
            #expect(entries.first?["actor_name"] as? String == "Admin")
            let (_, agentToken) = try await other.member(app, role: .agent)
            let stream = try await app.request(.GET, "\(other.path)/events?since=0", token: agentToken)
            let shown = try #require(try stream.json()["data"] as? [[String: Any]])
            let signIns = shown.filter { ($0["type"] as? String)?.hasPrefix("account.") == true }
            #expect(!signIns.isEmpty && signIns.allSatisfy { ($0["payload"] as? [String: Any])?.isEmpty == true }, "\(signIns)")
            #expect(!stream.text.contains("127.0.0.1"))
            #expect(try await app.request(.GET, "\(other.path)/audit-log", token: agentToken).status == 403)
            #expect(try await app.request(.GET, "\(other.path)/audit-log", token: ana.token).status == 403, "Ana is only an agent there")
        }
    }

    @Test("the API filters by kind, person and days, pages with before, and refuses a bad filter with its reason")
    func apiFilters() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (memberID, _) = try await workspace.member(app, role: .agent)
            for name in ["Ventas", "Soporte", "Nivel 2"] {
                #expect(try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token, json: ["name": name]).status == 201)
            }
            #expect(try await app.request(.PATCH, "\(workspace.path)/users/\(memberID.uuidString)", token: workspace.token,
                                          json: ["role": "supervisor"]).status == 200)
            // A conversation's events are not entries.
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("m-1", from: ["id": "c-1", "name": "Ana"])).status == 200)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Hola"]).status == 201)

            func page(_ query: String) async throws -> (HTTPAnswer, [[String: Any]]) {
                let answer = try await app.request(.GET, "\(workspace.path)/audit-log\(query)", token: workspace.token)
                return (answer, (try? answer.json()["data"] as? [[String: Any]]) ?? [])
            }
            let (all, entries) = try await page("")
            #expect(all.status == 200)
            let types = entries.compactMap { $0["type"] as? String }
            #expect(types.first == "inbox.created" && types.contains("member.role_changed") && types.contains("team.created"), "\(types)")
            #expect(!types.contains { $0.hasPrefix("message.") || $0.hasPrefix("conversation.") })
            let ids = entries.compactMap { $0["id"] as? Int }
            #expect(ids == ids.sorted(by: >), "newest first")

            let teams = try await page("?category=team&limit=2")
            #expect(teams.1.compactMap { $0["type"] as? String } == ["team.created", "team.created"])
            let next = try #require(try teams.0.json()["next_before"] as? Int)
            let rest = try await page("?category=team&limit=2&before=\(next)")
            let end = try rest.0.json()["next_before"]
            #expect(rest.1.count == 1 && end is NSNull)
            let payloadNames = (teams.1 + rest.1).compactMap { ($0["payload"] as? [String: Any])?["name"] as? String }
            #expect(payloadNames == ["Nivel 2", "Soporte", "Ventas"])

            let members = try await page("?actor_id=\(memberID.uuidString)")
            #expect(members.1.allSatisfy { $0["actor_id"] as? String == memberID.uuidString.lowercased() } && !members.1.isEmpty)
            let zone = TimeZone(identifier: try #require(try await Workspace.find(workspace.id, on: app.store.db)).timeZone) ?? .gmt
            let today = ReportQuery.day(Date(), in: zone)
            #expect(try await page("?from=\(today)&to=\(today)").1.count == entries.count)
            #expect(try await page("?from=2020-01-01&to=2020-01-31").1.isEmpty)

            for (query, code) in [("?category=secrets", "invalid_category"), ("?category=conversation", "invalid_category"),
                                  ("?actor_id=1%27%20OR%201=1", "invalid_actor"), ("?from=ayer", "invalid_date"),
                                  ("?from=2026-12-02&to=2026-12-01", "invalid_date"), ("?before=-1", "invalid_before"),
                                  ("?limit=5000", "invalid_limit")] {
                let (answer, _) = try await page(query)
                #expect(answer.status == 400 && answer.text.contains(code), "\(query) → \(answer.status) \(answer.text)")
            }
        }
    }

    @Test("the page shows the entries to admins, in their language, filtered and paged; its CSV holds the same and is itself an entry")
    func page() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app, name: "Tienda <b>")
            for index in 0..<55 {
                #expect(try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token, json: ["name": "Equipo <\(index)>"]).status == 201)
            }
            let (admin, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            /// The entries' table alone (the teams are in the sidebar too).
            func table(_ page: HTTPAnswer) -> String {
                guard let start = page.text.range(of: "id=\"audit-table\""), let end = page.text.range(of: "</table>", range: start.upperBound..<page.text.endIndex)
                else { return "" }
                return String(page.text[start.upperBound..<end.lowerBound])
            }
            let first = try await admin.get("/app/\(slug)/settings/audit")
            #expect(first.status == 200)
            #expect(first.text.contains("Registro de auditoría") && table(first).contains("Equipo creado"))
            #expect(table(first).contains("Equipo &lt;54&gt;") && !first.text.contains("Equipo <54>"), "names are text")
            #expect(!table(first).contains("Equipo &lt;4&gt;"), "fifty to a page")
            let older = try #require(first.text.range(of: "id=\"audit-older\" href=\"").map { first.text[$0.upperBound...].prefix { $0 != "\"" } })
            let second = try await admin.get(String(older).replacingOccurrences(of: "&amp;", with: "&"))
            #expect(table(second).contains("Equipo &lt;4&gt;") && !table(second).contains("Equipo &lt;54&gt;"))

            // A filter that cannot be read is said beside the form, over the whole log.
            let wrong = try await admin.get("/app/\(slug)/settings/audit?category=nada")
            #expect(wrong.status == 200 && wrong.text.contains("Ese tipo de entrada no existe") && table(wrong).contains("Equipo creado"))
            let english = try await admin.get("/app/\(slug)/settings/audit?category=team&lang=en")
            #expect(english.status == 200)

            let csv = try await admin.get("/app/\(slug)/settings/audit?category=team&format=csv")
            #expect(csv.status == 200 && csv.headers.first(name: .contentType)?.hasPrefix("text/csv") == true)
            let lines = csv.text.split(separator: "\r\n")
            #expect(lines.count == 56 && lines[1].contains("Equipo <54>") && lines[1].hasSuffix("team.created"), "\(lines.prefix(2))")
            let exported = try #require(try await Event.query(on: app.store.db).filter(\.$type == "report.exported").first())
            #expect(exported.actorID == workspace.adminID && exported.payload.contains("audit_log") && exported.payload.contains("category=team"))
            #expect(try await admin.get("/app/\(slug)/settings/audit?from=ayer&format=csv").status == 400)

            // Not for agents or supervisors.
            let (supervisorID, _) = try await workspace.member(app, role: .supervisor)
            let (supervisor, _) = try await Browser.signedIn(app, as: supervisorID)
            #expect(try await supervisor.get("/app/\(slug)/settings/audit").status == 403)
        }
    }

    @Test("a report's CSV and the conversations export are entries with their period and filters")
    func exports() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (admin, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            #expect(try await admin.get("/app/\(slug)/reports?period=30d&channel=email&format=csv&table=volume").status == 200)
            #expect(try await app.request(.GET, "\(workspace.path)/reports/conversations?period=7d", token: workspace.token).status == 200)
            let exports = try await Event.query(on: app.store.db).filter(\.$type == "report.exported").sort(\.$seq).all()
            let payloads = exports.compactMap { JSON.decode(RecordEventPayload.self, from: $0.payload) }
            #expect(payloads.map(\.name) == ["volume", "conversations"])
            #expect(payloads.first?.changes == ["channel=email"] && payloads.first?.detail?.contains("..") == true)
            // Reading the figures is not an export.
            #expect(try await app.request(.GET, "\(workspace.path)/reports/overview", token: workspace.token).status == 200)
            #expect(try await Event.query(on: app.store.db).filter(\.$type == "report.exported").count() == 2)
        }
    }

    @Test("details read as words in each language: a token's expiry, a former role, a channel, a changed field; unknown ones as recorded")
    func detailsInWords() {
        let es = Localizer(.es), en = Localizer(.en)
        #expect(AuditLogPage.detail("expires_in_days=30", t: es) == "caduca en 30 días")
        #expect(AuditLogPage.detail("expires_in_days=30", t: en) == "expires in 30 days")
        #expect(AuditLogPage.detail("role:agent", t: es) == "era Agente")
        #expect(AuditLogPage.detail("email", t: en) == "Email" && AuditLogPage.detail("read_only", t: es) == "solo lectura")
        #expect(AuditLogPage.detail("retention", t: es) == "conservación")
        #expect(AuditLogPage.detail("something_new", t: es) == "something_new")
    }
}
