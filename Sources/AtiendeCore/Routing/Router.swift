import FluentKit
import Foundation
import SQLKit

/// Who takes a conversation: among the workspace's members who are available now (their choice, a browser connected,
/// inside their working hours), of the inbox's team, speaking its language when the policy asks, with room in their
/// capacity for the channel — the one assigned longest ago (round-robin) or with the fewest open conversations
/// (least-loaded). Runs inside a transaction that holds the workspace, so two decisions never overlap and a
/// conversation never has two owners.
public struct Router: Sendable {
    /// How long after their last browser left a member still counts as connected.
    public let offlineAfter: TimeInterval

    public init(offlineAfter: TimeInterval = 300) { self.offlineAfter = offlineAfter }

    /// A member as the router sees them in one decision round.
    struct Candidate {
        var userID: UUID
        var status: AgentStatus
        var routing: MemberRouting
        var hours: BusinessHours?
        var teams: Set<UUID>
        var load: [ChannelKind: Int]
        var total: Int
        var lastAssigned: Date?

        func takes(_ channel: ChannelKind, language: String, policy: AssignmentPolicy, now: Date) -> Bool {
            guard status == .online, hours?.isOpen(at: now) ?? true else { return false }
            if let team = policy.teamID, !teams.contains(team) { return false }
            if policy.matchLanguage, !routing.speaks(language) { return false }
            if let capacity = routing.capacity(for: channel), load[channel, default: 0] >= capacity { return false }
            return true
        }
    }

