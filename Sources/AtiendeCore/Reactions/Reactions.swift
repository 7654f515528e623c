import Foundation
import NIOConcurrencyHelpers

/// What changed in the domain, as reactions hear of it: typed, inside the transaction that made the change, so
/// whatever a reaction writes (clocks, automatic answers, notifications, escalations, and the rules, surveys and
/// rollups still to come) commits or rolls back with it. Ingest reports a whole round as one change.
public enum DomainChange: Sendable {
    /// Customer messages stored by one ingest round.
    case messagesReceived([Arrival])
    /// A conversation's status, assignee, team, priority, labels or contact reason changed (by a person, or by the
    /// system when `actor` is nil: a snooze ending, an escalation).
    case conversationChanged(ConversationChange)
    /// A public reply was queued for the customer.
    case replied(Reply)
    /// A private note was added.
    case noteAdded(Reply)
    /// A call or visit logged by an agent: a conversation opened and answered at once (resolved when `resolved`).
    case contactLogged(conversationID: UUID, workspaceID: UUID, resolved: Bool)
    /// A service-level warning or breach fell due and was recorded.
    case serviceLevelAlert(ServiceLevelAlert)
    /// A customer answered a survey, or changed their answer.
    case surveyAnswered(SurveyAnswer)
    /// An agent worked on a conversation: had it open and active in front of them for a stretch of time.
    case worked(Work)

    /// One stored customer message.
    public struct Arrival: Sendable {
        public var conversationID: UUID
        public var workspaceID: UUID
        public var inboxID: UUID
        public var opened: Bool
        public var reopened: Bool
        public var automatic: Bool
        /// The message's text (automation rules match it).
        public var text: String = ""
        /// The conversation as the round left it (what rules look at, without reading it again).
        public var conversation: ConversationSnapshot? = nil
        /// The status the message brought it back from, when it did (resolved, pending, snoozed).
        public var previousStatus: ConversationStatus? = nil
    }

    public struct ConversationChange: Sendable {
        public var workspaceID: UUID
        public var before: ConversationSnapshot
        public var after: ConversationSnapshot
        public var actor: UUID?

        public var statusChanged: Bool { before.status != after.status }
        public var assigneeChanged: Bool { before.assigneeID != after.assigneeID }
        public var teamChanged: Bool { before.teamID != after.teamID }
        public var priorityChanged: Bool { before.priority != after.priority }
        public var labelsChanged: Bool { before.labels != after.labels }
        /// Snoozed again, until another time.
        public var snoozeMoved: Bool { before.status == .snoozed && after.status == .snoozed && before.snoozedUntil != after.snoozedUntil }
    }

    public struct Reply: Sendable {
        public var workspaceID: UUID
        public var conversation: ConversationSnapshot
        public var message: MessageSnapshot
        /// The agent who wrote it; nil when Atiende did (an automation rule).
        public var author: UUID?
        /// Since when the customer had been waiting, when this reply ended the wait.
        public var waitedSince: Date? = nil
        /// Whether it is the conversation's first answer.
        public var firstResponse: Bool = false
    }

    public struct SurveyAnswer: Sendable {
        public var workspaceID: UUID
        public var survey: SurveySnapshot
        /// The score before this answer changed it (nil: the first answer).
        public var previousScore: Int?
    }

    public struct Work: Sendable {
        public var workspaceID: UUID
        public var conversation: ConversationSnapshot
        public var agent: UUID
        public var seconds: Double
    }

    public struct ServiceLevelAlert: Sendable {
        public var subject: ServiceLevels.Subject
        public var clock: ConversationClocks.Kind
        public var alert: ConversationClocks.Alert
    }
}

/// Something that happens because of a change, in the same transaction. Reactions receive every change of one call
/// together (a whole ingest round), so they can work set-wise: a fixed number of statements whatever the round's size.
public protocol Reaction: Sendable {
    func react(to changes: [DomainChange], in tx: WriteTransaction) async throws
}

/// The reactions of a store, run in registration order. The standard ones are there from the start; features add
/// theirs at start-up.
public final class Reactions: Sendable {
    /// Reactions may cause changes that cause reactions (an escalation retargets clocks); past this depth a loop is cut.
    public static let maxDepth = 8
    private let registered: NIOLockedValueBox<[any Reaction]>

    init(_ reactions: [any Reaction]) { registered = NIOLockedValueBox(reactions) }

    /// Clocks first (what follows reads deadlines), then automatic answers, escalations, notifications and the timeline.
    static var standard: Reactions {
        Reactions([ServiceLevelClocksReaction(), AutomaticAnswersReaction(), EscalationReaction(), NotificationsReaction(), ActivityLogReaction()])
    }

    public func register(_ reaction: any Reaction) { registered.withLockedValue { $0.append(reaction) } }

    var all: [any Reaction] { registered.withLockedValue { $0 } }
}

extension WriteTransaction {
    /// Runs every registered reaction on `changes`, now, inside this transaction.
    public func react(_ changes: [DomainChange]) async throws {
        guard !changes.isEmpty else { return }
        guard enterReactions() else {
            store.logger.warning("reactions stopped: changes kept causing changes", metadata: ["depth": "\(Reactions.maxDepth)"])
            return
        }
        defer { leaveReactions() }
        for reaction in store.reactions.all { try await reaction.react(to: changes, in: self) }
    }

    public func react(_ change: DomainChange) async throws { try await react([change]) }
}
