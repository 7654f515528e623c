import FluentKit
import Foundation
import SQLKit

/// Automation rules as a reaction: what happened (a conversation opened, a message in, a status, priority, assignee or
/// labels changed, an SLA warning or breach) runs the workspace's rules with that trigger, in order, in the same
/// transaction; and the time-based rules' due times are kept current from the same changes (pending since, unanswered
/// since, resolved at), so the timer scan reads an index instead of every conversation.
public struct AutomationReaction: Reaction {
    let runner: RuleRunner

    public init(router: Router, conversations: ConversationService) {
        runner = RuleRunner(router: router, conversations: conversations)
    }

    struct Fired {
        var conversationID: UUID
        var trigger: RuleTrigger
        var text: String?
    }

    public func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        try await RuleRunner.inCascade { try await handle(changes, in: tx) }
    }

    private func handle(_ changes: [DomainChange], in tx: WriteTransaction) async throws {
        var fired: [UUID: [Fired]] = [:]
        var entered: [UUID: [(UUID, RuleTrigger, Date)]] = [:]
        var left: [UUID: [(UUID, RuleTrigger)]] = [:]
        for change in changes {
            switch change {
            case .messagesReceived(let arrivals):
                for arrival in arrivals where !arrival.automatic {
                    if arrival.opened { fired[arrival.workspaceID, default: []].append(.init(conversationID: arrival.conversationID, trigger: .conversationCreated, text: arrival.text)) }
                    fired[arrival.workspaceID, default: []].append(.init(conversationID: arrival.conversationID, trigger: .messageReceived, text: arrival.text))
                    entered[arrival.workspaceID, default: []].append((arrival.conversationID, .unansweredFor, tx.now))
                    if arrival.reopened { left[arrival.workspaceID, default: []].append((arrival.conversationID, .resolvedAgo)) }
                }
            case .conversationChanged(let change):
                let id = change.after.id
                var triggers: [RuleTrigger] = []
                if change.statusChanged { triggers.append(.statusChanged) }
                if change.priorityChanged { triggers.append(.priorityChanged) }
                if change.assigneeChanged { triggers.append(.assigneeChanged) }
                if change.labelsChanged { triggers.append(.labelsChanged) }
                fired[change.workspaceID, default: []] += triggers.map { .init(conversationID: id, trigger: $0, text: nil) }
                if change.statusChanged {
                    for (status, trigger) in [(ConversationStatus.pending, RuleTrigger.pendingFor), (.resolved, .resolvedAgo)] {
                        if change.after.status == status { entered[change.workspaceID, default: []].append((id, trigger, tx.now)) }
                        else if change.before.status == status { left[change.workspaceID, default: []].append((id, trigger)) }
                    }
                    if change.after.status != .open { left[change.workspaceID, default: []].append((id, .unansweredFor)) }
                }
            case .replied(let reply):
                left[reply.workspaceID, default: []].append((reply.conversation.id, .unansweredFor))
            case .serviceLevelAlert(let alert):
                let workspaceID = alert.subject.workspaceID
                fired[workspaceID, default: []].append(.init(conversationID: alert.subject.id, trigger: alert.alert == .warning ? .slaWarning : .slaBreach, text: nil))
            case .noteAdded, .contactLogged:
                continue
            }
        }
        for workspaceID in Set(fired.keys).union(entered.keys).union(left.keys) {
            let rules = try await Self.rules(workspace: workspaceID, in: tx)
            guard !rules.isEmpty else { continue }
            try await keepTimers(rules, entered: entered[workspaceID] ?? [], left: left[workspaceID] ?? [], in: tx)
            if let events = fired[workspaceID], rules.contains(where: { !$0.trigger.isTimed }) {
                try await run(rules, for: events, workspace: workspaceID, in: tx)
            }
        }
    }

    /// The workspace's active rules in order, read once per transaction.
    static func rules(workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> [AutomationRule] {
        try await tx.memo("automation-rules:\(workspaceID)") {
            try await AutomationRule.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$isActive == true)
                .sort(\.$position).sort(\.$createdAt).all()
        }
    }

    private func run(_ rules: [AutomationRule], for events: [Fired], workspace workspaceID: UUID, in tx: WriteTransaction) async throws {
        let wanted = events.filter { event in rules.contains { $0.trigger == event.trigger } }
        guard !wanted.isEmpty else { return }
        let facts = try await RuleFactsLoader.load(Set(wanted.map(\.conversationID)), workspace: workspaceID, in: tx)
        for event in wanted {
            guard var fact = facts[event.conversationID] else { continue }
            fact.facts.text = event.text
            try await apply(rules.filter { $0.trigger == event.trigger }, to: fact, trigger: event.trigger, in: tx)
        }
    }

    /// Rules in order on one conversation; the first that matches and stops ends the list.
    func apply(_ rules: [AutomationRule], to fact: RuleFactsLoader.Loaded, trigger: RuleTrigger, in tx: WriteTransaction) async throws {
        try await RuleRunner.inCascade {
            var facts = fact.facts
            var conversation = fact.conversation
            let id = try conversation.requireID()
            for rule in rules where !(RuleRunner.Context.cascade?.has(rule.id ?? UUID(), id) ?? false) {
                facts.conversation = conversation.snapshot
                guard facts.matches(rule.conditions) else { continue }
                let ran = try await runner.run(rule, on: conversation, trigger: trigger, in: tx)
                if ran && rule.stops { break }
                // What it changed (and what that set off) is what the next rule sees.
                if ran, let fresh = try await Conversation.find(id, on: tx.db) { conversation = fresh }
            }
        }
    }

    /// Due times of the time-based rules: set when a conversation enters the state (pending, unanswered, resolved), gone
    /// when it leaves it; one per rule and conversation, so each fires once.
    private func keepTimers(_ rules: [AutomationRule], entered: [(UUID, RuleTrigger, Date)], left: [(UUID, RuleTrigger)],
                            in tx: WriteTransaction) async throws {
        let timed = rules.filter(\.trigger.isTimed)
        guard !timed.isEmpty else { return }
        for (conversationID, trigger) in left {
            let ids = timed.filter { $0.trigger == trigger }.compactMap(\.id)
            guard !ids.isEmpty else { continue }
            try await tx.sql.raw("""
                DELETE FROM rule_timers WHERE conversation_id = \(bind: conversationID) AND rule_id IN (\(SQLList(ids.map { SQLBind($0) })))
                """).run()
        }
        var rows: [SQLQueryString] = []
        for (conversationID, trigger, at) in entered {
            for rule in timed where rule.trigger == trigger {
                let due = at.addingTimeInterval(TimeInterval((rule.afterMinutes ?? 60) * 60))
                rows.append("(\(bind: UUID()), \(bind: rule.$workspace.id), \(bind: try rule.requireID()), \(bind: conversationID), \(bind: due))")
            }
        }
        guard !rows.isEmpty else { return }
        // A conversation already unanswered keeps its first due time; entering pending or resolved again starts anew.
        try await tx.sql.raw("""
            INSERT INTO rule_timers (id, workspace_id, rule_id, conversation_id, due_at) VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (rule_id, conversation_id) DO NOTHING
            """).run()
    }
}

