import Foundation
import SQLKit

/// The hourly rollups summed again, once their hours are over: by UTC hour, day and month, for all conversations and
/// for one dimension at a time (channel, inbox, team, agent, reason), and counts by hour of the day. Reports read
/// these (months, then days, then hours at a period's ends), and the rollups only for the hours not compacted yet, so
/// a year costs about as much as a day.
///
/// Compaction runs on a lease (`metric-compaction`) and takes the workspace's lock, like every writer that appends
/// events, so it never misses a committed change. It only takes hours that ended `MetricCubes.margin` ago (a
/// transaction recording into an hour has long committed by then); a change recorded later into an hour already
/// compacted (a first-contact resolution taken back, a survey answer changed) is added to the cubes too, by
/// `MetricDeltas.write`, under the same lock.
public enum MetricCubes {
    public static let margin: TimeInterval = 600

    /// The dimensions cubes are kept for: the cube's name and the rollups' column.
    static let dimensions: [(name: String, column: String)] = [
        ("", "''"), ("channel", "channel"), ("inbox", "inbox_id"), ("team", "team_id"), ("agent", "agent_id"), ("reason", "reason"),
    ]
    /// Counted by hour of the day (per UTC day): what per-day charts and the weekday × hour heatmap read.
    static let hourMetrics: [Metric] = [.created, .resolved, .csatAnswers, .csatSatisfied, .npsAnswers, .npsPromoters, .npsDetractors, .backlog]

    /// The first hour not in the cubes (0: none compacted).
    public static func watermark(_ workspace: UUID, on sql: any SQLDatabase) async throws -> Int64 {
        try await sql.raw("SELECT through_hour FROM metric_compaction WHERE workspace_id = \(bind: workspace)").first()?
            .decode(column: "through_hour", as: Int64.self) ?? 0
    }

    /// Hours that may be compacted now: those that ended `margin` ago.
    public static func target(now: Date) -> Int64 { MetricDeltas.hour(now.addingTimeInterval(-margin)) }

