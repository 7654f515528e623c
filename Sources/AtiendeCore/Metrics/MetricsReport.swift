import Foundation
import SQLKit

/// Reports read from the rollups: a period's figures (optionally for one inbox, channel, team or agent), the same
/// broken down by a dimension, and counts hour by hour for charts. A fixed number of indexed range reads each.
public struct MetricsReport: Sendable {
    public enum Dimension: String, Sendable, CaseIterable {
        case inbox = "inbox_id", channel, team = "team_id", agent = "agent_id", reason
    }

    public struct Period: Sendable, Equatable {
        public var from: Date
        public var to: Date
        public init(from: Date, to: Date) {
            self.from = from
            self.to = to
        }
        /// The period as long, just before this one.
        public var previous: Period { Period(from: from.addingTimeInterval(-to.timeIntervalSince(from)), to: from) }
        var hours: (Int64, Int64) { (MetricDeltas.hour(from), Int64((to.timeIntervalSince1970 / 3600).rounded(.up))) }
    }

    public struct Filter: Sendable, Equatable {
        public var inbox: UUID?
        public var channel: ChannelKind?
        public var team: UUID?
        public var agent: UUID?
        public init(inbox: UUID? = nil, channel: ChannelKind? = nil, team: UUID? = nil, agent: UUID? = nil) {
            self.inbox = inbox
            self.channel = channel
            self.team = team
            self.agent = agent
        }
    }

    /// A period's sums, and the figures they make.
    public struct Figures: Sendable, Equatable {
        public var counts: [Metric: Int64] = [:]
        public var totals: [Metric: Double] = [:]
        public var buckets: [Metric: [Int: Int]] = [:]

        public init() {}

        public func count(_ metric: Metric) -> Int64 { counts[metric] ?? 0 }

        mutating func add(_ metric: Metric, bucket: Int, count: Int64, total: Double) {
            // A row whose changes cancelled out (an answer changed) is no figure.
            guard count != 0 || total != 0 else { return }
            counts[metric, default: 0] += count
            totals[metric, default: 0] += total
            if metric.isTime || metric == .csatAnswers || metric == .npsAnswers || metric == .slaBreaches {
                buckets[metric, default: [:]][bucket, default: 0] += Int(count)
            }
        }

        /// Without the sums that came to nothing: changes read in parts (cubes, then hours) that cancel out.
        var settled: Figures {
            var copy = self
            for (metric, count) in counts where count == 0 && (totals[metric] ?? 0) == 0 {
                copy.counts[metric] = nil
                copy.totals[metric] = nil
            }
            for (metric, byBucket) in buckets {
                let kept = byBucket.filter { $0.value != 0 }
                copy.buckets[metric] = kept.isEmpty ? nil : kept
            }
            return copy
        }

        public func median(_ metric: Metric) -> Double? { TimeHistogram.quantile(0.5, of: buckets[metric] ?? [:]) }
        public func p90(_ metric: Metric) -> Double? { TimeHistogram.quantile(0.9, of: buckets[metric] ?? [:]) }
        public func mean(_ metric: Metric) -> Double? { count(metric) > 0 ? (totals[metric] ?? 0) / Double(count(metric)) : nil }

