import FluentKit
import Foundation
import SQLKit

/// The routing timers, from indexed times rather than a scan of every conversation: an assigned conversation its agent
/// has not answered within the inbox's no-reply time goes back to the queue (`reply_due_at`); a live chat whose agent has
/// had no browser connected past the inbox's hand-off time goes to someone else; and waiting conversations are handed
/// out when someone has room (a working day starting, a capacity raised). Each move leaves an activity line.
public struct RoutingScanner: Sendable {
    public static let interval: TimeInterval = 10
    let store: Store
    let router: Router

    public init(store: Store, router: Router) {
        self.store = store
        self.router = router
    }

    /// One pass; returns how many conversations were moved or handed out.
    @discardableResult
    public func scan() async throws -> Int {
        let now = store.clock.now()
        var moved = 0
        // No reply in time.
        let due = try await store.sql.raw("""
            SELECT id, workspace_id FROM conversations WHERE reply_due_at <= \(bind: now) ORDER BY reply_due_at LIMIT 500
            """).all()
        for (workspaceID, ids) in try Self.byWorkspace(due) {
            moved += try await requeue(ids, workspace: workspaceID, because: .requeued)
        }
        // Live chats of agents who left.
        let chats = try await store.sql.raw("""
            SELECT c.id, c.workspace_id, i.assignment, m.last_seen_at FROM conversations c
            JOIN inboxes i ON i.id = c.inbox_id
            JOIN memberships m ON m.workspace_id = c.workspace_id AND m.user_id = c.assignee_id
            WHERE c.channel = 'webchat' AND c.status = 'open' AND i.assignment IS NOT NULL
              AND (m.last_seen_at IS NULL OR m.last_seen_at < \(bind: now.addingTimeInterval(-60)))
            LIMIT 500
            """).all().filter { row in
                let policy = JSON.decode(AssignmentPolicy.self, from: try? row.decode(column: "assignment", as: String?.self))
                guard let minutes = policy?.chatHandoffMinutes, policy?.assigns == true else { return false }
                let seen = try? row.decode(column: "last_seen_at", as: Date?.self)
                return seen.map { now.timeIntervalSince($0) >= TimeInterval(minutes * 60) } ?? true
            }
        for (workspaceID, ids) in try Self.byWorkspace(chats) {
            moved += try await requeue(ids, workspace: workspaceID, because: .handedOn)
        }
        // Waiting conversations, where someone may have room now.
        let waiting = try await store.sql.raw("""
            SELECT DISTINCT c.workspace_id FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
            WHERE i.assignment IS NOT NULL AND i.is_active = \(bind: true) AND c.status = 'open' AND c.assignee_id IS NULL
              AND \(unsafeRaw: Importer.live("c"))
            LIMIT 100
            """).all()
        for row in waiting {
            let workspaceID = try row.decode(column: "workspace_id", as: UUID.self)
            moved += try await store.write { tx in
                try await tx.lockWorkspace(workspaceID)
                return try await router.drain(workspace: workspaceID, in: tx)
            }
        }
        return moved
    }

    /// Takes conversations from their agent with a line saying why, and routes them again to someone else.
    private func requeue(_ ids: [UUID], workspace workspaceID: UUID, because reason: ConversationActivity.Kind) async throws -> Int {
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            var previous: [UUID: UUID] = [:]
            for conversation in try await Conversation.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id ~~ ids).all() {
                let id = try conversation.requireID()
                try await tx.sql.raw("UPDATE conversations SET reply_due_at = NULL WHERE id = \(bind: id)").run()
                guard conversation.status == .open, let assignee = conversation.$assignee.id else { continue }
                previous[id] = assignee
                try await ActivityLogReaction.write(.init(change: reason, value: assignee.uuidString), conversation: conversation, actor: nil, in: tx)
                // The change's reactions hand it out again (not to the same agent).
                _ = try await ConversationService.change(conversation, .init(assigneeID: .some(nil)), actor: nil, in: tx)
            }
            return previous.count
        }
    }

    static func byWorkspace(_ rows: [any SQLRow]) throws -> [UUID: [UUID]] {
        var grouped: [UUID: [UUID]] = [:]
        for row in rows { grouped[try row.decode(column: "workspace_id", as: UUID.self), default: []].append(try row.decode(column: "id", as: UUID.self)) }
        return grouped
    }
}
