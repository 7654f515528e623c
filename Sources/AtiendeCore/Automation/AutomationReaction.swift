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
        /// The conversation as the change left it, when the change carries it.
        var snapshot: ConversationSnapshot? = nil
    }

    public func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        try await RuleRunner.inCascade(in: tx) { try await handle(changes, in: tx) }
    }

    private func handle(_ changes: [DomainChange], in tx: WriteTransaction) async throws {
        var fired: [UUID: [Fired]] = [:]
        var entered: [UUID: [(UUID, RuleTrigger, Date)]] = [:]
        var left: [UUID: [(UUID, RuleTrigger)]] = [:]
        for change in changes {
            switch change {
            case .messagesReceived(let arrivals):
                await RuleRunner.Runs.of(tx).opened(arrivals.filter(\.opened).map(\.conversationID))
                for arrival in arrivals where !arrival.automatic {
                    if arrival.opened {
                        fired[arrival.workspaceID, default: []].append(.init(conversationID: arrival.conversationID, trigger: .conversationCreated,
                                                                             text: arrival.text, snapshot: arrival.conversation))
                    }
                    fired[arrival.workspaceID, default: []].append(.init(conversationID: arrival.conversationID, trigger: .messageReceived,
                                                                         text: arrival.text, snapshot: arrival.conversation))
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
                fired[change.workspaceID, default: []] += triggers.map { .init(conversationID: id, trigger: $0, text: nil, snapshot: change.after) }
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
            case .noteAdded, .contactLogged, .surveyAnswered, .worked:
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

    /// The workspace's active rules in order, compiled. Kept across transactions while the workspace's rules are the same,
    /// so a busy ingest does not decode 200 rules for every round: a change made here is seen at once (the service
    /// forgets the cached rules when it commits); whether another instance changed them is asked at most once per
    /// `RuleCache.trust` (how many, and the latest change — one cheap query), so they apply everywhere within a second.
    static func rules(workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> [CompiledRule] {
        try await tx.memo("automation-rules:\(workspaceID)") {
            if let trusted = tx.store.ruleCache.trusted(workspaceID) { return trusted }
            let row = try await tx.sql.raw("""
                SELECT COUNT(*) AS rules, MAX(updated_at) AS changed FROM automation_rules WHERE workspace_id = \(bind: workspaceID)
                """).first()
            let version = "\(try row?.decode(column: "rules", as: Int.self) ?? 0):\(try row?.decode(column: "changed", as: Date?.self)?.timeIntervalSince1970 ?? 0)"
            if let cached = tx.store.ruleCache.get(workspaceID, version: version) { return cached }
            let compiled = try await AutomationRule.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$isActive == true)
                .sort(\.$position).sort(\.$createdAt).all().map(CompiledRule.init)
            tx.store.ruleCache.put(workspaceID, version: version, compiled)
            return compiled
        }
    }

    private func run(_ rules: [CompiledRule], for events: [Fired], workspace workspaceID: UUID, in tx: WriteTransaction) async throws {
        let wanted = events.filter { event in rules.contains { $0.trigger == event.trigger } }
        guard !wanted.isEmpty else { return }
        // What the conditions need beyond the conversation the change carries: read for the whole round, only if asked.
        var snapshots: [UUID: ConversationSnapshot] = [:]
        for event in wanted { if let snapshot = event.snapshot { snapshots[event.conversationID] = snapshot } }
        let facts = try await RuleFactsLoader.load(Set(wanted.map(\.conversationID)), known: snapshots, needs: .of(rules),
                                                   workspace: workspaceID, on: tx.db, now: tx.now)
        for event in wanted {
            guard var fact = facts[event.conversationID] else { continue }
            fact.facts.text = event.text
            try await apply(rules.filter { $0.trigger == event.trigger }, to: fact, trigger: event.trigger, in: tx)
        }
    }

    /// Rules in order on one conversation; the first that matches and stops ends the list. The conversation is read
    /// only once a rule matches (most messages match none).
    func apply(_ rules: [CompiledRule], to fact: RuleFactsLoader.Loaded, trigger: RuleTrigger, in tx: WriteTransaction) async throws {
        try await RuleRunner.inCascade(in: tx) {
            var facts = fact.facts
            let id = facts.conversation.id
            var conversation = fact.conversation
            /// Whether something besides the last rule's own changes may have moved the stored conversation.
            var stale = false
            let runs = await RuleRunner.Runs.of(tx)
            for compiled in rules where !(RuleRunner.Context.cascade?.has(compiled.id, id) ?? false) {
                if stale, let fresh = try await Conversation.find(id, on: tx.db) {
                    conversation = fresh
                    facts.conversation = fresh.snapshot
                    stale = false
                }
                guard facts.matches(compiled.conditions) else { continue }
                if conversation == nil { conversation = try await Conversation.find(id, on: tx.db) }
                guard let current = conversation else { return }
                let before = runs.on(id)
                let ran = try await runner.run(compiled.rule, on: current, trigger: trigger, in: tx)
                if ran && compiled.rule.stops { break }
                guard ran else { continue }
                // What it changed is what the next rule sees. Its own changes are on `current` already; when they may have
                // set off more (another rule ran, a status or owner changed and routing reacted), the conversation is read
                // again before the next rule is looked at.
                facts.conversation = current.snapshot
                stale = runs.on(id) > before + 1 || !compiled.rule.actions.allSatisfy(\.type.changesOnlyItself)
            }
        }
    }

    /// Due times of the time-based rules: set when a conversation enters the state (pending, unanswered, resolved), gone
    /// when it leaves it; one per rule and conversation, so each fires once.
    private func keepTimers(_ rules: [CompiledRule], entered: [(UUID, RuleTrigger, Date)], left: [(UUID, RuleTrigger)],
                            in tx: WriteTransaction) async throws {
        let timed = rules.filter(\.trigger.isTimed).map(\.rule)
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

/// What the rules' conditions need of many conversations, in a few queries — and only what they need.
enum RuleFactsLoader {
    struct Loaded {
        /// Read up front only when the change did not carry the conversation; else when a rule matches.
        var conversation: Conversation?
        var facts: RuleFacts
    }

    /// Which of the conditions look past the conversation itself.
    struct Needs {
        var contact = false
        var inbox = false

        static func of(_ rules: [CompiledRule]) -> Needs {
            var needs = Needs()
            for rule in rules {
                for condition in rule.conditions.conditions {
                    switch condition.source.field {
                    case .contactLabel, .contactAttribute: needs.contact = true
                    case .language, .businessHours: needs.inbox = true
                    default: break
                    }
                }
            }
            return needs
        }

        static let all = Needs(contact: true, inbox: true)
    }

    static func load(_ ids: Set<UUID>, workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> [UUID: Loaded] {
        try await load(ids, known: [:], needs: .all, workspace: workspaceID, on: tx.db, now: tx.now)
    }

    static func load(_ ids: Set<UUID>, known: [UUID: ConversationSnapshot] = [:], needs: Needs = .all, workspace workspaceID: UUID,
                     on db: any Database, now: Date) async throws -> [UUID: Loaded] {
        guard !ids.isEmpty else { return [:] }
        let missing = ids.subtracting(known.keys)
        let read = missing.isEmpty ? [] : try await Conversation.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id ~~ missing).all()
        var snapshots = known
        for conversation in read { snapshots[try conversation.requireID()] = conversation.snapshot }
        let models = Dictionary(uniqueKeysWithValues: read.map { ($0.id ?? UUID(), $0) })
        var contacts: [UUID: Contact] = [:]
        if needs.contact {
            for contact in try await Contact.query(on: db).filter(\.$id ~~ Set(snapshots.values.map(\.contactID))).all() { contacts[contact.id ?? UUID()] = contact }
        }
        var inboxes: [UUID: Inbox] = [:]
        var fallback = "es"
        if needs.inbox {
            for inbox in try await Inbox.query(on: db).filter(\.$id ~~ Set(snapshots.values.map(\.inboxID))).all() { inboxes[inbox.id ?? UUID()] = inbox }
            fallback = try await Workspace.find(workspaceID, on: db)?.defaultLanguage ?? "es"
        }
        var loaded: [UUID: Loaded] = [:]
        for (id, snapshot) in snapshots {
            let contact = contacts[snapshot.contactID]
            let inbox = inboxes[snapshot.inboxID]
            loaded[id] = Loaded(conversation: models[id], facts: RuleFacts(
                conversation: snapshot, text: nil, language: inbox?.settings.language ?? fallback,
                contactLabels: contact?.labels ?? [], contactAttributes: contact?.attributes ?? [:],
                openNow: inbox?.businessHours?.isOpen(at: now) ?? true))
        }
        return loaded
    }
}

/// Compiled rules by workspace, with the version they were read at and when that version was last confirmed.
final class RuleCache: @unchecked Sendable {
    /// Seconds the cached rules are used without asking whether another instance changed them.
    static let trust: TimeInterval = 1
    private var entries: [UUID: (version: String, rules: [CompiledRule], confirmed: TimeInterval)] = [:]
    private let lock = NSLock()
    /// Time that only moves forward (not the store's clock, which tests hold still).
    private var uptime: TimeInterval { ProcessInfo.processInfo.systemUptime }

    func trusted(_ workspace: UUID) -> [CompiledRule]? {
        lock.withLock { entries[workspace].flatMap { uptime - $0.confirmed < Self.trust ? $0.rules : nil } }
    }

    func get(_ workspace: UUID, version: String) -> [CompiledRule]? {
        lock.withLock {
            guard let entry = entries[workspace], entry.version == version else { return nil }
            entries[workspace]?.confirmed = uptime
            return entry.rules
        }
    }

    func put(_ workspace: UUID, version: String, _ rules: [CompiledRule]) {
        lock.withLock { entries[workspace] = (version, rules, uptime) }
    }

    func forget(_ workspace: UUID) { _ = lock.withLock { entries.removeValue(forKey: workspace) } }
}
