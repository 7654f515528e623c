import Foundation
import SQLKit

/// What the desk measures, recorded when it happens into hourly rollups (`metric_rollups`): one row per hour ×
/// inbox × channel × team × agent × contact reason × metric (× histogram bucket for times). Reports add rows up;
/// nothing scans messages when a report is opened. `docs/metrics.md` defines each one.
public enum Metric: String, Sendable, CaseIterable, Codable {
    case created, resolved, reopened, replies, fcr
    /// Moved from one team to another before anyone answered: the customer sent elsewhere instead of being answered.
    case derived
    /// +1 when a conversation becomes active (opened, reopened), −1 when it is resolved or closed: summed from the
    /// beginning, the backlog at any moment.
    case backlog
    /// Times, as histograms (`bucket`), with their sum in seconds: calendar time, and the inbox's business hours only.
    case firstResponse = "first_response", nextResponse = "next_response", resolution
    case firstResponseBusiness = "first_response_business", nextResponseBusiness = "next_response_business"
    case resolutionBusiness = "resolution_business"
    case csatAnswers = "csat_answers", csatSatisfied = "csat_satisfied"
    case npsAnswers = "nps_answers", npsPromoters = "nps_promoters", npsDetractors = "nps_detractors"
    /// Service-level breaches; `bucket` is the clock (0 first response, 1 next response, 2 resolution).
    case slaBreaches = "sla_breaches"
    /// Handle time: stretches of an agent's work with the conversation open and active in front of them.
    case handle

    public var isTime: Bool {
        [.firstResponse, .nextResponse, .resolution, .firstResponseBusiness, .nextResponseBusiness, .resolutionBusiness, .handle].contains(self)
    }

    /// The same time counted in business hours.
    var business: Metric? {
        switch self {
        case .firstResponse: .firstResponseBusiness
        case .nextResponse: .nextResponseBusiness
        case .resolution: .resolutionBusiness
        default: nil
        }
    }
}

/// Who and where a measurement belongs to, as it was when it happened.
public struct MetricDims: Hashable, Sendable {
    public var inbox: UUID
    public var channel: ChannelKind
    public var team: UUID?
    public var agent: UUID?
    public var reason: String?

    public init(inbox: UUID, channel: ChannelKind, team: UUID?, agent: UUID?, reason: String?) {
        self.inbox = inbox
        self.channel = channel
        self.team = team
        self.agent = agent
        self.reason = reason.flatMap { $0.isEmpty ? nil : String($0.prefix(120)) }
    }

    public init(_ c: ConversationSnapshot, agent: UUID?? = nil) {
        self.init(inbox: c.inboxID, channel: c.channel, team: c.teamID, agent: agent ?? c.assigneeID, reason: c.contactReason)
    }

    /// As one text, for a conversation to remember where its first-contact resolution was counted.
    var encoded: String {
        [inbox.uuidString, channel.rawValue, team?.uuidString ?? "", agent?.uuidString ?? "", reason ?? ""].joined(separator: "|")
    }

    init?(encoded: String) {
        let parts = encoded.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, let inbox = UUID(uuidString: parts[0]), let channel = ChannelKind(rawValue: parts[1]) else { return nil }
        self.init(inbox: inbox, channel: channel, team: UUID(uuidString: parts[2]), agent: UUID(uuidString: parts[3]), reason: parts[4])
    }
}

/// Times in buckets 10% wide: exact counts, and a median or p90 within 5% of the exact one (the bucket's middle).
public enum TimeHistogram {
    static let ratio = 1.1

    /// 0 for under a second; then ⌊log₁.₁ s⌋ + 1.
    public static func bucket(_ seconds: Double) -> Int {
        seconds < 1 ? 0 : Int((log(seconds) / log(ratio)).rounded(.down)) + 1
    }

    /// The middle of a bucket (geometric), in seconds.
    public static func value(_ bucket: Int) -> Double {
        bucket == 0 ? 0.5 : pow(ratio, Double(bucket) - 0.5)
    }

    /// The q-th quantile (0…1) of counts by bucket: the bucket of the ⌈q·n⌉-th smallest time.
    public static func quantile(_ q: Double, of counts: [Int: Int]) -> Double? {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var seen = 0
        for bucket in counts.keys.sorted() {
            seen += counts[bucket] ?? 0
            if seen >= rank { return value(bucket) }
        }
        return nil
    }
}

/// Changes to rollups gathered in a transaction, written with one upsert per call; and the same changes with the
/// conversation each came from (`metric_facts`), appended, for the export with a row per conversation.
public struct MetricDeltas: Sendable {
    public struct Key: Hashable, Sendable {
        var workspace: UUID
        var hour: Int64
        var metric: Metric
        var bucket: Int
        var dims: MetricDims
    }
    struct Fact: Hashable, Sendable {
        var key: Key
        var conversation: UUID
    }
    private(set) var rows: [Key: (count: Int64, total: Double)] = [:]
    private(set) var facts: [Fact: (count: Int64, total: Double)] = [:]

