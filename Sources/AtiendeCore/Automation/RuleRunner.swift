import FluentKit
import Foundation
import SQLKit

/// Runs a rule's actions on a conversation, inside the transaction that set it off. Guarded twice: a rule never runs
/// again because of its own actions (they happen with the rule marked as running), and a conversation takes at most
/// `perMinute` rule runs a minute — past that, one activity line and an event say rules are paused for it, and nothing
/// spins. An action that cannot be done (a reply the channel cannot carry) is said in the timeline; the rest go on.
struct RuleRunner: Sendable {
    static let perMinute = 20

    /// The rules that ran on which conversations since the change that started it all (a person's action, a message):
    /// each runs at most once per conversation in one cascade — its own actions never set it off again, and what a rule
    /// sets off in another rule does not come back around.
    final class Cascade: @unchecked Sendable {
        struct Key: Hashable { var rule: UUID; var conversation: UUID }
        private var ran: Set<Key> = []
        private let lock = NSLock()
        func first(_ rule: UUID, _ conversation: UUID) -> Bool { lock.withLock { ran.insert(Key(rule: rule, conversation: conversation)).inserted } }
        func has(_ rule: UUID, _ conversation: UUID) -> Bool { lock.withLock { ran.contains(Key(rule: rule, conversation: conversation)) } }
    }

    /// What one transaction's rule runs add up to, over all its cascades (routing's assignment of a new conversation
    /// sets off rules in a cascade of its own, before the message's): runs per conversation, for the per-minute limit
    /// of conversations opened in the transaction (they have no earlier runs to count); and runs per rule, written into
    /// `run_count` once when a cascade ends.
    final class Runs: @unchecked Sendable {
        private var byConversation: [UUID: Int] = [:]
        private var byRule: [UUID: Int] = [:]
        private var opened: Set<UUID> = []
        private let lock = NSLock()

        static func of(_ tx: WriteTransaction) async -> Runs { await tx.memo("rule-runs") { Runs() } }

        func opened(_ conversations: some Sequence<UUID>) { lock.withLock { opened.formUnion(conversations) } }
        /// Runs on the conversation in this transaction, when it was opened in it (nil: count its timeline).
        func sofar(on conversation: UUID) -> Int? { lock.withLock { opened.contains(conversation) ? byConversation[conversation] ?? 0 : nil } }
        func ran(_ rule: UUID, on conversation: UUID) {
            lock.withLock { byConversation[conversation, default: 0] += 1; byRule[rule, default: 0] += 1 }
        }
        func on(_ conversation: UUID) -> Int { lock.withLock { byConversation[conversation] ?? 0 } }

        /// Adds the runs counted since the last time to each rule's `run_count`.
        func save(in tx: WriteTransaction) async throws {
            let counted = lock.withLock { defer { byRule = [:] }; return byRule }
            for (rule, runs) in counted {
                try await tx.sql.raw("UPDATE automation_rules SET run_count = run_count + \(bind: runs) WHERE id = \(bind: rule)").run()
            }
        }
    }

    enum Context {
        @TaskLocal static var cascade: Cascade?
    }

    /// Runs `body` inside a cascade: the one under way, or a new one.
    static func inCascade<T>(in tx: WriteTransaction, _ body: () async throws -> T) async throws -> T {
        if Context.cascade != nil { return try await body() }
        let result = try await Context.$cascade.withValue(Cascade()) { try await body() }
        try await Runs.of(tx).save(in: tx)
        return result
    }

    let router: Router
    let conversations: ConversationService

    /// Whether the rule ran (false: paused for this conversation).
    func run(_ rule: AutomationRule, on conversation: Conversation, trigger: RuleTrigger, in tx: WriteTransaction) async throws -> Bool {
        let ruleID = try rule.requireID()
        let conversationID = try conversation.requireID()
        // Always inside a cascade (`AutomationReaction.apply`).
        guard Context.cascade?.first(ruleID, conversationID) == true else { return false }
        let runs = await Runs.of(tx)
        let recent: Int
        if let sofar = runs.sofar(on: conversationID) { recent = sofar } else { recent = try await runsInLastMinute(conversationID, in: tx) }
        if recent >= Self.perMinute {
            try await pause(rule, conversation: conversation, in: tx)
            return false
        }
        try await ActivityLogReaction.write(.init(change: .rule, value: rule.name), conversation: conversation, actor: nil, in: tx)
        for action in rule.actions {
            do {
                try await perform(action, of: rule, on: conversation, trigger: trigger, in: tx)
            } catch let refused as AtiendeError {
                // Refused before anything was written: said where people look, and the next action goes on.
                try await ActivityLogReaction.write(.init(change: .ruleFailed, value: "\(rule.name): \(refused.message)"),
                                                    conversation: conversation, actor: nil, in: tx)
            }
        }
        runs.ran(ruleID, on: conversationID)
        return true
    }

    /// Rule runs on the conversation in the last minute, from its timeline (the runs of earlier transactions too).
    private func runsInLastMinute(_ conversationID: UUID, in tx: WriteTransaction) async throws -> Int {
        try await tx.sql.raw("""
            SELECT COUNT(*) AS runs FROM messages
            WHERE conversation_id = \(bind: conversationID) AND kind = 'activity' AND sender_type = 'system'
              AND created_at > \(bind: tx.now.addingTimeInterval(-60)) AND text LIKE '%"change":"rule"%'
            """).first()?.decode(column: "runs", as: Int.self) ?? 0
    }

