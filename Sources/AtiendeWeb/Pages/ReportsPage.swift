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
        let workspace = desk.workspaceID
        if req.query[String.self, at: "format"] == "csv", req.query[String.self, at: "table"] == "conversations" {
            let entries = try await ConversationExport.entries(workspace: workspace, query: query, store: req.atiende.store, db: req.db)
            try await recordExport(req, workspace: desk.workspaceID, actor: desk.userID, "conversations", query)
            return csv(ConversationExport.table(entries, desk: desk, zone: query.timeZone),
                       filename: "atiende-conversations-\(query.from)-\(query.to).csv")
        }
        let report = MetricsReport(store: req.atiende.store)
        // The page's reads at once: on PostgreSQL each is a connection's work.
        async let currentRead = report.figures(workspace: workspace, period: query.period, filter: query.filter)
        async let previousRead = report.figures(workspace: workspace, period: query.period.previous, filter: query.filter)
        async let hourlyRead = report.hourly(workspace: workspace, period: query.period, metrics: [.created, .resolved, .csatAnswers, .csatSatisfied,
                                                                                                   .npsAnswers, .npsPromoters, .npsDetractors, .backlog],
                                             filter: query.filter)
        // The backlog when the period began: every change of it until then.
        async let backlogRead = report.figures(workspace: workspace, period: .init(from: Date(timeIntervalSince1970: 0), to: query.period.from),
                                               filter: query.filter, metrics: [.backlog])
        let breakdowns = try await withThrowingTaskGroup(of: (Int, String, [String: MetricsReport.Figures]).self) { group in
            for (index, key) in ["channel", "team", "agent", "reason"].enumerated() {
                group.addTask { (index, key, try await report.breakdown(workspace: workspace, period: query.period, by: dimensions[key]!, filter: query.filter)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
        }
        let (current, previous, hourly, backlogBefore) = try await (currentRead, previousRead, hourlyRead, backlogRead.count(.backlog))
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
                throw AtiendeError.invalid("table is one of " + (tables.map(\.id) + ["conversations"]).joined(separator: ", "), code: "invalid_table")
            }
            try await recordExport(req, workspace: desk.workspaceID, actor: desk.userID, table.id, query)
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
            export(csvBase: csvBase, t: t),
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

    // MARK: view

    /// A download is in the audit log: what, over which days, with which filters.
    static func recordExport(_ req: Request, workspace: UUID, actor: UUID, _ what: String, _ query: ReportQuery) async throws {
        try await AuditLog.recordExport(workspace: workspace, actor: actor, what: what, period: "\(query.from)..\(query.to)",
                                        filters: csvQuery(req).filter { !["period", "from", "to"].contains($0.0) && !$0.1.isEmpty }.map { "\($0)=\($1)" },
                                        store: req.atiende.store)
    }

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

    /// The export with a row per conversation: a download only (a period can hold thousands).
    static func export(csvBase: String, t: Localizer) -> Node<HTML.BodyContext> {
        let separator = csvBase.contains("?") ? "&" : "?"
        return .section(.class("report"), .id("report-conversations"),
            .h2(.text(t("reports.export.title"))),
            .p(.class("hint"), .text(t("reports.export.hint"))),
            .p(.a(.class("csv"), .href(csvBase + separator + "format=csv&table=conversations"), .attribute(named: "download", value: ""),
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