    /// Every active member of the workspace with what they have open now.
    func candidates(workspace workspaceID: UUID, now: Date, in tx: WriteTransaction) async throws -> [Candidate] {
        let members = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).with(\.$user).all()
            .filter { $0.user.isActive }
        let teams = try await TeamMember.query(on: tx.db).filter(\.$workspace.$id == workspaceID).all()
        let loads = try await tx.sql.raw("""
            SELECT assignee_id, channel, COUNT(*) AS open FROM conversations
            WHERE workspace_id = \(bind: workspaceID) AND status = 'open' AND assignee_id IS NOT NULL
            GROUP BY assignee_id, channel
            """).all()
        var load: [UUID: [ChannelKind: Int]] = [:]
        for row in loads {
            let user = try row.decode(column: "assignee_id", as: UUID.self)
            guard let channel = ChannelKind(rawValue: try row.decode(column: "channel", as: String.self)) else { continue }
            load[user, default: [:]][channel] = try row.decode(column: "open", as: Int.self)
        }
        return members.map { member in
            let user = member.$user.id
            return Candidate(userID: user, status: member.effectiveStatus(now: now, offlineAfter: offlineAfter), routing: member.routing,
                             hours: member.user.workingHours, teams: Set(teams.filter { $0.$user.id == user }.map(\.$team.id)),
                             load: load[user] ?? [:], total: (load[user] ?? [:]).values.reduce(0, +), lastAssigned: member.lastAssignedAt)
        }
    }

    /// The chosen member for one conversation, counted in `candidates` at once (the next decision sees the new load).
    /// `now` must grow with every pick of a round (`assign` adds a microsecond each time), so that whoever was picked
    /// last is last in line, also among people picked in the same round.
    static func pick(_ channel: ChannelKind, language: String, policy: AssignmentPolicy, from candidates: inout [Candidate],
                     excluding: UUID?, now: Date) -> UUID? {
        let all = candidates
        let able = all.indices.filter { all[$0].userID != excluding && all[$0].takes(channel, language: language, policy: policy, now: now) }
        let turn = { (i: Int) in (all[i].lastAssigned ?? .distantPast, all[i].userID.uuidString) }
        let chosen: Int? = switch policy.mode {
        case .manual: nil
        case .roundRobin: able.min { turn($0) < turn($1) }
        case .leastLoaded: able.min { (all[$0].total, turn($0).0, turn($0).1) < (all[$1].total, turn($1).0, turn($1).1) }
        }
        guard let chosen else { return nil }
        candidates[chosen].load[channel, default: 0] += 1
        candidates[chosen].total += 1
        candidates[chosen].lastAssigned = now
        return candidates[chosen].userID
    }

    /// How long a conversation is kept from the person who let it go (or had it taken away for not replying).
    static let releaseHold: TimeInterval = 30 * 60

    /// Assigns the open, unassigned ones of `conversations` by their inboxes' policies, oldest waiting first; returns how
    /// many got an owner. A conversation does not go back to whoever let it go within `releaseHold`.
    @discardableResult
    func assign(_ conversationIDs: [UUID], workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> Int {
        guard !conversationIDs.isEmpty else { return 0 }
        let now = tx.now
        let waiting = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id ~~ conversationIDs)
            .filter(\.$assignee.$id == nil).filter(\.$status == .open).all()
            .sorted { ($0.waitingSince ?? $0.createdAt, $0.number) < ($1.waitingSince ?? $1.createdAt, $1.number) }
        guard !waiting.isEmpty else { return 0 }
        let inboxes = Dictionary(uniqueKeysWithValues: try await Inbox.query(on: tx.db).filter(\.$id ~~ Set(waiting.map(\.$inbox.id))).all()
            .map { ($0.id ?? UUID(), $0) })
        guard inboxes.values.contains(where: { $0.assignment.assigns }) else { return 0 }
        let fallback = try await Workspace.find(workspaceID, on: tx.db)?.defaultLanguage ?? "es"
        var candidates = try await candidates(workspace: workspaceID, now: now, in: tx)
        var chosen: [UUID: Date] = [:]
        var assigned = 0
        for conversation in waiting {
            guard let inbox = inboxes[conversation.$inbox.id], inbox.assignment.assigns else { continue }
            let policy = inbox.assignment
            let turn = now.addingTimeInterval(Double(assigned) / 1_000_000)
            guard let agent = Self.pick(conversation.channel, language: inbox.settings.language ?? fallback, policy: policy,
                                        from: &candidates, excluding: Self.heldFrom(conversation, now: now), now: turn) else { continue }
            _ = try await ConversationService.change(conversation, .init(assigneeID: .some(agent)), actor: nil, in: tx)
            if let minutes = policy.noReplyMinutes {
                try await tx.sql.raw("""
                    UPDATE conversations SET reply_due_at = \(bind: now.addingTimeInterval(TimeInterval(minutes * 60)))
                    WHERE id = \(bind: try conversation.requireID())
                    """).run()
            }
            chosen[agent] = turn
            assigned += 1
        }
        for (agent, turn) in chosen {
            try await tx.sql.raw("""
                UPDATE memberships SET last_assigned_at = \(bind: turn) WHERE workspace_id = \(bind: workspaceID) AND user_id = \(bind: agent)
                """).run()
        }
        return assigned
    }

    /// The workspace's waiting conversations (open, nobody's, in an inbox that assigns), oldest first, handed out while
    /// someone has room: after a member comes online or frees up.
    @discardableResult
    func drain(workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> Int {
        let inboxes = try await Inbox.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$assignmentJSON != nil).all()
            .filter { $0.isActive && $0.assignment.assigns }
        guard !inboxes.isEmpty else { return 0 }
        let waiting = try await tx.sql.raw("""
            SELECT id FROM conversations
            WHERE workspace_id = \(bind: workspaceID) AND status = 'open' AND assignee_id IS NULL AND \(unsafeRaw: Importer.live())
              AND inbox_id IN (\(SQLList(inboxes.map { SQLBind($0.id ?? UUID()) })))
            ORDER BY COALESCE(waiting_since, created_at), number LIMIT 200
            """).all().map { try $0.decode(column: "id", as: UUID.self) }
        return try await assign(waiting, workspace: workspaceID, in: tx)
    }

    /// Who the conversation is kept from now: whoever let it go less than `releaseHold` ago.
    static func heldFrom(_ conversation: Conversation, now: Date) -> UUID? {
        guard let at = conversation.releasedAt, now.timeIntervalSince(at) < releaseHold else { return nil }
        return conversation.releasedBy
    }
}