    /// Once a minute at most: the line saying rules are paused here, and the event that alerts whoever watches.
    private func pause(_ rule: AutomationRule, conversation: Conversation, in tx: WriteTransaction) async throws {
        let said = try await tx.sql.raw("""
            SELECT COUNT(*) AS lines FROM messages
            WHERE conversation_id = \(bind: try conversation.requireID()) AND kind = 'activity'
              AND created_at > \(bind: tx.now.addingTimeInterval(-60)) AND text LIKE '%"change":"rules_paused"%'
            """).first()?.decode(column: "lines", as: Int.self) ?? 0
        guard said == 0 else { return }
        try await ActivityLogReaction.write(.init(change: .rulesPaused, value: rule.name), conversation: conversation, actor: nil, in: tx)
        try await EventLog.append(.automationPaused, workspace: conversation.$workspace.id, conversation: try conversation.requireID(),
                                  payload: RecordEventPayload(id: try rule.requireID(), name: rule.name, detail: String(conversation.number)), in: tx)
        tx.store.logger.warning("automation paused for a conversation: too many rule runs in a minute",
                                metadata: ["rule": "\(rule.name)", "conversation": "\(conversation.number)"])
    }

    private func perform(_ action: RuleAction, of rule: AutomationRule, on conversation: Conversation, trigger: RuleTrigger,
                         in tx: WriteTransaction) async throws {
        let value = action.value ?? ""
        var changes = ConversationService.Changes()
        switch action.type {
        case .assignAgent: changes.assigneeID = .some(UUID(uuidString: value))
        case .assignTeam: changes.teamID = .some(UUID(uuidString: value))
        case .unassign: changes.assigneeID = .some(nil)
        case .assignByPolicy:
            try await router.assign([try conversation.requireID()], workspace: conversation.$workspace.id, in: tx)
            return
        case .addLabel: changes.labels = conversation.labels + [value]
        case .removeLabel: changes.labels = conversation.labels.filter { $0 != value }
        case .setPriority: changes.priority = Priority(rawValue: value)
        case .setStatus: changes.status = ConversationStatus(rawValue: value)
        case .snooze:
            changes.status = .snoozed
            changes.snoozedUntil = tx.now.addingTimeInterval(TimeInterval((Int(value) ?? 60) * 60))
        case .sendCanned, .sendMessage, .addNote:
            let canned = CannedResponseService(store: tx.store)
            var text = action.text ?? ""
            var cannedID: UUID?
            if action.type == .sendCanned, let id = UUID(uuidString: value),
               let response = try await CannedResponse.query(on: tx.db).filter(\.$workspace.$id == conversation.$workspace.id)
                .filter(\.$id == id).filter(\.$ownerID == nil).first() {
                text = try await canned.fill(response, conversation: try conversation.requireID(), workspace: conversation.$workspace.id,
                                             agent: conversation.$assignee.id, on: tx.db).text
                cannedID = id
            } else {
                text = try await canned.fill(text: text, conversation: conversation, agent: conversation.$assignee.id, on: tx.db).text
            }
            _ = try await conversations.post(.init(text: text, isNote: action.type == .addNote, canned: cannedID), to: conversation,
                                             author: nil, in: tx)
            return
        case .mention:
            guard let user = UUID(uuidString: value) else { return }
            let note = action.text.map { $0.isEmpty ? rule.name : $0 } ?? rule.name
            _ = try await conversations.post(.init(text: note, isNote: true), to: conversation, author: nil, in: tx)
            try await Notifications.notify([user], of: .mention, workspace: conversation.$workspace.id, conversationID: try conversation.requireID(),
                                           number: conversation.number, actor: nil, excerpt: note, in: tx)
            return
        case .resurface:
            try await tx.sql.raw("UPDATE conversations SET last_message_at = \(bind: tx.now) WHERE id = \(bind: try conversation.requireID())").run()
            conversation.lastMessageAt = tx.now
            let waited = conversation.waitingSince.map { Int(tx.now.timeIntervalSince($0) / 60) } ?? 0
            try await ActivityLogReaction.write(.init(change: .resurfaced, value: String(waited)), conversation: conversation, actor: nil, in: tx)
            let people: [UUID] = if let assignee = conversation.$assignee.id { [assignee] }
                else { try await ServiceLevels.supervisors(of: conversation.$workspace.id, in: tx) }
            try await Notifications.notify(people, of: .unanswered, workspace: conversation.$workspace.id, conversationID: try conversation.requireID(),
                                           number: conversation.number, actor: nil, excerpt: "", in: tx)
            try await EventLog.append(.conversationUpdated, workspace: conversation.$workspace.id, conversation: try conversation.requireID(),
                                      payload: ConversationEventPayload(conversation: conversation.snapshot, changes: ["last_message_at": ""]), in: tx)
            return
        case .sendWebhook:
            try await JobQueue.enqueue(JobKind.ruleWebhook, payload: RuleWebhookPayload(ruleID: try rule.requireID(), conversationID: try conversation.requireID(),
                                                                                        trigger: trigger, url: value),
                                       workspace: conversation.$workspace.id, in: tx)
            return
        }
        _ = try await ConversationService.change(conversation, changes, actor: nil, in: tx)
    }
}

/// A rule's webhook, sent by a job after the transaction commits (signed with the rule's secret).
public struct RuleWebhookPayload: Codable, Sendable {
    public var ruleID: UUID
    public var conversationID: UUID
    public var trigger: RuleTrigger
    public var url: String
    enum CodingKeys: String, CodingKey { case trigger, url, ruleID = "rule_id", conversationID = "conversation_id" }
}
