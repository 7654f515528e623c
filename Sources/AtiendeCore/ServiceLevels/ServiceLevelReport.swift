import Foundation
import SQLKit

/// Compliance: the share of first responses, next responses and resolutions within target, per channel,
/// policy, team or agent, for conversations created in a period. A clock still running counts only once it
/// has breached (a miss); one still within target is not decided yet.
public enum ServiceLevelReport {
    public enum Grouping: String, Sendable, CaseIterable { case channel, policy, team, agent }

    public struct Figure: Encodable, Sendable, Equatable {
        public var met = 0
        public var total = 0
        public var percent: Double? { total == 0 ? nil : (Double(met) * 1000 / Double(total)).rounded() / 10 }
        enum CodingKeys: String, CodingKey { case met, total, percent }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(met, forKey: .met)
            try c.encode(total, forKey: .total)
            try c.encode(percent, forKey: .percent)
        }
    }

    public struct Group: Encodable, Sendable, Equatable {
        public var key: String?
        public var firstResponse = Figure()
        public var nextResponse = Figure()
        public var resolution = Figure()
        enum CodingKeys: String, CodingKey { case key, firstResponse = "first_response", nextResponse = "next_response", resolution }
    }

    public static func compliance(workspace workspaceID: UUID, from: Date, to: Date, by grouping: Grouping,
                                  on sql: any SQLDatabase) async throws -> [Group] {
        let rows = try await sql.raw("""
            SELECT channel, sla_policy_id, team_id, assignee_id, sla_clocks FROM conversations
            WHERE workspace_id = \(bind: workspaceID) AND created_at >= \(bind: from) AND created_at < \(bind: to) AND sla_clocks IS NOT NULL
            """).all()
        var groups: [String: Group] = [:]
        for row in rows {
            guard let clocks = JSON.decode(ConversationClocks.self, from: try row.decode(column: "sla_clocks", as: String?.self)) else { continue }
            let key: String? = switch grouping {
            case .channel: try row.decode(column: "channel", as: String.self)
            case .policy: try row.decode(column: "sla_policy_id", as: UUID?.self)?.uuidString.lowercased()
            case .team: try row.decode(column: "team_id", as: UUID?.self)?.uuidString.lowercased()
            case .agent: try row.decode(column: "assignee_id", as: UUID?.self)?.uuidString.lowercased()
            }
            var group = groups[key ?? ""] ?? Group(key: key)
            for kind in ConversationClocks.Kind.allCases {
                guard clocks.clocks[kind] != nil else { continue }
                // Still running: decided only once the deadline scan has recorded its breach.
                let outcome = clocks.met(kind) ?? (clocks.sent.contains("\(kind.rawValue).breach") ? false : nil)
                guard let outcome else { continue }
                switch kind {
                case .firstResponse: group.firstResponse.total += 1; if outcome { group.firstResponse.met += 1 }
                case .nextResponse: group.nextResponse.total += 1; if outcome { group.nextResponse.met += 1 }
                case .resolution: group.resolution.total += 1; if outcome { group.resolution.met += 1 }
                }
            }
            groups[key ?? ""] = group
        }
        return groups.values.sorted { ($0.key ?? "") < ($1.key ?? "") }
    }
}
