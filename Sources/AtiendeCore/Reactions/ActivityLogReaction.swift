import FluentKit
import Foundation

/// One line of a conversation's timeline saying who changed what: resolved, reopened, snoozed, assigned, moved to a
/// team, reprioritized, labelled. Stored as an `activity` message (its text this JSON) by the actor, or the system.
public struct ConversationActivity: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case status, assignee, team, priority, labelAdded = "label_added", labelRemoved = "label_removed" }
    public var change: Kind
    /// The new value: a status, a user or team id, a priority, a label (nil: unassigned, no team).
    public var value: String?
    /// A snooze's end.
    public var until: Date?
}

/// Writes the timeline's activity lines for every change people (or the system) make to a conversation.
struct ActivityLogReaction: Reaction {
    func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        for change in changes {
            guard case .conversationChanged(let change) = change else { continue }
            var lines: [ConversationActivity] = []
            if change.statusChanged {
                lines.append(.init(change: .status, value: change.after.status.rawValue,
                                   until: change.after.status == .snoozed ? change.after.snoozedUntil : nil))
            }
            if change.assigneeChanged { lines.append(.init(change: .assignee, value: change.after.assigneeID?.uuidString)) }
            if change.teamChanged { lines.append(.init(change: .team, value: change.after.teamID?.uuidString)) }
            if change.priorityChanged { lines.append(.init(change: .priority, value: change.after.priority.rawValue)) }
            if change.labelsChanged {
                for label in change.after.labels where !change.before.labels.contains(label) { lines.append(.init(change: .labelAdded, value: label)) }
                for label in change.before.labels where !change.after.labels.contains(label) { lines.append(.init(change: .labelRemoved, value: label)) }
            }
            for line in lines {
                let message = Message(workspaceID: change.workspaceID, conversationID: change.after.id, inboxID: change.after.inboxID,
                                      kind: .activity, senderType: change.actor == nil ? .system : .agent, senderID: change.actor,
                                      text: try EventLog.json(line), at: tx.now)
                try await message.create(on: tx.db)
            }
        }
    }
}
