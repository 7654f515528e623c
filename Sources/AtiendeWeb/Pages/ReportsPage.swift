import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// `/app/{ws}/reports` (supervisors and admins): the period's figures beside the previous period's, volume by day and
/// by hour × weekday, response and resolution times, CSAT and NPS over time with the customers' comments, and the same
/// by channel, team, agent and contact reason. Every chart has its table under it, and every table downloads as CSV
/// (`?format=csv&table=…`) from the very rows the page shows.
enum ReportsPage {
    static let dimensions: [String: MetricsReport.Dimension] = [
        "channel": .channel, "inbox": .inbox, "team": .team, "agent": .agent, "reason": .reason,
    ]

    /// One table, as the page shows it and as its CSV gives it.
    struct Table {
        var id: String
        var title: String
        var headers: [String]
        var rows: [[String]]
    }

    static func show(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .supervisor)
        let t = desk.t
        // A period the reader got wrong is said beside the filters, over the last 7 days, the other filters kept.
        var problem: String?
        let query: ReportQuery
        do {
            query = try ReportQuery.parse(req, workspace: desk.workspace, now: req.atiende.store.clock.now())
        } catch let error as AtiendeError where error.code.hasPrefix("invalid_period") {
            problem = t("reports.error.\(error.code)")
            query = try ReportQuery.parse({ ["period", "from", "to"].contains($0) ? nil : req.query[String.self, at: $0] },
                                          workspace: desk.workspace, now: req.atiende.store.clock.now())
        }
        let report = MetricsReport(store: req.atiende.store)
        let workspace = desk.workspaceID
        let current = try await report.figures(workspace: workspace, period: query.period, filter: query.filter)
        let previous = try await report.figures(workspace: workspace, period: query.period.previous, filter: query.filter)
        let hourly = try await report.hourly(workspace: workspace, period: query.period, metrics: [.created, .resolved, .csatAnswers, .csatSatisfied,
                                                                                                    .npsAnswers, .npsPromoters, .npsDetractors, .backlog],
                                             filter: query.filter)
        // The backlog when the period began: every change of it until then.
        let backlogBefore = try await report.figures(workspace: workspace, period: .init(from: Date(timeIntervalSince1970: 0), to: query.period.from),
                                                     filter: query.filter).count(.backlog)
        var breakdowns: [(String, [String: MetricsReport.Figures])] = []
        for key in ["channel", "team", "agent", "reason"] {
            breakdowns.append((key, try await report.breakdown(workspace: workspace, period: query.period, by: dimensions[key]!, filter: query.filter)))
        }
        let comments = try await comments(req, desk: desk, query: query)

