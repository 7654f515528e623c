import FluentKit
import Foundation

/// One line of a conversation's timeline saying who changed what: resolved, reopened, snoozed, assigned, moved to a
/// team, reprioritized, labelled. Stored as an `activity` message (its text this JSON) by the actor, or the system.
public struct ConversationActivity: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case status, assignee, team, priority, labelAdded = "label_added", labelRemoved = "label_removed"
        /// A macro was run (`value`: its name); its changes follow as lines of their own.
        case macro
        /// Back to the queue: its agent (`value`) did not answer within the inbox's no-reply time.
        case requeued
        /// A live chat taken from its agent (`value`), who had no browser connected past the hand-off time.
        case handedOn = "handed_on"
        /// An automation rule ran (`value`: its name); its changes follow as lines of their own.
        case rule
        /// An action of a rule could not be done (`value`: the rule and why).
        case ruleFailed = "rule_failed"
        /// Too many rule runs in a minute: rules are paused for this conversation (`value`: the rule that would have run).
        case rulesPaused = "rules_paused"
        /// A reminder came due (`value`: who set it): the conversation is back with them, open.
        case reminder
        /// A scheduled follow-up message was not sent: the customer wrote after it was scheduled.
        case followUpSkipped = "follow_up_skipped"
        /// A scheduled follow-up message could not be sent (`value`: why).
        case followUpFailed = "follow_up_failed"
        /// Unanswered past the inbox's threshold (`value`: minutes): back at the top of the queue, its agent alerted.
        case resurfaced
        /// A survey was sent (`value`: csat or nps).
        case surveySent = "survey_sent"
        /// The customer answered a survey (`value`: "csat:4").
        case surveyAnswered = "survey_answered"
        /// A compensation was given (`value`: what, how much, why), by its granter or the supervisor who approved it.
        case compensationGiven = "compensation_given"
        /// A compensation above the granter's limits waits for a supervisor.
        case compensationRequested = "compensation_requested"
        case compensationRejected = "compensation_rejected"
        /// The customer could not be told of a compensation in the channel (`value`: why).
        case compensationNotTold = "compensation_not_told"
    }
    public var change: Kind
    /// The new value: a status, a user or team id, a priority, a label (nil: unassigned, no team).
    public var value: String?
    /// A snooze's end.
    public var until: Date?

    public init(change: Kind, value: String? = nil, until: Date? = nil) {
        self.change = change
        self.value = value
        self.until = until
    }
}

/// Writes the timeline's activity lines for every change people (or the system) make to a conversation.
struct ActivityLogReaction: Reaction {
    func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        for change in changes {
            guard case .conversationChanged(let change) = change else { continue }
            var lines: [ConversationActivity] = []
            if change.statusChanged || change.snoozeMoved {
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
                try await Self.write(line, workspace: change.workspaceID, conversation: change.after.id, inbox: change.after.inboxID,
                                     actor: change.actor, in: tx)
            }
        }
    }

    static func write(_ line: ConversationActivity, conversation: Conversation, actor: UUID?, in tx: WriteTransaction) async throws {
        try await write(line, workspace: conversation.$workspace.id, conversation: try conversation.requireID(), inbox: conversation.$inbox.id,
                        actor: actor, in: tx)
    }

    static func write(_ line: ConversationActivity, workspace: UUID, conversation: UUID, inbox: UUID, actor: UUID?,
                      in tx: WriteTransaction) async throws {
        let message = Message(workspaceID: workspace, conversationID: conversation, inboxID: inbox,
                              kind: .activity, senderType: actor == nil ? .system : .agent, senderID: actor,
                              text: try EventLog.json(line), at: tx.now)
        try await message.create(on: tx.db)
    }
}
