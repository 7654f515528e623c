@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("The weekly report by email, for the supervisors who ask for it", .serialized)
struct WeeklyReportTests {
    @Test("a supervisor asks on the reports page; each Monday at 08:00 the week that ended arrives, once, beside the week before, with its link")
    func mondays() async throws {
        let catcher = try await MailCatcher.start()
        defer { catcher.stop() }
        // Tuesday 24 November 2026, 10:00 UTC.
        let clock = ManualClock(ISO8601.date("2026-11-24T10:00:00Z")!)
        try await withApp(clock: clock, runJobs: true, environment: catcher.environment) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (supervisor, supervisorToken) = try await workspace.member(app, role: .supervisor)
            let (_, agentToken) = try await workspace.member(app, role: .agent)
            let path = "\(workspace.path)/reports/subscription"
            #expect(try await app.request(.PUT, path, token: agentToken, json: ["weekly": true]).status == 403)
            #expect(try await app.request(.PUT, path, token: supervisorToken, json: ["weekly": "yes"]).status == 400)
            let on = try await app.request(.PUT, path, token: supervisorToken, json: ["weekly": true])
            #expect(try on.status == 200 && on.json()["weekly"] as? Bool == true)
            // The page offers to stop it.
            let (browser, _) = try await Browser.signedIn(app, as: supervisor)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            #expect(try await browser.get("/app/\(slug)/reports").text.contains("Dejar de recibirlas"))

            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("w1", from: ["id": "c1"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"]).status == 200)

            #expect(try await WeeklyReports.scan(store: app.store) == 0, "nothing before Monday")
            clock.set(ISO8601.date("2026-11-30T08:05:00Z")!)
            #expect(try await WeeklyReports.scan(store: app.store) == 1)
            #expect(try await WeeklyReports.scan(store: app.store) == 0, "once a week")
            let mails = try await catcher.wait(for: 1)
            let mail = try #require(mails.first { $0.mail.subject.contains("Resumen semanal") })
            #expect(mail.mail.subject == "[Acme] Resumen semanal, del 2026-11-23 al 2026-11-29")
            #expect(mail.mail.text.contains("- Creadas: 1 (antes: 0)") && mail.mail.text.contains("- Resueltas: 1 (antes: 0)"), "\(mail.mail.text)")
            #expect(mail.mail.text.contains("https://desk.example/app/\(slug)/reports?period=custom&from=2026-11-23&to=2026-11-29"))
            let email = try #require(try await User.find(supervisor, on: app.store.db)?.email)
            #expect(mail.recipients == [email])

            // Stopped: the next Monday brings nothing.
            #expect(try await app.request(.PUT, path, token: supervisorToken, json: ["weekly": false]).status == 200)
            clock.set(ISO8601.date("2026-12-07T09:00:00Z")!)
            #expect(try await WeeklyReports.scan(store: app.store) == 0)
        }
    }
}