        let days = days(query)
        let daily = days.map { day in hourly.filter { dayKey($0.key, query.timeZone) == day }.values }
        func sum(_ values: Dictionary<Int64, [Metric: Int64]>.Values, _ metric: Metric) -> Int64 { values.reduce(0) { $0 + ($1[metric] ?? 0) } }
        let volume = Table(id: "volume", title: t("reports.volume"), headers: [t("reports.day"), t("reports.created"), t("reports.resolved")],
                           rows: zip(days, daily).map { [$0, String(sum($1, .created)), String(sum($1, .resolved))] })
        var running = backlogBefore
        let backlog = Table(id: "backlog", title: t("reports.backlog"), headers: [t("reports.day"), t("reports.backlog_open")],
                            rows: zip(days, daily).map { day, values in
                                running += sum(values, .backlog)
                                return [day, String(max(0, running))]
                            })
        let heat = heatmap(hourly, zone: query.timeZone)
        let weekdays = weekdayNames(t)
        let heatTable = Table(id: "hours", title: t("reports.hours"), headers: [t("reports.weekday")] + (0..<24).map { String(format: "%02d", $0) },
                              rows: weekdays.enumerated().map { [$1] + heat[$0].map(String.init) })
        let quality = Table(id: "quality", title: t("reports.quality"),
                            headers: [t("reports.day"), t("reports.csat_answers"), "CSAT %", t("reports.nps_answers"), "NPS"],
                            rows: zip(days, daily).map { day, values in
                                let csatN = sum(values, .csatAnswers), npsN = sum(values, .npsAnswers)
                                let csat = csatN > 0 ? percent(t, Double(sum(values, .csatSatisfied)) / Double(csatN) * 100) : "—"
                                let nps = npsN > 0 ? String(Int(((Double(sum(values, .npsPromoters)) - Double(sum(values, .npsDetractors))) / Double(npsN) * 100).rounded())) : "—"
                                return [day, String(csatN), csat, String(npsN), nps]
                            })
        let overview = overviewTable(t, current, previous)
        let byTables = breakdowns.map { key, rows in breakdownTable(desk, key: key, rows) }
        let commentTable = Table(id: "comments", title: t("reports.comments"),
                                 headers: [t("reports.answered"), t("reports.survey"), t("reports.score"), t("reports.comment"), t("at_risk.conversation")],
                                 rows: comments)
        let compensationTable = try await compensations(req, desk: desk, query: query)
        let winBackTable = try await winBack(req, desk: desk, query: query)
        let tables = [overview, volume, backlog, heatTable, quality] + byTables + [winBackTable, compensationTable, commentTable]

        if req.query[String.self, at: "format"] == "csv" {
            guard let name = req.query[String.self, at: "table"], let table = tables.first(where: { $0.id == name }) else {
                throw AtiendeError.invalid("table is one of " + tables.map(\.id).joined(separator: ", "), code: "invalid_table")
            }
            return csv(table, filename: "atiende-\(table.id)-\(query.from)-\(query.to).csv")
        }

