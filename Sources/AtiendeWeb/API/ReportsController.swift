import AtiendeCore
import Fluent
import Vapor

/// What a report asks for, read alike from the page's query and the API's: a period (`period` = today, 7d, 30d, 90d,
/// or `from`/`to` as days in the workspace's time zone, `to` included) and optional filters.
struct ReportQuery: Sendable {
    var period: MetricsReport.Period
    var filter: MetricsReport.Filter
    /// The period's name as asked (`7d`), or `custom`.
    var name: String
    var timeZone: TimeZone
    var from: String
    var to: String

    static let periods = ["today", "7d", "30d", "90d", "custom"]

    static func day(_ date: Date, in zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    static func parse(_ req: Request, workspace: Workspace, now: Date) throws -> ReportQuery {
        try parse({ req.query[String.self, at: $0] }, workspace: workspace, now: now)
    }

    /// `period=custom` takes `from` and `to` (both, `to` not before `from`, at most a year); the other periods ignore them.
    static func parse(_ value: (String) -> String?, workspace: Workspace, now: Date) throws -> ReportQuery {
        let zone = TimeZone(identifier: workspace.timeZone) ?? .gmt
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let today = calendar.startOfDay(for: now)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd"
        let fromText = (value("from") ?? "").trimmingCharacters(in: .whitespaces)
        let toText = (value("to") ?? "").trimmingCharacters(in: .whitespaces)
        // A link with dates and no period (the API's older form) is a custom period.
        let name = value("period") ?? (fromText.isEmpty && toText.isEmpty ? "7d" : "custom")
        guard periods.contains(name) else {
            throw AtiendeError.invalid("period is one of today, 7d, 30d, 90d or custom (with from and to)", code: "invalid_period")
        }
        let start: Date, end: Date
        if name == "custom" {
            guard let from = formatter.date(from: fromText), let to = formatter.date(from: toText) else {
                throw AtiendeError.invalid("a custom period needs from and to, days written as 2026-12-01", code: "invalid_period_dates")
            }
            guard let after = calendar.date(byAdding: .day, value: 1, to: to), after > from, after.timeIntervalSince(from) <= 367 * 86_400 else {
                throw AtiendeError.invalid("to is on or after from, at most a year later", code: "invalid_period_order")
            }
            (start, end) = (from, after)
        } else {
            let days = name == "today" ? 1 : Int(name.dropLast()) ?? 7
            end = calendar.date(byAdding: .day, value: 1, to: today) ?? now
            start = calendar.date(byAdding: .day, value: -days, to: end) ?? now
        }
        func uuid(_ key: String) throws -> UUID? {
            guard let raw = value(key), !raw.isEmpty else { return nil }
            guard let id = UUID(uuidString: raw) else { throw AtiendeError.invalid("\(key) is not an id", code: "invalid_filter") }
            return id
        }
        var channel: ChannelKind?
        if let raw = value("channel"), !raw.isEmpty {
            guard let kind = ChannelKind(rawValue: raw) else { throw AtiendeError.invalid("channel is not a channel name", code: "invalid_filter") }
            channel = kind
        }
        let lastDay = calendar.date(byAdding: .day, value: -1, to: end) ?? start
        return ReportQuery(period: .init(from: start, to: end),
                           filter: .init(inbox: try uuid("inbox_id"), channel: channel, team: try uuid("team_id"), agent: try uuid("agent_id")),
                           name: name, timeZone: zone, from: formatter.string(from: start), to: formatter.string(from: lastDay))
    }
}

/// `GET …/reports/…`: the reports page's figures as JSON (supervisors and admins).
enum ReportsController {
    struct Time: Encodable {
        var count: Int64
        var median: Double?
        var p90: Double?
        var mean: Double?
        /// The times' sum, in seconds.
        var total: Double
    }

    struct FiguresBody: Encodable {
        var created, resolved, reopened, replies, fcr: Int64
        var resolutionRate, fcrRate, reopenRate, repliesPerResolved, derivationRate: Double?
        var derived: Int64
        var firstResponse, nextResponse, resolution: Time
        var firstResponseBusiness, nextResponseBusiness, resolutionBusiness: Time
        /// Stretches of agents' work on conversations.
        var handle: Time
        var handlePerResolved: Double?
        var csatAnswers: Int64
        var csat: Double?
        var npsAnswers, npsPromoters, npsDetractors: Int64
        var nps: Double?
        var firstResponseBreaches: Int64
        var firstResponseCompliance, nextResponseCompliance, resolutionCompliance: Double?

        enum CodingKeys: String, CodingKey {
            case created, resolved, reopened, replies, fcr, resolution, csat, nps, handle
            case handlePerResolved = "handle_per_resolved"
            case derived, derivationRate = "derivation_rate"
            case resolutionRate = "resolution_rate", fcrRate = "fcr_rate", reopenRate = "reopen_rate", repliesPerResolved = "replies_per_resolved"
            case firstResponseBusiness = "first_response_business", nextResponseBusiness = "next_response_business"
            case resolutionBusiness = "resolution_business"
            case firstResponse = "first_response", nextResponse = "next_response", csatAnswers = "csat_answers", npsAnswers = "nps_answers"
            case npsPromoters = "nps_promoters", npsDetractors = "nps_detractors", firstResponseBreaches = "first_response_breaches"
            case firstResponseCompliance = "first_response_compliance", nextResponseCompliance = "next_response_compliance"
            case resolutionCompliance = "resolution_compliance"
        }

