import Foundation
import SQLKit

extension MetricsReport {
    /// A period's figures conversation by conversation (the same filter applies), read from `metric_facts`: the very
    /// changes the rollups were made of, so that the rows add up to `figures(workspace:period:filter:)` exactly.
    /// Conversations with nothing counted in the period (or whose changes cancelled out) are left out.
    public func conversations(workspace: UUID, period: Period, filter: Filter = Filter()) async throws -> [(conversation: UUID, figures: Figures)] {
        var result: [UUID: Figures] = [:]
        for row in try await store.sql.raw("""
            SELECT conversation_id, metric, bucket, CAST(SUM(count) AS BIGINT) AS n, SUM(total) AS total FROM metric_facts
            WHERE \(conditions(workspace, hours: period.hours, filter)) GROUP BY conversation_id, metric, bucket
            """).all() {
            guard let metric = Metric(rawValue: try row.decode(column: "metric", as: String.self)) else { continue }
            result[try row.decode(column: "conversation_id", as: UUID.self), default: Figures()]
                .add(metric, bucket: try row.decode(column: "bucket", as: Int.self), count: try row.decode(column: "n", as: Int64.self),
                     total: try row.decode(column: "total", as: Double.self))
        }
        return result.map { ($0.key, $0.value.settled) }.filter { !$0.1.counts.isEmpty }
    }
}