        let csvBase = SiteURL.reports(desk.slug).path(query: csvQuery(req))
        let subscribed = try await Membership.query(on: req.db).filter(\.$workspace.$id == desk.workspaceID).filter(\.$user.$id == desk.userID)
            .first()?.weeklyReport ?? false
        let mails = req.atiende.config.systemMail != nil
        let content: Node<HTML.BodyContext> = .div(.class("settings reports"),
            .h1(.text(t("reports.title"))),
            filterForm(desk, query),
            .unwrap(problem) { .p(.class("form-error"), .role("alert"), .id("report-problem"), .text($0)) },
            .p(.class("hint"), .text(t("reports.period", query.from, query.to))),
            cards(t, current, previous),
            weekly(desk, subscribed: subscribed, mails: mails),
            section(overview, csvBase: csvBase, t: t),
            section(volume, chart: SVGChart.bars(title: volume.title, categories: days.map { String($0.suffix(5)) },
                                                 series: [(t("reports.created"), volume.rows.map { chartValue($0[1]) }),
                                                          (t("reports.resolved"), volume.rows.map { chartValue($0[2]) })]),
                    csvBase: csvBase, t: t),
            section(backlog, chart: SVGChart.bars(title: backlog.title, categories: days.map { String($0.suffix(5)) },
                                                  series: [(t("reports.backlog_open"), backlog.rows.map { chartValue($0[1]) })]),
                    csvBase: csvBase, t: t),
            section(heatTable, chart: SVGChart.heatmap(title: heatTable.title, rows: weekdays, columns: (0..<24).map { String(format: "%02d", $0) },
                                                       values: heat), csvBase: csvBase, t: t, matrix: true),
            section(quality, chart: SVGChart.bars(title: quality.title, categories: days.map { String($0.suffix(5)) },
                                                  series: [("CSAT %", quality.rows.map { chartValue($0[2]) }),
                                                           ("NPS", quality.rows.map { chartValue($0[4]) })]),
                    csvBase: csvBase, t: t),
            .forEach(byTables) { table in
                section(table, chart: SVGChart.bars(title: table.title, categories: table.rows.map { $0[0] },
                                                    series: [(t("reports.created"), table.rows.map { chartValue($0[1]) }),
                                                             (t("reports.resolved"), table.rows.map { chartValue($0[2]) })]),
                        csvBase: csvBase, t: t)
            },
            section(winBackTable, csvBase: csvBase, t: t),
            section(compensationTable, csvBase: csvBase, t: t),
            section(commentTable, csvBase: csvBase, t: t))
        return try await HTMLPage(html: Layout.desk(desk, title: t("reports.title"), page: "reports", content)).encodeResponse(for: req)
    }

    // MARK: data

    static func days(_ query: ReportQuery) -> [String] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = query.timeZone
        var days: [String] = []
        var day = query.period.from
        while day < query.period.to, days.count < 400 {
            days.append(ReportQuery.day(day, in: query.timeZone))
            day = calendar.date(byAdding: .day, value: 1, to: day) ?? query.period.to
        }
        return days
    }

    static func dayKey(_ hour: Int64, _ zone: TimeZone) -> String {
        ReportQuery.day(Date(timeIntervalSince1970: TimeInterval(hour) * 3600), in: zone)
    }

    /// Conversations created per weekday (Monday first) × hour, in the workspace's time zone.
    static func heatmap(_ hourly: [Int64: [Metric: Int64]], zone: TimeZone) -> [[Int64]] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var grid = Array(repeating: Array(repeating: Int64(0), count: 24), count: 7)
        for (hour, counts) in hourly {
            guard let created = counts[.created], created != 0 else { continue }
            let parts = calendar.dateComponents([.weekday, .hour], from: Date(timeIntervalSince1970: TimeInterval(hour) * 3600))
            guard let weekday = parts.weekday, let h = parts.hour else { continue }
            grid[(weekday + 5) % 7][h] += created
        }
        return grid
    }

    static func weekdayNames(_ t: Localizer) -> [String] {
        t.language == .en ? ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] : ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"]
    }

    /// The latest answers with a comment in the period (answered then), newest first.
    static func comments(_ req: Request, desk: Desk, query: ReportQuery) async throws -> [[String]] {
        var surveys = desk.scope.query(Survey.self, on: req.db).filter(\.$answeredAt >= query.period.from).filter(\.$answeredAt < query.period.to)
            .filter(\.$comment != nil)
        if let inbox = query.filter.inbox { surveys = surveys.filter(\.$inboxID == inbox) }
        if let channel = query.filter.channel { surveys = surveys.filter(\.$channel == channel) }
        if let team = query.filter.team { surveys = surveys.filter(\.$teamID == team) }
        if let agent = query.filter.agent { surveys = surveys.filter(\.$agentID == agent) }
        let found = try await surveys.sort(\.$answeredAt, .descending).limit(50).all()
        let ids = found.map(\.conversationID)
        let numbers = Dictionary(try await desk.scope.query(Conversation.self, on: req.db).filter(\.$id ~~ ids).all().map { ($0.id!, $0.number) },
                                 uniquingKeysWith: { a, _ in a })
        return found.map { survey in
            [survey.answeredAt.map(desk.format.dateTime) ?? "", survey.kind.rawValue.uppercased(),
             survey.score.map { "\($0)/\(survey.kind.scale.upperBound)" } ?? "", survey.comment ?? "",
             numbers[survey.conversationID].map { "#\($0)" } ?? ""]
        }
    }

    /// Detractors of the period (by when they first answered low) and whether they were won back: contacted (an agent
    /// wrote to them after the answer, or a supervisor recorded what was done), and answered higher later (they changed
    /// the answer, or a later survey scored more).
    static func winBack(_ req: Request, desk: Desk, query: ReportQuery) async throws -> Table {
        let t = desk.t
        var found = desk.scope.query(Survey.self, on: req.db).filter(\.$answeredAt >= query.period.from).filter(\.$answeredAt < query.period.to)
            .filter(\.$firstScore != nil)
        if let agent = query.filter.agent { found = found.filter(\.$agentID == agent) }
        if let channel = query.filter.channel { found = found.filter(\.$channel == channel) }
        let detractors = try await found.limit(5000).all().filter { $0.firstScore.map($0.kind.isDetractor) ?? false }
        let conversations = Array(Set(detractors.map(\.conversationID))), contacts = Array(Set(detractors.map(\.contactID)))
        var lastReply: [UUID: Date] = [:]
        for chunk in conversations.chunked(500) {
            for message in try await desk.scope.query(Message.self, on: req.db).filter(\.$conversation.$id ~~ chunk).filter(\.$kind == .outgoing)
                .filter(\.$senderType == .agent).field(\.$conversation.$id).field(\.$createdAt).all() {
                lastReply[message.$conversation.id] = max(lastReply[message.$conversation.id] ?? .distantPast, message.createdAt)
            }
        }
        let handled = Set(try await desk.scope.query(AtRiskEntry.self, on: req.db).filter(\.$conversationID ~~ conversations)
            .filter(\.$handledAt != nil).all().map(\.conversationID))
        var later: [UUID: [Survey]] = [:]
        for chunk in contacts.chunked(500) {
            for survey in try await desk.scope.query(Survey.self, on: req.db).filter(\.$contactID ~~ chunk).filter(\.$score != nil).all() {
                later[survey.contactID, default: []].append(survey)
            }
        }
        var rows: [[String]] = []
        for kind in Survey.Kind.allCases {
            let mine = detractors.filter { $0.kind == kind }
            guard !mine.isEmpty else { continue }
            let contacted = mine.filter { s in handled.contains(s.conversationID) || (lastReply[s.conversationID].map { $0 > (s.answeredAt ?? .distantFuture) } ?? false) }
            let higher = mine.filter { s in
                (s.score ?? 0) > (s.firstScore ?? 0) || (later[s.contactID] ?? []).contains { other in
                    other.kind == kind && other.id != s.id && (other.answeredAt ?? .distantPast) > (s.answeredAt ?? .distantFuture) && (other.score ?? 0) > (s.firstScore ?? 0)
                }
            }
            rows.append([kind.rawValue.uppercased(), String(mine.count), String(contacted.count), String(higher.count)])
        }
        return Table(id: "win_back", title: t("reports.win_back"),
                     headers: [t("reports.survey"), t("reports.detractors"), t("reports.contacted"), t("reports.answered_higher")], rows: rows)
    }

    /// Compensations asked for in the period, by who asked, what and in which unit: how many were given, for how much,
    /// and how many wait or were rejected.
    static func compensations(_ req: Request, desk: Desk, query: ReportQuery) async throws -> Table {
        let t = desk.t
        var found = desk.scope.query(Compensation.self, on: req.db).filter(\.$createdAt >= query.period.from).filter(\.$createdAt < query.period.to)
        if let agent = query.filter.agent { found = found.filter(\.$requestedBy == agent) }
        var groups: [String: (agent: String, kind: String, unit: String, given: Int, cents: Int64, pending: Int, rejected: Int)] = [:]
        for item in try await found.all() {
            let agent = desk.memberName(item.requestedBy) ?? item.requestedBy.uuidString
            let key = "\(agent)|\(item.kind.rawValue)|\(item.unit)"
            var group = groups[key] ?? (agent, t("compensation.kind.\(item.kind.rawValue)"), item.unit, 0, 0, 0, 0)
            switch item.status {
            case .granted, .approved: group.given += 1; group.cents += item.amountCents
            case .pending: group.pending += 1
            case .rejected: group.rejected += 1
            }
            groups[key] = group
        }
        return Table(id: "compensations", title: t("reports.compensations"),
                     headers: [t("reports.dimension.agent"), t("compensation.kind"), t("compensation.unit"), t("reports.given"), t("reports.total"),
                               t("reports.pending"), t("reports.rejected")],
                     rows: groups.keys.sorted().compactMap { groups[$0] }.map { g in
                         [g.agent, g.kind, g.unit, String(g.given), (g.cents % 100 == 0 ? String(g.cents / 100) : decimal(t, Double(g.cents) / 100, digits: 2)), String(g.pending), String(g.rejected)]
                     })
    }

    /// A number as the reader writes it: "91,7" in Spanish, "91.7" in English.
    static func decimal(_ t: Localizer, _ value: Double, digits: Int) -> String {
        let text = String(format: "%.\(digits)f", value)
        return t.language == .es ? text.replacingOccurrences(of: ".", with: ",") : text
    }

    static func percent(_ t: Localizer, _ value: Double?) -> String { value.map { decimal(t, $0, digits: 1) } ?? "—" }

    /// A table's cell back as a number, for its chart.
    static func chartValue(_ cell: String) -> Double { Double(cell.replacingOccurrences(of: ",", with: ".")) ?? 0 }

    static func duration(_ seconds: Double?, _ t: Localizer) -> String {
        guard let seconds else { return "—" }
        let s = Int(seconds.rounded())
        switch s {
        case ..<60: return t("reports.seconds", s)
        case ..<3600: return t("reports.minutes", s / 60)
        case ..<86_400: return t("reports.hours_minutes", s / 3600, s % 3600 / 60)
        default: return t("reports.days_hours", s / 86_400, s % 86_400 / 3600)
        }
    }

    static func overviewTable(_ t: Localizer, _ current: MetricsReport.Figures, _ previous: MetricsReport.Figures) -> Table {
        typealias F = MetricsReport.Figures
        let lines: [(String, (F) -> String)] = [
            (t("reports.created"), { String($0.count(.created)) }),
            (t("reports.resolved"), { String($0.count(.resolved)) }),
            (t("reports.reopened"), { String($0.count(.reopened)) }),
            (t("reports.resolution_rate"), { percent(t, $0.resolutionRate.map { $0 * 100 }) }),
            (t("reports.first_response_median"), { duration($0.median(.firstResponse), t) }),
            (t("reports.first_response_p90"), { duration($0.p90(.firstResponse), t) }),
            (t("reports.first_response_business"), { duration($0.median(.firstResponseBusiness), t) }),
            (t("reports.next_response_median"), { duration($0.median(.nextResponse), t) }),
            (t("reports.resolution_median"), { duration($0.median(.resolution), t) }),
            (t("reports.resolution_p90"), { duration($0.p90(.resolution), t) }),
            (t("reports.resolution_business"), { duration($0.median(.resolutionBusiness), t) }),
            (t("reports.fcr_rate"), { percent(t, $0.fcrRate.map { $0 * 100 }) }),
            (t("reports.reopen_rate"), { percent(t, $0.reopenRate.map { $0 * 100 }) }),
            (t("reports.derivation_rate"), { percent(t, $0.derivationRate.map { $0 * 100 }) }),
            (t("reports.replies_per_resolved"), { $0.repliesPerResolved.map { decimal(t, $0, digits: 2) } ?? "—" }),
            ("CSAT %", { percent(t, $0.csat) }),
            (t("reports.csat_answers"), { String($0.count(.csatAnswers)) }),
            ("NPS", { $0.nps.map { String(Int($0.rounded())) } ?? "—" }),
            (t("reports.nps_answers"), { String($0.count(.npsAnswers)) }),
            (t("reports.sla_compliance"), { percent(t, $0.firstResponseCompliance) }),
            (t("reports.sla_next_compliance"), { percent(t, $0.nextResponseCompliance) }),
            (t("reports.sla_resolution_compliance"), { percent(t, $0.resolutionCompliance) }),
        ]
        return Table(id: "overview", title: t("reports.overview"), headers: [t("reports.figure"), t("reports.this_period"), t("reports.previous_period")],
                     rows: lines.map { [$0.0, $0.1(current), $0.1(previous)] })
    }

    static func breakdownTable(_ desk: Desk, key: String, _ rows: [String: MetricsReport.Figures]) -> Table {
        let t = desk.t
        func name(_ value: String) -> String {
            guard !value.isEmpty else { return t("reports.none") }
            switch key {
            case "channel": return t("channel.\(value)")
            case "team": return desk.teams.first { $0.id?.uuidString.lowercased() == value }?.name ?? value
            case "agent": return desk.memberName(UUID(uuidString: value)) ?? value
            default: return value
            }
        }
        let sorted = rows.sorted { ($0.value.count(.created), $0.key) > ($1.value.count(.created), $1.key) }
        return Table(id: "by_\(key)", title: t("reports.by_\(key)"),
                     headers: [t("reports.dimension.\(key)"), t("reports.created"), t("reports.resolved"), t("reports.replies"),
                               t("reports.first_response_median"), t("reports.first_response_p90"), t("reports.resolution_median"),
                               t("reports.fcr_rate"), "CSAT %", "NPS"],
                     rows: sorted.map { value, f in
                         [name(value), String(f.count(.created)), String(f.count(.resolved)), String(f.count(.replies)),
                          duration(f.median(.firstResponse), t), duration(f.p90(.firstResponse), t), duration(f.median(.resolution), t),
                          percent(t, f.fcrRate.map { $0 * 100 }), percent(t, f.csat), f.nps.map { String(Int($0.rounded())) } ?? "—"]
                     })
    }

    // MARK: view

    static func csvQuery(_ req: Request) -> [(String, String)] {
        ["period", "from", "to", "channel", "inbox_id", "team_id", "agent_id"].compactMap { key in
            req.query[String.self, at: key].map { (key, $0) }
        }
    }

    static func filterForm(_ desk: Desk, _ query: ReportQuery) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .form(.class("report-filters"), .method(.get), .action(SiteURL.reports(desk.slug).path),
            .label(.span(.text(t("reports.period_label"))),
                   .dropdown(.name("period"), .forEach(ReportQuery.periods) { name in
                       .option(.value(name), .text(t("reports.period.\(name)")), .selected(name == query.name))
                   })),
            .label(.span(.text(t("reports.from"))), .field(.type(.init(rawValue: "date") ?? .text), .name("from"), .value(query.from))),
            .label(.span(.text(t("reports.to"))), .field(.type(.init(rawValue: "date") ?? .text), .name("to"), .value(query.to))),
            .label(.span(.text(t("reports.dimension.channel"))),
                   .dropdown(.name("channel"), .option(.value(""), .text(t("reports.all"))),
                             .forEach(Array(Set(desk.inboxes.map(\.channel))).sorted()) { kind in
                                 .option(.value(kind.rawValue), .text(t("channel.\(kind.rawValue)")), .selected(kind == query.filter.channel))
                             })),
            .label(.span(.text(t("reports.dimension.team"))),
                   .dropdown(.name("team_id"), .option(.value(""), .text(t("reports.all"))),
                             .forEach(desk.teams) { team in
                                 .option(.value(team.id?.uuidString.lowercased() ?? ""), .text(team.name), .selected(team.id == query.filter.team))
                             })),
            .label(.span(.text(t("reports.dimension.agent"))),
                   .dropdown(.name("agent_id"), .option(.value(""), .text(t("reports.all"))),
                             .forEach(desk.members) { member in
                                 .option(.value(member.user.id?.uuidString.lowercased() ?? ""), .text(member.user.name),
                                         .selected(member.user.id == query.filter.agent))
                             })),
            .button(.type(.submit), .class("primary"), .text(t("reports.show"))),
            .p(.class("hint"), .text(t("reports.custom_hint"))))
    }

    /// "Email me this every Monday": the supervisor's own weekly report.
    static func weekly(_ desk: Desk, subscribed: Bool, mails: Bool) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .form(.class("inline weekly-report"), .id("weekly-report"), .data("api", SettingsPages.apiBase(desk) + "/reports/subscription"),
                     .data("method", "PUT"), .data("then", "reload"),
                     .field(.type(.hidden), .name("weekly"), .value(subscribed ? "false" : "true"), .data("type", "bool-value")),
                     .span(.text(t(subscribed ? "reports.weekly_on" : "reports.weekly_off") + " ")),
                     .button(.type(.submit), .if(!mails, .attribute(named: "disabled", value: "disabled")),
                             .text(t(subscribed ? "reports.weekly_stop" : "reports.weekly_start"))),
                     .if(!mails, .span(.class("hint"), .text(" " + t("reports.weekly_no_mail")))),
                     SettingsPages.formError())
    }

    static func cards(_ t: Localizer, _ current: MetricsReport.Figures, _ previous: MetricsReport.Figures) -> Node<HTML.BodyContext> {
        let cards: [(String, String, String)] = [
            (t("reports.created"), String(current.count(.created)), String(previous.count(.created))),
            (t("reports.resolved"), String(current.count(.resolved)), String(previous.count(.resolved))),
            (t("reports.first_response_median"), duration(current.median(.firstResponse), t), duration(previous.median(.firstResponse), t)),
            (t("reports.fcr_rate"), percent(t, current.fcrRate.map { $0 * 100 }), percent(t, previous.fcrRate.map { $0 * 100 })),
            ("CSAT %", percent(t, current.csat), percent(t, previous.csat)),
            ("NPS", current.nps.map { String(Int($0.rounded())) } ?? "—", previous.nps.map { String(Int($0.rounded())) } ?? "—"),
        ]
        return .ul(.class("report-cards"), .forEach(cards) { label, now, before in
            .li(.span(.class("label"), .text(label)), .strong(.class("value"), .text(now)),
                .span(.class("hint"), .text(t("reports.before", before))))
        })
    }

    /// A chart over its table, and the table's CSV. A `matrix` (hours × weekdays) keeps its grid on a phone and scrolls
    /// sideways instead of stacking 168 cells.
    static func section(_ table: Table, chart: Node<HTML.BodyContext>? = nil, csvBase: String, t: Localizer, matrix: Bool = false) -> Node<HTML.BodyContext> {
        let separator = csvBase.contains("?") ? "&" : "?"
        return .section(.class("report"), .id("report-\(table.id)"),
            .h2(.text(table.title)),
            .unwrap(chart) { $0 },
            .div(.class("table-scroll"),
                 .table(.class(matrix ? "matrix" : "grid"), .id("table-\(table.id)"),
                        .thead(.tr(.forEach(table.headers) { .th(.text($0)) })),
                        .tbody(.forEach(table.rows) { row in
                            .tr(.forEach(Array(zip(table.headers, row))) { header, cell in .td(.data("label", header), .text(cell)) })
                        }))),
            .if(table.rows.isEmpty, .p(.class("hint"), .text(t("reports.empty")))),
            .p(.a(.class("csv"), .href(csvBase + separator + "format=csv&table=\(table.id)"), .attribute(named: "download", value: ""),
                  .text(t("reports.csv")))))
    }

    /// RFC 4180 text; a cell that a spreadsheet would read as a formula is quoted with a leading apostrophe.
    static func csv(_ table: Table, filename: String) -> Response {
        func cell(_ value: String) -> String {
            var value = value
            if let first = value.first, "=+-@\t\r".contains(first), Double(value) == nil { value = "'" + value }
            return value.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
        }
        let lines = ([table.headers] + table.rows).map { $0.map(cell).joined(separator: ",") }
        let response = Response(status: .ok, body: .init(string: lines.joined(separator: "\r\n") + "\r\n"))
        response.headers.contentType = HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(filename)\"")
        return response
    }
}