        static func ratio(_ part: Int64, _ whole: Int64) -> Double? { whole > 0 ? Double(part) / Double(whole) : nil }
        /// Resolved ÷ created.
        public var resolutionRate: Double? { Self.ratio(count(.resolved), count(.created)) }
        /// First-contact resolutions ÷ resolved.
        public var fcrRate: Double? { Self.ratio(count(.fcr), count(.resolved)) }
        /// Handed from team to team before any answer ÷ created.
        public var derivationRate: Double? { Self.ratio(count(.derived), count(.created)) }
        /// Reopened ÷ resolved.
        public var reopenRate: Double? { Self.ratio(count(.reopened), count(.resolved)) }
        /// Agent replies ÷ resolved.
        public var repliesPerResolved: Double? { count(.resolved) > 0 ? Double(count(.replies)) / Double(count(.resolved)) : nil }
        /// Seconds agents worked on conversations ÷ conversations resolved.
        public var handlePerResolved: Double? {
            count(.resolved) > 0 && count(.handle) > 0 ? (totals[.handle] ?? 0) / Double(count(.resolved)) : nil
        }
        /// % of CSAT answers that are 4 or 5.
        public var csat: Double? { Self.ratio(count(.csatSatisfied), count(.csatAnswers)).map { $0 * 100 } }
        /// % promoters − % detractors, −100…100.
        public var nps: Double? {
            let n = count(.npsAnswers)
            guard n > 0 else { return nil }
            return (Double(count(.npsPromoters)) - Double(count(.npsDetractors))) / Double(n) * 100
        }
        /// Answers (or resolutions) in time ÷ all of them: those whose deadline passed first are the breaches of that clock.
        func compliance(_ metric: Metric, clock: Int) -> Double? {
            let done = count(metric)
            guard done > 0 else { return nil }
            let breached = Int64(buckets[.slaBreaches]?[clock] ?? 0)
            return max(0, Double(done - breached)) / Double(done) * 100
        }
        public var firstResponseCompliance: Double? { compliance(.firstResponse, clock: 0) }
        public var nextResponseCompliance: Double? { compliance(.nextResponse, clock: 1) }
        public var resolutionCompliance: Double? { compliance(.resolution, clock: 2) }
    }

    let store: Store
    /// Whether whole days and months are read from the cubes (tests compare both ways).
    var cubes = true
    public init(store: Store) { self.store = store }

    /// Where a period's sums come from: whole compacted months and days from the cubes, the rest (a period's first and
    /// last hours, and the hours not compacted yet) from the hourly rollups.
    struct Plan {
        /// Hours not compacted yet: from the rollups.
        var hours: [(Int64, Int64)] = []
        /// Compacted hours outside whole days, whole days outside whole months, whole months: from the cubes.
        var cubeHours: [(Int64, Int64)] = []
        var days: [(Int64, Int64)] = []
        var months: [(Int64, Int64)] = []
    }

    static func plan(_ period: Period, watermark: Int64, cubes: Bool) -> Plan {
        var plan = Plan()
        let (first, end) = period.hours
        guard first < end else { return plan }
        let compacted = cubes ? max(first, min(end, watermark)) : first
        if compacted < end { plan.hours = [(compacted, end)] }
        guard first < compacted else { return plan }
        // Whole UTC days inside the compacted part; the compacted hours around them from the hour cubes.
        let dayStart = (first + 23) / 24, dayEnd = compacted / 24
        guard dayStart < dayEnd else { plan.cubeHours = [(first, compacted)]; return plan }
        plan.cubeHours = [(first, dayStart * 24), (dayEnd * 24, compacted)].filter { $0.0 < $0.1 }
        var day = dayStart
        while day < dayEnd {
            let month = MetricCubes.month(ofDay: day)
            let (monthStart, monthEnd) = MetricCubes.days(ofMonth: month)
            // Adjacent ranges are one: a period since 1970 is a handful of reads, not one per month.
            if monthStart == day && monthEnd <= dayEnd {
                if let last = plan.months.last, last.1 == month { plan.months[plan.months.count - 1].1 = month + 1 }
                else { plan.months.append((month, month + 1)) }
                day = monthEnd
            } else {
                let stop = min(monthEnd, dayEnd)
                if let last = plan.days.last, last.1 == day { plan.days[plan.days.count - 1].1 = stop }
                else { plan.days.append((day, stop)) }
                day = stop
            }
        }
        return plan
    }

    /// The one dimension a filter names, when it names at most one (cubes hold one dimension at a time).
    static func cubeFilter(_ filter: Filter) -> (dim: String, value: String)?? {
        var named: [(String, String)] = []
        if let inbox = filter.inbox { named.append(("inbox", inbox.uuidString.lowercased())) }
        if let channel = filter.channel { named.append(("channel", channel.rawValue)) }
        if let team = filter.team { named.append(("team", team.uuidString.lowercased())) }
        if let agent = filter.agent { named.append(("agent", agent.uuidString.lowercased())) }
        switch named.count {
        case 0: return .some(nil)
        case 1: return .some((named[0].0, named[0].1))
        default: return nil
        }
    }