/// What the rules' conditions need of many conversations, in a few queries.
enum RuleFactsLoader {
    struct Loaded {
        var conversation: Conversation
        var facts: RuleFacts
    }

    static func load(_ ids: Set<UUID>, workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> [UUID: Loaded] {
        try await load(ids, workspace: workspaceID, on: tx.db, now: tx.now)
    }

    static func load(_ ids: Set<UUID>, workspace workspaceID: UUID, on db: any Database, now: Date) async throws -> [UUID: Loaded] {
        guard !ids.isEmpty else { return [:] }
        let conversations = try await Conversation.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id ~~ ids).all()
        let contacts = Dictionary(uniqueKeysWithValues: try await Contact.query(on: db).filter(\.$id ~~ Set(conversations.map(\.$contact.id))).all()
            .map { ($0.id ?? UUID(), $0) })
        let inboxes = Dictionary(uniqueKeysWithValues: try await Inbox.query(on: db).filter(\.$id ~~ Set(conversations.map(\.$inbox.id))).all()
            .map { ($0.id ?? UUID(), $0) })
        let fallback = try await Workspace.find(workspaceID, on: db)?.defaultLanguage ?? "es"
        var loaded: [UUID: Loaded] = [:]
        for conversation in conversations {
            let contact = contacts[conversation.$contact.id]
            let inbox = inboxes[conversation.$inbox.id]
            loaded[try conversation.requireID()] = Loaded(conversation: conversation, facts: RuleFacts(
                conversation: conversation.snapshot, text: nil, language: inbox?.settings.language ?? fallback,
                contactLabels: contact?.labels ?? [], contactAttributes: contact?.attributes ?? [:],
                openNow: inbox?.businessHours?.isOpen(at: now) ?? true))
        }
        return loaded
    }
}