        init(_ f: MetricsReport.Figures) {
            func time(_ metric: Metric) -> Time { Time(count: f.count(metric), median: f.median(metric), p90: f.p90(metric), mean: f.mean(metric),
                                                    total: f.totals[metric] ?? 0) }
            created = f.count(.created); resolved = f.count(.resolved); reopened = f.count(.reopened); replies = f.count(.replies); fcr = f.count(.fcr)
            derived = f.count(.derived); derivationRate = f.derivationRate
            resolutionRate = f.resolutionRate; fcrRate = f.fcrRate; reopenRate = f.reopenRate; repliesPerResolved = f.repliesPerResolved
            firstResponse = time(.firstResponse); nextResponse = time(.nextResponse); resolution = time(.resolution)
            firstResponseBusiness = time(.firstResponseBusiness); nextResponseBusiness = time(.nextResponseBusiness)
            resolutionBusiness = time(.resolutionBusiness)
            handle = time(.handle); handlePerResolved = f.handlePerResolved
            csatAnswers = f.count(.csatAnswers); csat = f.csat
            npsAnswers = f.count(.npsAnswers); npsPromoters = f.count(.npsPromoters); npsDetractors = f.count(.npsDetractors); nps = f.nps
            firstResponseBreaches = Int64(f.buckets[.slaBreaches]?[0] ?? 0); firstResponseCompliance = f.firstResponseCompliance
            nextResponseCompliance = f.nextResponseCompliance; resolutionCompliance = f.resolutionCompliance
        }
    }

    struct PeriodBody: Encodable {
        var from: Date
        var to: Date
    }

    static func query(_ req: Request) async throws -> (ReportQuery, UUID) {
        let scope = try req.scope
        guard let workspace = try await Workspace.find(scope.workspaceID, on: req.db) else { throw AtiendeError.notFound("workspace") }
        return (try ReportQuery.parse(req, workspace: workspace, now: req.atiende.store.clock.now()), scope.workspaceID)
    }

    /// `GET …/reports/overview`: the period's figures and the previous period's, to compare.
    static func overview(_ req: Request) async throws -> Response {
        let (query, workspace) = try await query(req)
        let report = MetricsReport(store: req.atiende.store)
        struct Body: Encodable {
            var period: PeriodBody
            var figures: FiguresBody
            var previousPeriod: PeriodBody
            var previous: FiguresBody
            enum CodingKeys: String, CodingKey { case period, figures, previous, previousPeriod = "previous_period" }
        }
        // Both periods at once: on PostgreSQL they are two connections' work.
        async let current = report.figures(workspace: workspace, period: query.period, filter: query.filter)
        async let previous = report.figures(workspace: workspace, period: query.period.previous, filter: query.filter)
        return try json(Body(period: .init(from: query.period.from, to: query.period.to), figures: .init(try await current),
                             previousPeriod: .init(from: query.period.previous.from, to: query.period.previous.to), previous: .init(try await previous)))
    }

    /// `GET …/reports/breakdown?by=channel|inbox|team|agent|reason`.
    static func breakdown(_ req: Request) async throws -> Response {
        let (query, workspace) = try await query(req)
        guard let raw = req.query[String.self, at: "by"], let dimension = ReportsPage.dimensions[raw] else {
            throw AtiendeError.invalid("by is one of channel, inbox, team, agent, reason", code: "invalid_dimension")
        }
        struct Row: Encodable { var value: String; var figures: FiguresBody }
        let rows = try await MetricsReport(store: req.atiende.store).breakdown(workspace: workspace, period: query.period, by: dimension, filter: query.filter)
        return try json(rows.sorted { $0.key < $1.key }.map { Row(value: $0.key, figures: .init($0.value)) })
    }

    /// `GET …/reports/conversations`: a row per conversation with what was counted of it in the period; each column
    /// adds up to the overview's figure.
    static func conversations(_ req: Request) async throws -> Response {
        let (query, workspace) = try await query(req)
        let entries = try await ConversationExport.entries(workspace: workspace, query: query, store: req.atiende.store, db: req.db)
        try await ReportsPage.recordExport(req, workspace: workspace, actor: try req.scope.userID, "conversations", query)
        return try json(ConversationExport.JSONRows(entries: entries))
    }

    struct Subscription: Codable {
        var weekly: Bool
        var mailAvailable: Bool?
        enum CodingKeys: String, CodingKey { case weekly, mailAvailable = "mail_available" }
    }

    static func subscription(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let membership = try await Membership.query(on: req.db).filter(\.$workspace.$id == scope.workspaceID).filter(\.$user.$id == scope.userID).first()
        return try json(Subscription(weekly: membership?.weeklyReport ?? false, mailAvailable: req.atiende.config.systemMail != nil))
    }

    /// `PUT …/reports/subscription`: the caller's weekly report by email, on or off (supervisors and admins).
    static func subscribe(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let body = try req.decodeJSON(Subscription.self)
        if body.weekly, req.atiende.config.systemMail == nil {
            throw AtiendeError(.conflict, code: "mail_not_configured", "this instance sends no email (ATIENDE_SMTP_URL is not set)")
        }
        try await WeeklyReports.subscribe(body.weekly, user: scope.userID, workspace: scope.workspaceID, store: req.atiende.store)
        return try await subscription(req)
    }
}