    public init() {}

    public var isEmpty: Bool { rows.isEmpty }

    public static func hour(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / 3600).rounded(.down)) }

    public mutating func count(_ metric: Metric, _ dims: MetricDims, workspace: UUID, conversation: UUID, at date: Date, by n: Int64 = 1,
                               bucket: Int = -1) {
        add(Key(workspace: workspace, hour: Self.hour(date), metric: metric, bucket: bucket, dims: dims), conversation, count: n, total: 0)
    }

    public mutating func time(_ metric: Metric, _ seconds: Double, _ dims: MetricDims, workspace: UUID, conversation: UUID, at date: Date) {
        let seconds = max(0, seconds)
        add(Key(workspace: workspace, hour: Self.hour(date), metric: metric, bucket: TimeHistogram.bucket(seconds), dims: dims), conversation,
            count: 1, total: seconds)
    }

    private mutating func add(_ key: Key, _ conversation: UUID, count: Int64, total: Double) {
        rows[key, default: (0, 0)].count += count
        rows[key, default: (0, 0)].total += total
        facts[Fact(key: key, conversation: conversation), default: (0, 0)].count += count
        facts[Fact(key: key, conversation: conversation), default: (0, 0)].total += total
    }

    /// The columns after `hour` both tables share: metric, bucket and the dimensions.
    private static func columns(_ key: Key) -> SQLQueryString {
        """
        \(bind: key.metric.rawValue), \(bind: key.bucket), \(bind: key.dims.inbox.uuidString.lowercased()), \(bind: key.dims.channel.rawValue),
         \(bind: key.dims.team?.uuidString.lowercased() ?? ""), \(bind: key.dims.agent?.uuidString.lowercased() ?? ""), \(bind: key.dims.reason ?? "")
        """
    }

    /// Adds everything to the rollups: rows that exist grow, new ones are inserted. Changes to hours already
    /// compacted (a correction of the past) go into the cubes too, under the workspace's lock.
    public func write(in tx: WriteTransaction) async throws {
        let sql = tx.sql
        let changed = rows.filter { $0.value.count != 0 || $0.value.total != 0 }
        guard !changed.isEmpty else { return }
        let target = MetricCubes.target(now: tx.now)
        let past = changed.filter { $0.key.hour < target }
        for workspace in Set(past.keys.map(\.workspace)) {
            try await tx.lockWorkspace(workspace)
            let watermark = try await MetricCubes.watermark(workspace, on: sql)
            try await MetricCubes.add(past.filter { $0.key.workspace == workspace && $0.key.hour < watermark }, on: sql)
        }
        try await changed.forEachChunk(400) { chunk in
            let values: [SQLQueryString] = chunk.map { key, value in
                "(\(bind: key.workspace), \(bind: key.hour), \(Self.columns(key)), \(bind: value.count), \(bind: value.total))"
            }
            try await sql.raw("""
                INSERT INTO metric_rollups (workspace_id, hour, metric, bucket, inbox_id, channel, team_id, agent_id, reason, count, total)
                VALUES \(values.joined(separator: ", "))
                ON CONFLICT (workspace_id, hour, metric, bucket, inbox_id, channel, team_id, agent_id, reason)
                DO UPDATE SET count = metric_rollups.count + excluded.count, total = metric_rollups.total + excluded.total
                """).run()
        }
        // A rebuild holds millions of facts: they are read where they are, never copied.
        try await facts.lazy.filter { $0.value.count != 0 || $0.value.total != 0 }.forEachChunk(400) { chunk in
            let values: [SQLQueryString] = chunk.map { fact, value in
                "(\(bind: fact.key.workspace), \(bind: fact.conversation), \(bind: fact.key.hour), \(Self.columns(fact.key)), \(bind: value.count), \(bind: value.total))"
            }
            try await sql.raw("""
                INSERT INTO metric_facts (workspace_id, conversation_id, hour, metric, bucket, inbox_id, channel, team_id, agent_id, reason, count, total)
                VALUES \(values.joined(separator: ", "))
                """).run()
        }
    }
}

extension Array {
    public func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

extension Sequence {
    /// Runs `body` on consecutive runs of at most `size` elements, holding one run at a time.
    func forEachChunk(_ size: Int, _ body: ([Element]) async throws -> Void) async rethrows {
        var chunk: [Element] = []
        chunk.reserveCapacity(size)
        for element in self {
            chunk.append(element)
            if chunk.count == size {
                try await body(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try await body(chunk) }
    }
}
