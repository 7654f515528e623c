import FluentKit
import Foundation
import SQLKit

/// Members' availability: what they choose (online, busy, away, offline), what the desk sees (offline once no browser
/// of theirs has been connected for a while), their capacity and languages, and the routing it sets off: someone
/// coming online takes the oldest waiting conversations.
public struct AvailabilityService: Sendable {
    public let store: Store
    public let router: Router

    public init(store: Store, router: Router) {
        self.store = store
        self.router = router
    }

    public struct Change: Codable, Sendable {
        public var userID: UUID
        /// What the desk sees now.
        public var status: AgentStatus
        /// What they chose.
        public var chosen: AgentStatus
        enum CodingKeys: String, CodingKey { case status, chosen, userID = "user_id" }
    }

    /// A member chooses their status; when it makes them available, waiting conversations come to them.
    public func choose(_ status: AgentStatus, user: UUID, workspace workspaceID: UUID) async throws -> Membership {
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            let member = try await Self.member(user, workspace: workspaceID, in: tx)
            member.chosenStatus = status
            member.lastSeenAt = tx.now  // choosing is done from a browser
            try await member.save(on: tx.db)
            try await announce(member, in: tx)
            if status == .online { try await router.drain(workspace: workspaceID, in: tx) }
            return member
        }
    }

    /// A browser of theirs is connected (on connecting, every minute while it stays, and on leaving): when it brings them
    /// back from offline, it is said, and waiting conversations come to them.
    public func seen(_ user: UUID, workspace workspaceID: UUID) async throws {
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            guard let member = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == user).first()
            else { return }
            let before = member.effectiveStatus(now: tx.now, offlineAfter: router.offlineAfter)
            member.lastSeenAt = tx.now
            try await member.save(on: tx.db)
            guard before == .offline, member.availability != .offline else { return }
            try await announce(member, in: tx)
            if member.availability == .online { try await router.drain(workspace: workspaceID, in: tx) }
        }
    }

    /// An admin sets what a member takes: capacity per channel and languages.
    public func setRouting(_ routing: MemberRouting, user: UUID, workspace workspaceID: UUID, actor: UUID) async throws -> Membership {
        let valid = try routing.validated()
        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            let member = try await Self.member(user, workspace: workspaceID, in: tx)
            member.routingJSON = try EventLog.json(valid)
            try await member.save(on: tx.db)
            try await EventLog.append(.memberRoutingChanged, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: user, changes: ["capacity", "languages"]), in: tx)
            // More room may take waiting conversations now.
            try await router.drain(workspace: workspaceID, in: tx)
            return member
        }
    }

    /// An agent takes an unassigned conversation; someone else's is refused (409), so however many try at once, it has
    /// one owner and one activity line.
    public func claim(_ conversationID: UUID, user: UUID, workspace workspaceID: UUID) async throws -> Conversation {
        try await store.write { tx in
            let conversation = try await ConversationService.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            if let owner = conversation.$assignee.id, owner != user {
                throw AtiendeError(.conflict, code: "already_assigned", "someone else already has this conversation")
            }
            _ = try await ConversationService.change(conversation, .init(assigneeID: .some(user)), actor: user, in: tx)
            return conversation
        }
    }

    /// An admin sets how an inbox hands out its conversations; its waiting ones are handed out at once.
    public func setPolicy(_ policy: AssignmentPolicy, inbox: Inbox, actor: UUID) async throws {
        let valid = try policy.validated()
        let workspaceID = inbox.$workspace.id
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let team = valid.teamID,
               try await Team.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id == team).count() == 0 {
                throw AtiendeError(.notFound, code: "team_not_found", "team_id is not a team of this workspace")
            }
            inbox.assignmentJSON = try EventLog.json(valid)
            try await inbox.save(on: tx.db)
            try await EventLog.append(.inboxUpdated, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: inbox.channel.rawValue,
                                                                  changes: ["assignment"]), in: tx)
            try await router.drain(workspace: workspaceID, in: tx)
        }
    }

    /// Everyone's availability and open conversations by channel, as supervisors follow them.
    public struct Entry: Sendable {
        public var member: Membership
        public var status: AgentStatus
        public var open: [ChannelKind: Int]
    }

    public func board(workspace workspaceID: UUID) async throws -> [Entry] {
        let now = store.clock.now()
        let members = try await Membership.query(on: store.db).filter(\.$workspace.$id == workspaceID).with(\.$user).all()
        let rows = try await store.sql.raw("""
            SELECT assignee_id, channel, COUNT(*) AS open FROM conversations
            WHERE workspace_id = \(bind: workspaceID) AND status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id, channel
            """).all()
        var open: [UUID: [ChannelKind: Int]] = [:]
        for row in rows {
            guard let channel = ChannelKind(rawValue: try row.decode(column: "channel", as: String.self)) else { continue }
            open[try row.decode(column: "assignee_id", as: UUID.self), default: [:]][channel] = try row.decode(column: "open", as: Int.self)
        }
        return members.map { Entry(member: $0, status: $0.effectiveStatus(now: now, offlineAfter: router.offlineAfter), open: open[$0.$user.id] ?? [:]) }
            .sorted { $0.member.user.name < $1.member.user.name }
    }

    private func announce(_ member: Membership, in tx: WriteTransaction) async throws {
        try await EventLog.append(.memberAvailabilityChanged, workspace: member.$workspace.id, actor: member.$user.id,
                                  payload: Change(userID: member.$user.id, status: member.effectiveStatus(now: tx.now, offlineAfter: router.offlineAfter),
                                                  chosen: member.availability), in: tx)
    }

    static func member(_ user: UUID, workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> Membership {
        guard let member = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == user).first()
        else { throw AtiendeError(.notFound, code: "member_not_found", "that person is not a member of this workspace") }
        return member
    }
}
