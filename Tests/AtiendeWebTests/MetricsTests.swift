@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import SQLKit
import Testing

@Suite("Metrics: recorded when things happen, equal to what the raw rows say, rebuilt from the events", .serialized)
struct MetricsTests {
    /// Every rollup row, in key order, for comparing two recordings.
    static func rollups(_ app: TestApp) async throws -> [String] {
        try await app.store.sql.raw("""
            SELECT hour, metric, bucket, inbox_id, channel, team_id, agent_id, reason, count, total FROM metric_rollups
            WHERE count <> 0 ORDER BY hour, metric, bucket, channel, team_id, agent_id, reason
            """).all().map { row in
            let total = try row.decode(column: "total", as: Double.self)
            return [try row.decode(column: "hour", as: Int64.self).description, try row.decode(column: "metric", as: String.self),
                    try row.decode(column: "bucket", as: Int.self).description, try row.decode(column: "agent_id", as: String.self),
                    try row.decode(column: "reason", as: String.self), try row.decode(column: "count", as: Int64.self).description,
                    String(format: "%.3f", total)].joined(separator: " ")
        }
    }

    @Test("a hand-computed day: response and resolution times (median, p90), FCR taken back by a reopen, CSAT changed by the customer, and a rebuild that agrees")
    func handComputed() async throws {
        let start = Date(timeIntervalSince1970: 1_796_000_400)  // 10:20 UTC
        let clock = ManualClock(start)
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (ana, anaToken) = try await workspace.member(app, role: .agent)
            let (beto, betoToken) = try await workspace.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/survey", token: workspace.token,
                                          json: ["kind": "csat"]).status == 200)
            func at(_ seconds: TimeInterval) { clock.set(start.addingTimeInterval(seconds)) }
            func customer(_ id: String, _ contact: String, _ text: String = "Hola") async throws {
                #expect(try await inbox.post(app, APIInbox.message(id, from: ["id": contact], text: text),
                                             timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            }
            func reply(_ number: Int, _ token: String) async throws {
                #expect(try await app.request(.POST, "\(workspace.path)/conversations/\(number)/messages", token: token, json: ["text": "Respuesta"]).status == 201)
            }
            func resolve(_ number: Int, by agent: UUID) async throws {
                #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(number)", token: workspace.token,
                                              json: ["assignee_id": agent.uuidString, "status": "resolved"]).status == 200)
            }
            at(0); try await customer("a1", "c1")                 // #1
            at(60); try await reply(1, anaToken)                  // first response 60 s
            at(100); try await customer("b1", "c2")               // #2
            at(200); try await customer("c1m", "c3")              // #3
            at(220); try await reply(2, betoToken)                // first response 120 s
            at(300); try await resolve(2, by: beto)               // resolution 200 s, one answer: FCR
            at(600); try await customer("a2", "c1")
            at(900); try await reply(1, anaToken)                 // next response 300 s
            at(1000); try await resolve(1, by: ana)               // resolution 1000 s, two answers: no FCR
            at(1400); try await reply(3, anaToken)                // first response 1200 s
            at(1500); try await resolve(3, by: ana)               // resolution 1300 s, FCR for now
            try await OutboundTests.drain(app) { try await Survey.query(on: app.store.db).filter(\.$status == .sent).count() == 3 }
            at(1600); try await customer("a3", "c1", "5")         // CSAT 5 for Ana
            at(1700); try await customer("b2", "c2", "2 muy lento")  // CSAT 2 for Beto
            at(2000); try await customer("c2m", "c3", "Sigue fallando")  // reopens #3: its FCR is taken back
            let report = MetricsReport(store: app.store)
            let day = MetricsReport.Period(from: start.addingTimeInterval(-3600), to: start.addingTimeInterval(86_400))
            var figures = try await report.figures(workspace: workspace.id, period: day)
            #expect(figures.count(.created) == 3 && figures.count(.resolved) == 3 && figures.count(.reopened) == 1)
            #expect(figures.count(.replies) == 4 && figures.count(.fcr) == 1)
            #expect(figures.count(.firstResponse) == 3 && figures.totals[.firstResponse] == 1380)
            #expect(abs((figures.median(.firstResponse) ?? 0) - 120) <= 6, "median of 60, 120, 1200")
            #expect(abs((figures.p90(.firstResponse) ?? 0) - 1200) <= 60, "p90 of 60, 120, 1200")
            #expect(figures.mean(.nextResponse) == 300)
            #expect(abs((figures.median(.resolution) ?? 0) - 1000) <= 50, "median of 200, 1000, 1300")
            #expect(figures.fcrRate.map { abs($0 - 1.0 / 3) < 0.001 } == true && figures.reopenRate.map { abs($0 - 1.0 / 3) < 0.001 } == true)
            #expect(figures.csat == 50)
            let agents = try await report.breakdown(workspace: workspace.id, period: day, by: .agent)
            #expect(agents[ana.uuidString.lowercased()]?.count(.replies) == 3 && agents[beto.uuidString.lowercased()]?.count(.replies) == 1)
            #expect(agents[ana.uuidString.lowercased()]?.csat == 100 && agents[beto.uuidString.lowercased()]?.csat == 0)
            #expect(agents[beto.uuidString.lowercased()]?.count(.fcr) == 1 && agents[ana.uuidString.lowercased()]?.count(.fcr) == 0)

            // Beto's customer changes their mind: the answer moves, it is not counted twice.
            let survey = try #require(try await Survey.query(on: app.store.db).filter(\.$score == 2).first())
            try await app.services.surveys.answer(survey, score: 4, comment: nil, keepComment: true)
            figures = try await report.figures(workspace: workspace.id, period: day)
            #expect(figures.count(.csatAnswers) == 2 && figures.csat == 100)

            let recorded = try await Self.rollups(app)
            try await MetricsRebuild.run(workspace: workspace.id, store: app.store)
            #expect(try await Self.rollups(app) == recorded, "the rebuild from the events gives back every rollup")
            #expect(try await report.figures(workspace: workspace.id, period: day) == figures)
        }
    }

    @Test("times are also counted in the inbox's business hours: a Friday 17:00 question answered Monday 10:00 waited two open hours")
    func businessHours() throws {
        let hours = BusinessHours.weekdays(9, 18, timeZone: "America/Santiago")
        let inbox = UUID(), workspace = UUID()
        let dims = MetricDims(inbox: inbox, channel: .email, team: nil, agent: nil, reason: nil)
        let friday = try #require(ISO8601.date("2026-11-27T20:00:00Z")), monday = try #require(ISO8601.date("2026-11-30T13:00:00Z"))
        var deltas = MetricDeltas(), state = MetricRecorder.State()
        MetricRecorder.apply(.replied(dims, at: monday, waitedSince: friday, first: true, createdAt: friday), workspace: workspace, conversation: UUID(),
                             state: &state,
                             to: &deltas, hours: { $0 == inbox ? hours : nil })
        let totals = Dictionary(deltas.rows.map { ($0.key.metric, $0.value.total) }, uniquingKeysWith: +)
        #expect(totals[.firstResponse] == 3 * 86_400 - 7 * 3600 && totals[.firstResponseBusiness] == 2 * 3600)
    }

    @Test("SLA compliance per clock: answers or resolutions in time out of all of them, breaches counted by their clock")
    func compliance() {
        var figures = MetricsReport.Figures()
        for _ in 0..<8 { figures.add(.firstResponse, bucket: 10, count: 1, total: 60) }
        for _ in 0..<4 { figures.add(.nextResponse, bucket: 12, count: 1, total: 100) }
        for _ in 0..<5 { figures.add(.resolution, bucket: 20, count: 1, total: 500) }
        figures.add(.slaBreaches, bucket: 0, count: 2, total: 0)
        figures.add(.slaBreaches, bucket: 2, count: 1, total: 0)
        #expect(figures.firstResponseCompliance == 75 && figures.nextResponseCompliance == 100 && figures.resolutionCompliance == 80)
        #expect(MetricsReport.Figures().resolutionCompliance == nil, "nothing resolved: no figure rather than 100%")
    }

    @Test("a random history: every rollup equals the same figure computed from the raw rows, and the rebuild from the events equals both")
    func randomHistory() async throws {
        let start = Date(timeIntervalSince1970: 1_796_000_000)
        let clock = ManualClock(start)
        var random = SeededRandom(seed: UInt64(ProcessInfo.processInfo.environment["ATIENDE_METRICS_SEED"] ?? "") ?? 20_261_201)
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let agents = [try await workspace.member(app, role: .agent), try await workspace.member(app, role: .agent)]
            let inbox = try await workspace.apiInbox(app)
            var teams: [String] = []
            for name in ["Nivel 1", "Nivel 2"] {
                teams.append(try #require(try await app.request(.POST, "\(workspace.path)/teams", token: workspace.token, json: ["name": name]).json()["id"] as? String))
            }
            var messageID = 0
            for step in 0..<160 {
                clock.advance(by: TimeInterval(Int.random(in: 1...5400, using: &random)))
                let conversations = try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).sort(\.$number).all()
                let open = conversations.filter { $0.status == .open }
                // Now and then an agent's stretch of work, without drawing from the generator (the history stays the seed's).
                if step % 7 == 3, !conversations.isEmpty {
                    try await HandleTime.record(workspace: workspace.id, conversation: conversations[step % conversations.count].number,
                                                agent: agents[step % 2].0, from: clock.now().addingTimeInterval(-Double(30 + step)), to: clock.now(),
                                                store: app.store)
                }
                switch Int.random(in: 0..<11, using: &random) {
                case 0..<4:
                    messageID += 1
                    _ = try await inbox.post(app, APIInbox.message("r\(messageID)", from: ["id": "c\(Int.random(in: 1...12, using: &random))"],
                                                                   text: "mensaje \(messageID)"),
                                             timestamp: Int(clock.now().timeIntervalSince1970))
                case 4..<7:
                    guard let c = open.randomElement(using: &random) else { continue }
                    let agent = agents.randomElement(using: &random)!
                    #expect(try await app.request(.POST, "\(workspace.path)/conversations/\(c.number)/messages", token: agent.1,
                                                  json: ["text": "respuesta"]).status == 201)
                case 7..<9:
                    guard let c = open.randomElement(using: &random) else { continue }
                    let agent = agents.randomElement(using: &random)!
                    #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(c.number)", token: workspace.token,
                                                  json: ["assignee_id": agent.0.uuidString, "status": "resolved"]).status == 200)
                case 9:
                    guard let c = open.randomElement(using: &random) else { continue }
                    #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(c.number)", token: workspace.token,
                                                  json: ["contact_reason": ["envío", "pago", "garantía"].randomElement(using: &random)!]).status == 200)
                default:
                    guard let c = (open + conversations).randomElement(using: &random) else { continue }
                    #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(c.number)", token: workspace.token,
                                                  json: ["team_id": teams.randomElement(using: &random)!]).status == 200)
                }
            }
            let expected = try await Self.fromRawRows(app, workspace: workspace.id)
            let recorded = try await app.store.sql.raw("""
                SELECT hour, metric, bucket, CAST(SUM(count) AS BIGINT) AS n, SUM(total) AS total FROM metric_rollups
                WHERE workspace_id = \(bind: workspace.id) GROUP BY hour, metric, bucket
                """).all()
            var actual: [String: (Int64, Double)] = [:]
            for row in recorded {
                let n = try row.decode(column: "n", as: Int64.self)
                guard n != 0 else { continue }
                let key = "\(try row.decode(column: "metric", as: String.self)) h\(try row.decode(column: "hour", as: Int64.self)) b\(try row.decode(column: "bucket", as: Int.self))"
                actual[key] = (n, try row.decode(column: "total", as: Double.self))
            }
            #expect(expected.keys.sorted() == actual.keys.sorted())
            for (key, value) in expected {
                #expect(actual[key]?.0 == value.0 && abs((actual[key]?.1 ?? -1) - value.1) < 0.01, "\(key): rollup \(String(describing: actual[key])), raw rows \(value)")
            }
            #expect(expected.keys.contains { $0.hasPrefix("fcr ") } && expected.keys.contains { $0.hasPrefix("reopened ") }
                    && expected.keys.contains { $0.hasPrefix("next_response ") } && expected.keys.contains { $0.hasPrefix("derived ") }
                    && expected.keys.contains { $0.hasPrefix("handle ") },
                    "the history exercises every rule")
            let before = try await Self.rollups(app)
            try await MetricsRebuild.run(workspace: workspace.id, store: app.store)
            #expect(try await Self.rollups(app) == before)
            // The backlog summed from the beginning is the conversations active now.
            let active = try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == workspace.id)
                .filter(\.$status ~~ ConversationStatus.active).count()
            #expect(try await MetricsReport(store: app.store).figures(workspace: workspace.id, period: .init(from: Date(timeIntervalSince1970: 0),
                                                                                                                to: clock.now().addingTimeInterval(3600)))
                .count(.backlog) == Int64(active))

            // The cubes (days and months, compacted from hours that are over) give the same figures as the hours alone,
            // for any period, filter and breakdown, also after a correction lands in an hour already compacted.
            try await Self.cubesAgree(app, workspace: workspace.id, agents: agents.map(\.0), start: start, now: clock.now())
            clock.advance(by: 3600)
            #expect(try await MetricCubes.pass(store: app.store) >= 1)
            try await Self.cubesAgree(app, workspace: workspace.id, agents: agents.map(\.0), start: start, now: clock.now())
            let row = try #require(try await app.store.sql.raw("""
                SELECT number, fcr_at FROM conversations WHERE workspace_id = \(bind: workspace.id) AND fcr_at IS NOT NULL AND status = 'resolved'
                ORDER BY fcr_at DESC LIMIT 1
                """).first())
            let fcrAt = try row.decode(column: "fcr_at", as: Date.self)
            let number = try row.decode(column: "number", as: Int.self)
            let report = MetricsReport(store: app.store)
            let whole = MetricsReport.Period(from: start.addingTimeInterval(-86_400), to: clock.now().addingTimeInterval(86_400))
            let fcrBefore = try await report.figures(workspace: workspace.id, period: whole).count(.fcr)
            let watermark = try await MetricCubes.watermark(workspace.id, on: app.store.sql)
            #expect(clock.now().timeIntervalSince(fcrAt) <= MetricRecorder.fcrWindow && MetricDeltas.hour(fcrAt) < watermark)
            // Reopened within the week: the FCR counted in a compacted hour is taken back there too.
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(number)", token: workspace.token, json: ["status": "open"]).status == 200)
            #expect(try await report.figures(workspace: workspace.id, period: whole).count(.fcr) == fcrBefore - 1)
            try await Self.cubesAgree(app, workspace: workspace.id, agents: agents.map(\.0), start: start, now: clock.now())
        }
    }

    /// Figures, breakdowns and hourly counts read with the cubes and without them are the same.
    static func cubesAgree(_ app: TestApp, workspace: UUID, agents: [UUID], start: Date, now: Date) async throws {
        var withCubes = MetricsReport(store: app.store), hoursOnly = MetricsReport(store: app.store)
        withCubes.cubes = true
        hoursOnly.cubes = false
        let periods = [MetricsReport.Period(from: start.addingTimeInterval(-86_400), to: now.addingTimeInterval(86_400)),
                       MetricsReport.Period(from: start.addingTimeInterval(30_000), to: now.addingTimeInterval(-20_000)),
                       MetricsReport.Period(from: start.addingTimeInterval(86_400 + 3600 * 5), to: start.addingTimeInterval(3 * 86_400 + 3600 * 7))]
        let filters = [MetricsReport.Filter(), MetricsReport.Filter(channel: .api), MetricsReport.Filter(agent: agents[0]),
                       MetricsReport.Filter(channel: .api, agent: agents[1])]
        for period in periods {
            for filter in filters {
                #expect(try await withCubes.figures(workspace: workspace, period: period, filter: filter)
                        == hoursOnly.figures(workspace: workspace, period: period, filter: filter), "\(period) \(filter)")
            }
            for dimension in MetricsReport.Dimension.allCases {
                #expect(try await withCubes.breakdown(workspace: workspace, period: period, by: dimension)
                        == hoursOnly.breakdown(workspace: workspace, period: period, by: dimension), "\(period) by \(dimension)")
            }
            let counted: [Metric] = [.created, .resolved]
            #expect(try await withCubes.hourly(workspace: workspace, period: period, metrics: counted)
                    == hoursOnly.hourly(workspace: workspace, period: period, metrics: counted))
            for filter in filters { try await HandleTimeTests.exportAgrees(app, workspace: workspace, period: period, filter: filter) }
        }
    }

    @Test("the reports page shows the figures to supervisors (not agents), its CSV is its table, hostile reasons stay text, a bad period is a 400")
    func reportsPage() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agent, agentToken) = try await workspace.member(app, role: .agent)
            let (supervisor, _) = try await workspace.member(app, role: .supervisor)
            let inbox = try await workspace.apiInbox(app)
            for i in 1...3 {
                #expect(try await inbox.post(app, APIInbox.message("m\(i)", from: ["id": "c\(i)"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            }
            clock.advance(by: 90)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: agentToken, json: ["text": "Hola"]).status == 201)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                          json: ["assignee_id": agent.uuidString, "status": "resolved",
                                                 "contact_reason": "=HYPERLINK(\"http://x\")<script>alert(1)</script>"]).status == 200)
            let (browser, _) = try await Browser.signedIn(app, as: supervisor)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            let page = try await browser.get("/app/\(slug)/reports?period=7d")
            #expect(page.status == 200)
            #expect(page.text.contains("<svg class=\"chart\"") && page.text.contains("id=\"table-overview\""))
            #expect(!page.text.contains("<script>alert(1)"), "a contact reason is text in the page and in the chart")
            let csv = try await browser.get("/app/\(slug)/reports?period=7d&format=csv&table=overview")
            #expect(csv.status == 200 && csv.headers.first(name: .contentType)?.hasPrefix("text/csv") == true)
            let lines = csv.text.split(separator: "\r\n").map(String.init)
            #expect(lines.first == "Indicador,Este período,Período anterior")
            #expect(lines.contains("Creadas,3,0") && lines.contains("Resueltas,1,0"), "\(lines)")
            let reasons = try await browser.get("/app/\(slug)/reports?period=7d&format=csv&table=by_reason")
            #expect(reasons.text.contains("\"'=HYPERLINK(\"\"http://x\"\")<script>alert(1)</script>\""), "a formula is not a formula in a spreadsheet: \(reasons.text)")
            // A period got wrong is said on the page, which shows the last 7 days; the API refuses it.
            let wrongName = try await browser.get("/app/\(slug)/reports?period=1y")
            #expect(wrongName.status == 200 && wrongName.text.contains("Ese período no existe"))
            let backwards = try await browser.get("/app/\(slug)/reports?period=custom&from=2026-12-10&to=2026-12-01&channel=api")
            #expect(backwards.status == 200 && backwards.text.contains("Hasta debe ser igual o posterior a Desde"))
            #expect(backwards.text.contains("<option value=\"api\" selected=\"selected\">"), "the other filters are kept")
            #expect(try await browser.get("/app/\(slug)/reports?period=custom&from=2026-12-01").text.contains("necesita ambos días"))
            #expect(try await app.request(.GET, "\(workspace.path)/reports/overview?period=custom&from=2026-12-10&to=2026-12-01", token: workspace.token).status == 400)
            #expect(try await browser.get("/app/\(slug)/reports?format=csv&table=nope").status == 400)
            let (agentBrowser, _) = try await Browser.signedIn(app, as: agent)
            #expect(try await agentBrowser.get("/app/\(slug)/reports").status == 403)

            let overview = try await app.request(.GET, "\(workspace.path)/reports/overview?period=today", token: workspace.token).json()
            let figures = try #require(overview["figures"] as? [String: Any])
            #expect(figures["created"] as? Int == 3 && figures["resolved"] as? Int == 1 && figures["replies"] as? Int == 1)
            #expect(((figures["first_response"] as? [String: Any])?["mean"] as? Double) == 90)
            #expect(try await app.request(.GET, "\(workspace.path)/reports/overview", token: agentToken).status == 403)
            let byAgent = try await app.request(.GET, "\(workspace.path)/reports/breakdown?by=agent", token: workspace.token).array()
            #expect(byAgent.contains { $0["value"] as? String == agent.uuidString.lowercased() })
            #expect(try await app.request(.GET, "\(workspace.path)/reports/breakdown?by=mood", token: workspace.token).status == 400)
        }
    }

    /// The metrics of `docs/metrics.md`, computed the slow way: each conversation's messages and timeline walked in order.
    static func fromRawRows(_ app: TestApp, workspace: UUID) async throws -> [String: (Int64, Double)] {
        var result: [String: (Int64, Double)] = [:]
        func add(_ metric: Metric, _ at: Date, seconds: Double? = nil, by n: Int64 = 1) {
            let bucket = seconds.map(TimeHistogram.bucket) ?? -1
            let key = "\(metric.rawValue) h\(MetricDeltas.hour(at)) b\(bucket)"
            result[key, default: (0, 0)].0 += n
            result[key, default: (0, 0)].1 += (seconds ?? 0) * Double(n)
            if result[key]?.0 == 0 { result[key] = nil }
            // The API inbox has no business hours: its business time is its calendar time.
            if let business = metric.business { add(business, at, seconds: seconds, by: n) }
        }
        // Handle time exists only as what the desk recorded of the agents' work.
        for event in try await Event.query(on: app.store.db).filter(\.$workspace.$id == workspace).filter(\.$type == EventType.conversationWorked.rawValue).all() {
            add(.handle, event.createdAt, seconds: try #require(JSON.decode(HandleTime.Payload.self, from: event.payload)).seconds)
        }
        for c in try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == workspace).all() {
            add(.created, c.createdAt)
            add(.backlog, c.createdAt)
            let messages = try await Message.query(on: app.store.db).filter(\.$conversation.$id == c.requireID()).sort(\.$createdAt).all()
            var waiting: Date? = nil, answered = false, responses = 0, status = ConversationStatus.open
            var firstResolved: Date? = nil, fcrAt: Date? = nil, team: UUID? = nil, replied = false
            for message in messages {
                switch message.kind {
                case .incoming:
                    if status == .resolved {
                        add(.reopened, message.createdAt)
                        add(.backlog, message.createdAt)
                        if let counted = fcrAt, message.createdAt.timeIntervalSince(counted) <= 7 * 86_400 { add(.fcr, counted, by: -1) }
                        fcrAt = nil
                        status = .open
                    }
                    if waiting == nil { waiting = message.createdAt }
                case .outgoing where message.senderType == .agent:
                    add(.replies, message.createdAt)
                    replied = true
                    if let since = waiting {
                        responses += 1
                        if answered { add(.nextResponse, message.createdAt, seconds: message.createdAt.timeIntervalSince(since)) }
                        else { add(.firstResponse, message.createdAt, seconds: message.createdAt.timeIntervalSince(c.createdAt)) }
                    }
                    answered = true
                    waiting = nil
                case .activity:
                    guard let line = JSON.decode(ConversationActivity.self, from: message.text) else { continue }
                    if line.change == .team {
                        let next = line.value.flatMap(UUID.init(uuidString:))
                        if team != nil, next != nil, next != team, c.firstResponseAt.map({ $0 > message.createdAt }) ?? true, !replied {
                            add(.derived, message.createdAt)
                        }
                        team = next
                        continue
                    }
                    guard line.change == .status, line.value == "resolved" else { continue }
                    status = .resolved
                    waiting = nil
                    add(.resolved, message.createdAt)
                    add(.backlog, message.createdAt, by: -1)
                    add(.resolution, message.createdAt, seconds: message.createdAt.timeIntervalSince(c.createdAt))
                    if firstResolved == nil {
                        firstResolved = message.createdAt
                        if responses == 1 { add(.fcr, message.createdAt); fcrAt = message.createdAt }
                    }
                default:
                    continue
                }
            }
        }
        return result
    }
}

/// A small deterministic generator (SplitMix64), so a failing history can be replayed with its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
