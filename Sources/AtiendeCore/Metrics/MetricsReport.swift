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

        public func median(_ metric: Metric) -> Double? { TimeHistogram.quantile(0.5, of: buckets[metric] ?? [:]) }
        public func p90(_ metric: Metric) -> Double? { TimeHistogram.quantile(0.9, of: buckets[metric] ?? [:]) }
        public func mean(_ metric: Metric) -> Double? { count(metric) > 0 ? (totals[metric] ?? 0) / Double(count(metric)) : nil }

        static func ratio(_ part: Int64, _ whole: Int64) -> Double? { whole > 0 ? Double(part) / Double(whole) : nil }
        /// Resolved ÷ created.
        public var resolutionRate: Double? { Self.ratio(count(.resolved), count(.created)) }
        /// First-contact resolutions ÷ resolved.
        public var fcrRate: Double? { Self.ratio(count(.fcr), count(.resolved)) }
        /// Reopened ÷ resolved.
        public var reopenRate: Double? { Self.ratio(count(.reopened), count(.resolved)) }
        /// Agent replies ÷ resolved.
        public var repliesPerResolved: Double? { count(.resolved) > 0 ? Double(count(.replies)) / Double(count(.resolved)) : nil }
        /// % of CSAT answers that are 4 or 5.
        public var csat: Double? { Self.ratio(count(.csatSatisfied), count(.csatAnswers)).map { $0 * 100 } }
        /// % promoters − % detractors, −100…100.
        public var nps: Double? {
            let n = count(.npsAnswers)
            guard n > 0 else { return nil }
            return (Double(count(.npsPromoters)) - Double(count(.npsDetractors))) / Double(n) * 100
        }
        /// First responses in time ÷ first responses: those whose deadline passed first are the breaches of that clock.
        public var firstResponseCompliance: Double? {
            let answered = count(.firstResponse)
            guard answered > 0 else { return nil }
            let breached = Int64(buckets[.slaBreaches]?[0] ?? 0)
            return max(0, Double(answered - breached)) / Double(answered) * 100
        }
    }

    let store: Store
    public init(store: Store) { self.store = store }

    private func conditions(_ workspace: UUID, _ period: Period, _ filter: Filter) -> SQLQueryString {
        let (first, last) = period.hours
        var sql: SQLQueryString = "workspace_id = \(bind: workspace) AND hour >= \(bind: first) AND hour < \(bind: last)"
        if let inbox = filter.inbox { sql = sql + " AND inbox_id = \(bind: inbox)" }
        if let channel = filter.channel { sql = sql + " AND channel = \(bind: channel.rawValue)" }
        if let team = filter.team { sql = sql + " AND team_id = \(bind: team.uuidString.lowercased())" }
        if let agent = filter.agent { sql = sql + " AND agent_id = \(bind: agent.uuidString.lowercased())" }
        return sql
    }

    public func figures(workspace: UUID, period: Period, filter: Filter = Filter()) async throws -> Figures {
        var figures = Figures()
        for row in try await store.sql.raw("""
            SELECT metric, bucket, CAST(SUM(count) AS BIGINT) AS n, SUM(total) AS total FROM metric_rollups
            WHERE \(conditions(workspace, period, filter)) GROUP BY metric, bucket
            """).all() {
            guard let metric = Metric(rawValue: try row.decode(column: "metric", as: String.self)) else { continue }
            figures.add(metric, bucket: try row.decode(column: "bucket", as: Int.self), count: try row.decode(column: "n", as: Int64.self),
                        total: try row.decode(column: "total", as: Double.self))
        }
        return figures
    }

    /// The period's figures per value of a dimension ("" is none: no team, no agent, no reason).
    public func breakdown(workspace: UUID, period: Period, by dimension: Dimension, filter: Filter = Filter()) async throws -> [String: Figures] {
        var result: [String: Figures] = [:]
        for row in try await store.sql.raw("""
            SELECT \(unsafeRaw: dimension.rawValue) AS value, metric, bucket, CAST(SUM(count) AS BIGINT) AS n, SUM(total) AS total FROM metric_rollups
            WHERE \(conditions(workspace, period, filter)) GROUP BY \(unsafeRaw: dimension.rawValue), metric, bucket
            """).all() {
            guard let metric = Metric(rawValue: try row.decode(column: "metric", as: String.self)) else { continue }
            let value: String = if dimension == .inbox { try row.decode(column: "value", as: UUID.self).uuidString.lowercased() }
                                else { try row.decode(column: "value", as: String.self) }
            result[value, default: Figures()].add(metric, bucket: try row.decode(column: "bucket", as: Int.self),
                                                  count: try row.decode(column: "n", as: Int64.self), total: try row.decode(column: "total", as: Double.self))
        }
        return result
    }

    /// Counts of some metrics hour by hour (hours since 1970), for charts and the hour × weekday heatmap.
    public func hourly(workspace: UUID, period: Period, metrics: [Metric], filter: Filter = Filter()) async throws -> [Int64: [Metric: Int64]] {
        var result: [Int64: [Metric: Int64]] = [:]
        for row in try await store.sql.raw("""
            SELECT hour, metric, CAST(SUM(count) AS BIGINT) AS n FROM metric_rollups
            WHERE \(conditions(workspace, period, filter)) AND metric IN (\(IngestBatch.list(metrics.map(\.rawValue))))
            GROUP BY hour, metric
            """).all() {
            guard let metric = Metric(rawValue: try row.decode(column: "metric", as: String.self)) else { continue }
            result[try row.decode(column: "hour", as: Int64.self), default: [:]][metric] = try row.decode(column: "n", as: Int64.self)
        }
        return result
    }
}
