import FluentKit
import Foundation
import SQLKit

/// Routing as a reaction, in the transaction of what happened: a new (or reopened) conversation gets an owner by its
/// inbox's policy; a member freeing up (a conversation resolved, handed to someone else) takes the oldest waiting one;
/// the assignee's reply, or a new owner, lifts the no-reply deadline.
public struct RoutingReaction: Reaction {
    let router: Router

    public init(router: Router) { self.router = router }

    public func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        var arrived: [UUID: [UUID]] = [:]
        var freed: Set<UUID> = []
        var answered: [UUID] = []
        for change in changes {
            switch change {
            case .messagesReceived(let arrivals):
                for arrival in arrivals where (arrival.opened || arrival.reopened) && !arrival.automatic {
                    arrived[arrival.workspaceID, default: []].append(arrival.conversationID)
                }
            case .conversationChanged(let change):
                if change.assigneeChanged || (change.statusChanged && change.after.status != .open) { answered.append(change.after.id) }
                let gave = change.before.assigneeID != nil && change.before.status == .open
                    && (change.assigneeChanged || change.after.status != .open)
                let waits = change.after.assigneeID == nil && change.after.status == .open && (change.assigneeChanged || change.statusChanged)
                if gave || waits { freed.insert(change.workspaceID) }
            case .replied(let reply):
                if reply.conversation.assigneeID == reply.author { answered.append(reply.conversation.id) }
            default: continue
            }
        }
        if !answered.isEmpty {
            try await tx.sql.raw("""
                UPDATE conversations SET reply_due_at = NULL
                WHERE id IN (\(SQLList(answered.map { SQLBind($0) }))) AND reply_due_at IS NOT NULL
                """).run()
        }
        for (workspaceID, ids) in arrived {
            try await router.assign(ids, workspace: workspaceID, in: tx)
        }
        for workspaceID in freed {
            try await router.drain(workspace: workspaceID, in: tx)
        }
    }
}
