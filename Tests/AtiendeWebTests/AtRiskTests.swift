@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Unhappy customers: the at-risk list, what was done, trends by reason", .serialized)
struct AtRiskTests {
    @Test("an angry message, a detractor and a third contact in a week about one reason flag the customer once each; a supervisor records what was done")
    func flagged() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (supervisor, supervisorToken) = try await workspace.member(app, role: .supervisor)
            let (_, agentToken) = try await workspace.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app)
            func post(_ id: String, _ contact: String, _ text: String, thread: String? = nil) async throws {
                #expect(try await inbox.post(app, APIInbox.message(id, from: ["id": contact], text: text, thread: thread),
                                             timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            }
            try await post("a1", "c1", "Esto es pésimo, quiero hablar con alguien")
            try await post("a2", "c1", "¡Inaceptable!")
            try await post("b1", "c2", "No estoy molesto, solo quería saber del envío")
            var entries = try await AtRiskEntry.query(on: app.store.db).all()
            #expect(entries.count == 1 && entries.first?.kind == .angry && entries.first?.detail == "pesimo", "one entry per conversation and kind")

            // Three conversations about "envío" within a week.
            for n in 0..<3 {
                try await post("c\(n)", "c3", n == 0 ? "¿Dónde está mi envío?" : "¿Y mi envío?", thread: "pedido-\(n)")
                let number = try #require(try await Conversation.query(on: app.store.db).sort(\.$number, .descending).first()?.number)
                #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(number)", token: workspace.token,
                                              json: ["contact_reason": "envío", "status": "resolved"]).status == 200)
                clock.advance(by: 86_400)
            }
            entries = try await AtRiskEntry.query(on: app.store.db).filter(\.$kind == .repeatContact).all()
            #expect(entries.count == 1 && entries.first?.detail == "envío ×3" && entries.first?.reason == "envío")

            // A detractor's answer.
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/survey", token: workspace.token,
                                          json: ["kind": "nps", "once_per_days": 0]).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/2", token: workspace.token, json: ["status": "resolved"]).status == 200)
            try await OutboundTests.drain(app) { try await Survey.query(on: app.store.db).filter(\.$status == .sent).count() >= 1 }
            try await post("b2", "c2", "3 demoraron")
            let detractor = try #require(try await AtRiskEntry.query(on: app.store.db).filter(\.$kind == .detractor).first())
            #expect(detractor.detail == "NPS 3: demoraron")

            // The list, over the API and on the page; agents see neither.
            let open = try await app.request(.GET, "\(workspace.path)/at-risk", token: supervisorToken).array()
            #expect(open.count == 3)
            #expect(try await app.request(.GET, "\(workspace.path)/at-risk", token: agentToken).status == 403)
            #expect(try await app.request(.GET, "\(workspace.path)/at-risk?status=maybe", token: supervisorToken).status == 400)
            let path = "\(workspace.path)/at-risk/\(detractor.id!.uuidString)/handle"
            #expect(try await app.request(.POST, path, token: supervisorToken, json: ["action": "bribed"]).status == 400)
            clock.advance(by: 1800)
            let handled = try await app.request(.POST, path, token: supervisorToken, json: ["action": "called_back", "note": "Le devolvimos el envío"])
            #expect(handled.status == 200, "\(handled.text)")
            #expect(try await app.request(.POST, path, token: supervisorToken, json: ["action": "called_back"]).status == 409)
            let after = try #require(try await AtRiskEntry.find(detractor.id, on: app.store.db))
            #expect(after.handledBy == supervisor && after.action == .calledBack && after.handledAt.map { $0.timeIntervalSince(after.createdAt) >= 1800 } == true)
            #expect(try await app.request(.GET, "\(workspace.path)/at-risk?status=handled", token: supervisorToken).array().count == 1)

            let other = try await WorkspaceFixture.make(app, name: "Otra")
            #expect(try await app.request(.POST, "\(other.path)/at-risk/\(detractor.id!.uuidString)/handle", token: other.token,
                                          json: ["action": "fixed"]).status == 404)

            let (browser, _) = try await Browser.signedIn(app, as: supervisor)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            let page = try await browser.get("/app/\(slug)/at-risk?status=all&days=30")
            #expect(page.status == 200 && page.text.contains("Suena enojado") && page.text.contains("Se le llamó") && page.text.contains("envío ×3"))
            let trends = try await browser.get("/app/\(slug)/at-risk?format=csv&table=trends")
            #expect(trends.status == 200 && trends.text.contains("envío,"), "\(trends.text)")
        }
    }
}