    /// The parts' rows as one (nil: no parts).
    static func unionAll(_ parts: [SQLQueryString]) -> SQLQueryString? {
        guard let first = parts.first else { return nil }
        return parts.dropFirst().reduce(first) { $0 + " UNION ALL " + $1 }
    }

    func conditions(_ workspace: UUID, hours: (Int64, Int64), _ filter: Filter) -> SQLQueryString {
        var sql: SQLQueryString = "workspace_id = \(bind: workspace) AND hour >= \(bind: hours.0) AND hour < \(bind: hours.1)"
        if let inbox = filter.inbox { sql = sql + " AND inbox_id = \(bind: inbox.uuidString.lowercased())" }
        if let channel = filter.channel { sql = sql + " AND channel = \(bind: channel.rawValue)" }
        if let team = filter.team { sql = sql + " AND team_id = \(bind: team.uuidString.lowercased())" }
        if let agent = filter.agent { sql = sql + " AND agent_id = \(bind: agent.uuidString.lowercased())" }
        return sql
    }

    /// Rows of (value, metric, bucket, n, total) for a period, grouped by `dimension` (nil: not grouped).
    private func rows(workspace: UUID, period: Period, filter: Filter, by dimension: Dimension?, metrics: [Metric]? = nil)
        async throws -> [(value: String, metric: Metric, bucket: Int, count: Int64, total: Double)] {
        // Cubes hold one dimension at a time: a breakdown with a filter on another dimension (or two filters) reads
        // the hourly rollups only.
        var cubeDim = "", cubeValue: String?, usable = true
        switch (Self.cubeFilter(filter), dimension) {
        case (.some(.none), nil): break
        case (.some(.some(let named)), nil): (cubeDim, cubeValue) = (named.dim, named.value)
        case (.some(.none), let by?): cubeDim = by.cubeName
        case (.some(.some(let named)), let by?) where named.dim == by.cubeName: (cubeDim, cubeValue) = (named.dim, named.value)
        default: usable = false
        }
        let watermark = usable && cubes ? try await MetricCubes.watermark(workspace, on: store.sql) : 0
        let plan = Self.plan(period, watermark: watermark, cubes: usable && cubes)
        let metricFilter: SQLQueryString = metrics.map { " AND metric IN (\(IngestBatch.list($0.map(\.rawValue))))" } ?? ""
        // One query: each part's rows (the rollups' hours, the cubes' hours, days and months) summed together.
        var parts: [SQLQueryString] = []
        let valueColumn = dimension.map(\.rawValue) ?? "''"
        for range in plan.hours {
            parts.append("""
                SELECT \(unsafeRaw: valueColumn) AS value, metric, bucket, count, total FROM metric_rollups
                WHERE \(conditions(workspace, hours: range, filter))\(metricFilter)
                """)
        }
        for (grain, ranges) in [("h", plan.cubeHours), ("d", plan.days), ("m", plan.months)] {
            for range in ranges {
                var sql: SQLQueryString = """
                    SELECT value, metric, bucket, count, total FROM metric_cubes
                    WHERE workspace_id = \(bind: workspace) AND grain = \(bind: grain) AND dim = \(bind: cubeDim)
                      AND period >= \(bind: range.0) AND period < \(bind: range.1)
                    """
                if let cubeValue { sql = sql + " AND value = \(bind: cubeValue)" }
                parts.append(sql + metricFilter)
            }
        }
        guard let union = Self.unionAll(parts) else { return [] }
        var result: [(value: String, metric: Metric, bucket: Int, count: Int64, total: Double)] = []
        for row in try await store.sql.raw("SELECT value, metric, bucket, CAST(SUM(count) AS BIGINT) AS n, SUM(total) AS total FROM ("
                                           + union + ") AS part GROUP BY value, metric, bucket").all() {
            guard let metric = Metric(rawValue: try row.decode(column: "metric", as: String.self)) else { continue }
            result.append((try row.decode(column: "value", as: String.self), metric, try row.decode(column: "bucket", as: Int.self),
                           try row.decode(column: "n", as: Int64.self), try row.decode(column: "total", as: Double.self)))
        }
        return result
    }