    static func month(ofDay day: Int64) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month], from: Date(timeIntervalSince1970: TimeInterval(day) * 86_400))
        return Int64(parts.year! * 12 + parts.month! - 1)
    }

    /// The UTC days of a month: [first, last + 1).
    static func days(ofMonth month: Int64) -> (Int64, Int64) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let start = calendar.date(from: DateComponents(year: Int(month / 12), month: Int(month % 12) + 1, day: 1))!
        let end = calendar.date(byAdding: .month, value: 1, to: start)!
        return (Int64(start.timeIntervalSince1970 / 86_400), Int64(end.timeIntervalSince1970 / 86_400))
    }

    /// Compacts the workspace's hours up to `target` (exclusive). Returns how many hours it took.
    @discardableResult
    public static func compact(_ workspace: UUID, through target: Int64, in tx: WriteTransaction) async throws -> Int64 {
        try await tx.lockWorkspace(workspace)
        let sql = tx.sql
        var from = try await watermark(workspace, on: sql)
        if from == 0 {
            guard let first = try await sql.raw("SELECT MIN(hour) AS first FROM metric_rollups WHERE workspace_id = \(bind: workspace)").first()?
                .decode(column: "first", as: Int64?.self) else {
                try await setWatermark(workspace, target, on: sql)
                return 0
            }
            from = first
        }
        guard from < target else { return 0 }
        // By hour (a period's first and last hours) and by day, each for all conversations and one dimension at a time.
        for (grain, period) in [("h", "hour"), ("d", "hour / 24")] {
            for (name, column) in dimensions {
                try await sql.raw("""
                    INSERT INTO metric_cubes (workspace_id, grain, dim, period, value, metric, bucket, count, total)
                    SELECT workspace_id, \(bind: grain), \(bind: name), \(unsafeRaw: period), \(unsafeRaw: column), metric, bucket, SUM(count), SUM(total)
                    FROM metric_rollups WHERE workspace_id = \(bind: workspace) AND hour >= \(bind: from) AND hour < \(bind: target)
                    GROUP BY workspace_id, \(unsafeRaw: period), \(unsafeRaw: name.isEmpty ? "" : column + ", ")metric, bucket
                    ON CONFLICT (workspace_id, grain, dim, period, value, metric, bucket)
                    DO UPDATE SET count = metric_cubes.count + excluded.count, total = metric_cubes.total + excluded.total
                    """).run()
            }
        }
        try await sql.raw("""
            INSERT INTO metric_cubes (workspace_id, grain, dim, period, value, metric, bucket, count, total)
            SELECT workspace_id, 'd', 'hour', hour / 24, CAST(hour % 24 AS TEXT), metric, -1, SUM(count), 0
            FROM metric_rollups WHERE workspace_id = \(bind: workspace) AND hour >= \(bind: from) AND hour < \(bind: target)
              AND metric IN (\(IngestBatch.list(hourMetrics.map(\.rawValue))))
            GROUP BY workspace_id, hour / 24, hour % 24, metric
            ON CONFLICT (workspace_id, grain, dim, period, value, metric, bucket)
            DO UPDATE SET count = metric_cubes.count + excluded.count
            """).run()
        // Months touched: summed again from their days.
        let months = Set(stride(from: from / 24, through: (target - 1) / 24, by: 1).map(month(ofDay:)))
        for month in months.sorted() { try await remonth(workspace, month, on: sql) }
        try await setWatermark(workspace, target, on: sql)
        return target - from
    }

    static func remonth(_ workspace: UUID, _ month: Int64, on sql: any SQLDatabase) async throws {
        let (first, end) = days(ofMonth: month)
        try await sql.raw("DELETE FROM metric_cubes WHERE workspace_id = \(bind: workspace) AND grain = 'm' AND period = \(bind: month)").run()
        try await sql.raw("""
            INSERT INTO metric_cubes (workspace_id, grain, dim, period, value, metric, bucket, count, total)
            SELECT workspace_id, 'm', dim, \(bind: month), value, metric, bucket, SUM(count), SUM(total)
            FROM metric_cubes WHERE workspace_id = \(bind: workspace) AND grain = 'd' AND dim <> 'hour'
              AND period >= \(bind: first) AND period < \(bind: end)
            GROUP BY workspace_id, dim, value, metric, bucket
            """).run()
    }

    static func setWatermark(_ workspace: UUID, _ hour: Int64, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO metric_compaction (workspace_id, through_hour) VALUES (\(bind: workspace), \(bind: hour))
            ON CONFLICT (workspace_id) DO UPDATE SET through_hour = excluded.through_hour
            """).run()
    }

    /// Every workspace with hours to compact, compacted (the leased task's pass). Returns the hours taken.
    public static func pass(store: Store) async throws -> Int64 {
        let target = target(now: store.clock.now())
        let workspaces = try await store.sql.raw("""
            SELECT DISTINCT r.workspace_id AS id FROM metric_rollups r LEFT JOIN metric_compaction c ON c.workspace_id = r.workspace_id
            WHERE c.through_hour IS NULL OR r.hour >= c.through_hour
            """).all().map { try $0.decode(column: "id", as: UUID.self) }
        var hours: Int64 = 0
        for workspace in workspaces {
            hours += try await store.write { tx in try await compact(workspace, through: target, in: tx) }
        }
        return hours
    }

    /// Deltas for hours already compacted, added to the day cubes and their months as well.
    static func add(_ rows: [MetricDeltas.Key: (count: Int64, total: Double)], on sql: any SQLDatabase) async throws {
        var cube: [String: (workspace: UUID, grain: String, dim: String, period: Int64, value: String, metric: String, bucket: Int,
                            count: Int64, total: Double)] = [:]
        func put(_ workspace: UUID, _ grain: String, _ dim: String, _ period: Int64, _ value: String, _ metric: Metric, _ bucket: Int,
                 _ count: Int64, _ total: Double) {
            let key = "\(workspace)|\(grain)|\(dim)|\(period)|\(value)|\(metric.rawValue)|\(bucket)"
            var entry = cube[key] ?? (workspace, grain, dim, period, value, metric.rawValue, bucket, 0, 0)
            entry.count += count
            entry.total += total
            cube[key] = entry
        }
        for (key, value) in rows {
            let day = key.hour / 24, month = month(ofDay: day)
            let d = key.dims
            let values: [(String, String)] = [("", ""), ("channel", d.channel.rawValue), ("inbox", d.inbox.uuidString.lowercased()),
                                              ("team", d.team?.uuidString.lowercased() ?? ""), ("agent", d.agent?.uuidString.lowercased() ?? ""),
                                              ("reason", d.reason ?? "")]
            for (dim, shown) in values {
                put(key.workspace, "h", dim, key.hour, shown, key.metric, key.bucket, value.count, value.total)
                put(key.workspace, "d", dim, day, shown, key.metric, key.bucket, value.count, value.total)
                put(key.workspace, "m", dim, month, shown, key.metric, key.bucket, value.count, value.total)
            }
            if hourMetrics.contains(key.metric) { put(key.workspace, "d", "hour", day, String(key.hour % 24), key.metric, -1, value.count, 0) }
        }
        for chunk in Array(cube.values).chunked(400) {
            let values: [SQLQueryString] = chunk.map { e in
                "(\(bind: e.workspace), \(bind: e.grain), \(bind: e.dim), \(bind: e.period), \(bind: e.value), \(bind: e.metric), \(bind: e.bucket), \(bind: e.count), \(bind: e.total))"
            }
            try await sql.raw("""
                INSERT INTO metric_cubes (workspace_id, grain, dim, period, value, metric, bucket, count, total)
                VALUES \(values.dropFirst().reduce(values[0]) { $0 + ", " + $1 })
                ON CONFLICT (workspace_id, grain, dim, period, value, metric, bucket)
                DO UPDATE SET count = metric_cubes.count + excluded.count, total = metric_cubes.total + excluded.total
                """).run()
        }
    }
}
