import AtiendeCore
import Fluent
import Foundation
import Vapor

/// The reports' tables: each built once from the figures (or, for the small record tables, from their rows), so the
/// page, its chart and its CSV show the same cells; and how numbers, times and days are written in them.
extension ReportsPage {
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
            (t("reports.handle_total"), { duration($0.totals[.handle], t) }),
            (t("reports.handle_per_resolved"), { $0.handlePerResolved.map { duration($0, t) } ?? "—" }),
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
                               t("reports.fcr_rate"), t("reports.handle_total"), "CSAT %", "NPS"],
                     rows: sorted.map { value, f in
                         [name(value), String(f.count(.created)), String(f.count(.resolved)), String(f.count(.replies)),
                          duration(f.median(.firstResponse), t), duration(f.p90(.firstResponse), t), duration(f.median(.resolution), t),
                          percent(t, f.fcrRate.map { $0 * 100 }), duration(f.totals[.handle], t), percent(t, f.csat), f.nps.map { String(Int($0.rounded())) } ?? "—"]
                     })
    }
}