    /// The period's figures; `metrics` reads only those.
    public func figures(workspace: UUID, period: Period, filter: Filter = Filter(), metrics: [Metric]? = nil) async throws -> Figures {
        var figures = Figures()
        for row in try await rows(workspace: workspace, period: period, filter: filter, by: nil, metrics: metrics) {
            figures.add(row.metric, bucket: row.bucket, count: row.count, total: row.total)
        }
        return figures.settled
    }

    /// The period's figures per value of a dimension ("" is none: no team, no agent, no reason).
    public func breakdown(workspace: UUID, period: Period, by dimension: Dimension, filter: Filter = Filter()) async throws -> [String: Figures] {
        var result: [String: Figures] = [:]
        for row in try await rows(workspace: workspace, period: period, filter: filter, by: dimension) {
            result[row.value, default: Figures()].add(row.metric, bucket: row.bucket, count: row.count, total: row.total)
        }
        return result.mapValues(\.settled).filter { !$0.value.counts.isEmpty }
    }

    /// Counts of some metrics hour by hour (hours since 1970), for charts and the hour × weekday heatmap: from the
    /// cubes' hours of the day for compacted days, else from the rollups.
    public func hourly(workspace: UUID, period: Period, metrics: [Metric], filter: Filter = Filter()) async throws -> [Int64: [Metric: Int64]] {
        let usable = cubes && (Self.cubeFilter(filter).map { $0 == nil } ?? false) && metrics.allSatisfy(MetricCubes.hourMetrics.contains)
        let watermark = usable ? try await MetricCubes.watermark(workspace, on: store.sql) : 0
        let plan = Self.plan(period, watermark: watermark, cubes: usable)
        // One query: the rollups' hours, the hour cubes, and the days' hours of the day.
        let list = IngestBatch.list(metrics.map(\.rawValue))
        var parts: [SQLQueryString] = plan.hours.map { range in
            "SELECT hour, metric, count FROM metric_rollups WHERE \(conditions(workspace, hours: range, filter)) AND metric IN (\(list))"
        }
        for range in plan.cubeHours {
            parts.append("""
                SELECT period AS hour, metric, count FROM metric_cubes
                WHERE workspace_id = \(bind: workspace) AND grain = 'h' AND dim = '' AND period >= \(bind: range.0) AND period < \(bind: range.1)
                  AND metric IN (\(list))
                """)
        }
        for range in plan.days + plan.months.map({ (MetricCubes.days(ofMonth: $0.0).0, MetricCubes.days(ofMonth: $0.1 - 1).1) }) {
            parts.append("""
                SELECT period * 24 + CAST(value AS BIGINT) AS hour, metric, count FROM metric_cubes
                WHERE workspace_id = \(bind: workspace) AND grain = 'd' AND dim = 'hour' AND period >= \(bind: range.0) AND period < \(bind: range.1)
                  AND metric IN (\(list))
                """)
        }
        var result: [Int64: [Metric: Int64]] = [:]
        guard let union = Self.unionAll(parts) else { return result }
        for row in try await store.sql.raw("SELECT hour, metric, CAST(SUM(count) AS BIGINT) AS n FROM (" + union + ") AS part GROUP BY hour, metric").all() {
            guard let metric = Metric(rawValue: try row.decode(column: "metric", as: String.self)) else { continue }
            result[try row.decode(column: "hour", as: Int64.self), default: [:]][metric, default: 0] += try row.decode(column: "n", as: Int64.self)
        }
        return result
    }
}

extension MetricsReport.Dimension {
    /// The dimension's name in the cubes.
    var cubeName: String {
        switch self {
        case .inbox: "inbox"
        case .channel: "channel"
        case .team: "team"
        case .agent: "agent"
        case .reason: "reason"
        }
    }
}
