@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing

@Suite("Handle time from the desk's presence frames, and the export with a row per conversation that adds up to the reports", .serialized)
struct HandleTimeTests {
    @Test("a stretch of work runs while the page says the agent is active in one conversation, and ends when it goes idle, elsewhere or away")
    func stretches() throws {
        let start = Date(timeIntervalSince1970: 1_796_000_000)
        let clock = ManualClock(start)
        let hub = PresenceHub(clock: { clock.now() })
        let worked = NIOLockedValueBox<[(Int, TimeInterval, TimeInterval)]>([])
        hub.onWork { _, number, _, from, to in
            worked.withLockedValue { $0.append((number, from.timeIntervalSince(start), to.timeIntervalSince(start))) }
        }
        let connection = UUID(), workspace = UUID(), agent = UUID()
        hub.join(connection, userID: agent, name: "Ana", workspaceID: workspace, socket: nil)
        func frame(_ at: TimeInterval, _ json: String) {
            clock.set(start.addingTimeInterval(at))
            hub.received(json, from: connection)
        }
        frame(0, #"{"type":"viewing","conversation":7,"active":true}"#)
        frame(30, #"{"type":"viewing","conversation":7,"active":true}"#)
        frame(41, #"{"type":"typing","conversation":7}"#)
        frame(70, #"{"type":"viewing","conversation":7,"active":true}"#)
        frame(100, #"{"type":"viewing","conversation":7,"active":false}"#)   // idle: ends 30 s after the last active frame
        frame(130, #"{"type":"viewing","conversation":7,"active":false}"#)   // still idle: nothing more
        frame(160, #"{"type":"viewing","conversation":7,"active":true}"#)    // back
        frame(175, #"{"type":"viewing","conversation":9,"active":true}"#)    // elsewhere: 7 ends now
        frame(400, #"{"type":"viewing","conversation":9,"active":true}"#)    // heartbeats stopped (a sleeping laptop) for minutes
        frame(410, #"{"type":"left"}"#)
        frame(420, #"{"type":"viewing","conversation":9}"#)                  // an older page, without `active`: active
        hub.leave(connection)
        let got = worked.withLockedValue { $0 }
        #expect(got.map(\.0) == [7, 7, 9, 9, 9])
        #expect(got.map(\.1) == [0, 160, 175, 400, 420])
        #expect(got.map(\.2) == [100, 175, 205, 410, 420])
        #expect(!got.contains { $0.2 < $0.1 })
    }

    @Test("recorded work is the reports' handle time, by agent; the export's rows add up to the overview on the page and in the API; a rebuild agrees")
    func exportAddsUp() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_796_000_000))
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (ana, anaToken) = try await workspace.member(app, role: .agent)
            let (beto, _) = try await workspace.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app)
            for i in 1...4 {
                #expect(try await inbox.post(app, APIInbox.message("m\(i)", from: ["id": "c\(i)"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
                clock.advance(by: 60)
            }
            for number in 1...3 {
                #expect(try await app.request(.POST, "\(workspace.path)/conversations/\(number)/messages", token: anaToken, json: ["text": "Hola"]).status == 201)
                clock.advance(by: 120)
            }
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                          json: ["assignee_id": ana.uuidString, "status": "resolved", "contact_reason": "envío"]).status == 200)
            let now = clock.now()
            #expect(try await HandleTime.record(workspace: workspace.id, conversation: 1, agent: ana, from: now.addingTimeInterval(-300), to: now, store: app.store))
            #expect(try await HandleTime.record(workspace: workspace.id, conversation: 1, agent: beto, from: now.addingTimeInterval(-45), to: now, store: app.store))
            #expect(try await HandleTime.record(workspace: workspace.id, conversation: 2, agent: ana, from: now.addingTimeInterval(-90), to: now, store: app.store))
            #expect(try await !HandleTime.record(workspace: workspace.id, conversation: 2, agent: ana, from: now.addingTimeInterval(-0.5), to: now, store: app.store),
                    "a glance is no work")
            #expect(try await !HandleTime.record(workspace: UUID(), conversation: 2, agent: ana, from: now.addingTimeInterval(-60), to: now, store: app.store),
                    "another workspace's conversation number is not this one")
            clock.advance(by: 60)

            let overview = try await app.request(.GET, "\(workspace.path)/reports/overview?period=today", token: workspace.token).json()
            let figures = try #require(overview["figures"] as? [String: Any])
            let handle = try #require(figures["handle"] as? [String: Any])
            #expect(handle["count"] as? Int == 3 && handle["total"] as? Double == 435)
            #expect(figures["handle_per_resolved"] as? Double == 435)
            let byAgent = try await app.request(.GET, "\(workspace.path)/reports/breakdown?by=agent&period=today", token: workspace.token).array()
            let anaRow = try #require(byAgent.first { $0["value"] as? String == ana.uuidString.lowercased() }?["figures"] as? [String: Any])
            #expect((anaRow["handle"] as? [String: Any])?["total"] as? Double == 390, "handle time is the worker's, not the assignee's")

            // The API's rows: one per conversation with something counted, adding up to the overview.
            let rows = try await app.request(.GET, "\(workspace.path)/reports/conversations?period=today", token: workspace.token).array()
            #expect(rows.compactMap { $0["number"] as? Int }.sorted() == [1, 2, 3, 4])
            for (column, figure) in [("created", figures["created"]), ("resolved", figures["resolved"]), ("replies", figures["replies"]),
                                     ("fcr", figures["fcr"]), ("first_responses", (figures["first_response"] as? [String: Any])?["count"]),
                                     ("handled", handle["count"])] {
                #expect(rows.reduce(0) { $0 + ($1[column] as? Int ?? 0) } == figure as? Int, "\(column)")
            }
            let firstResponse = try #require((figures["first_response"] as? [String: Any])?["total"] as? Double)
            #expect(abs(rows.reduce(0) { $0 + ($1["first_response_seconds"] as? Double ?? 0) } - firstResponse) < 0.001)
            let one = try #require(rows.first { $0["number"] as? Int == 1 })
            #expect(one["handle_seconds"] as? Double == 345 && one["reason"] as? String == "envío" && one["agent_id"] as? String == ana.uuidString.lowercased())
            // Filtered by agent, only that agent's changes count: Beto's 45 s are not Ana's.
            let anaRows = try await app.request(.GET, "\(workspace.path)/reports/conversations?period=today&agent_id=\(ana.uuidString)", token: workspace.token).array()
            #expect(anaRows.reduce(0.0) { $0 + ($1["handle_seconds"] as? Double ?? 0) } == 390)
            #expect(try await app.request(.GET, "\(workspace.path)/reports/conversations", token: anaToken).status == 403)

            // The page's CSV: the same rows, headers and decimals in the reader's language.
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            let page = try await browser.get("/app/\(slug)/reports?period=today")
            #expect(page.text.contains("id=\"report-conversations\"") && page.text.contains("table=conversations"))
            #expect(page.text.contains("Tiempo de gestión (trabajo de agentes)"))
            let csv = try await browser.get("/app/\(slug)/reports?period=today&format=csv&table=conversations")
            #expect(csv.status == 200 && csv.headers.first(name: .contentDisposition)?.contains("atiende-conversations-") == true)
            let lines = csv.text.split(separator: "\r\n").map(String.init)
            #expect(lines.count == 5 && lines[0].hasPrefix("Número,Id de la conversación,Inicio,Canal,Bandeja,Equipo,Agente"))
            #expect(lines[1].contains("\"345,000\""), "seconds written with a decimal comma in Spanish: \(lines[1])")
            #expect(lines[1].contains(",Resuelta,") && lines[2].contains(",Abierta,"), "a status in the reader's words: \(lines[1])")

            // Rebuilt from the events, the handle time and the per-conversation rows are the same.
            try await MetricsRebuild.run(workspace: workspace.id, store: app.store)
            let rebuilt = try await app.request(.GET, "\(workspace.path)/reports/conversations?period=today", token: workspace.token).array()
            #expect(NSArray(array: rebuilt).isEqual(to: rows), "\(rows)\n\(rebuilt)")
        }
    }

    /// The export's rows add up to the period's figures: every count, and every time's sum of seconds.
    static func exportAgrees(_ app: TestApp, workspace: UUID, period: MetricsReport.Period, filter: MetricsReport.Filter) async throws {
        let report = MetricsReport(store: app.store)
        let figures = try await report.figures(workspace: workspace, period: period, filter: filter)
        var counts: [Metric: Int64] = [:], totals: [Metric: Double] = [:]
        for (_, f) in try await report.conversations(workspace: workspace, period: period, filter: filter) {
            for (metric, n) in f.counts { counts[metric, default: 0] += n }
            for (metric, total) in f.totals { totals[metric, default: 0] += total }
        }
        #expect(counts.filter { $0.value != 0 } == figures.counts.filter { $0.value != 0 }, "\(period) \(filter)")
        for metric in Metric.allCases where metric.isTime {
            #expect(abs((totals[metric] ?? 0) - (figures.totals[metric] ?? 0)) < 0.01, "\(metric) \(period) \(filter)")
        }
    }
}
