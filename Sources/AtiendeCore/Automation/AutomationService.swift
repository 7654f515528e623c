import FluentKit
import Foundation
import SQLKit

/// Automation rules: saved with every condition and action checked against the workspace, ordered, tried against the
/// last 7 days before saving (preview), and the time-based ones fired from their due times (`scanTimers`).
public struct AutomationService: Sendable {
    public let store: Store
    let reaction: AutomationReaction

    public init(store: Store, reaction: AutomationReaction) {
        self.store = store
        self.reaction = reaction
    }

    public static let maxConditions = 20, maxActions = 10

    public struct Draft: Sendable {
        public var name: String?
        public var trigger: RuleTrigger?
        public var afterMinutes: Int??
        public var conditions: RuleConditions?
        public var actions: [RuleAction]?
        public var stops: Bool?
        public var isActive: Bool?
        public var position: Int?
        public init(name: String? = nil, trigger: RuleTrigger? = nil, afterMinutes: Int?? = nil, conditions: RuleConditions? = nil,
                    actions: [RuleAction]? = nil, stops: Bool? = nil, isActive: Bool? = nil, position: Int? = nil) {
            self.name = name; self.trigger = trigger; self.afterMinutes = afterMinutes; self.conditions = conditions
            self.actions = actions; self.stops = stops; self.isActive = isActive; self.position = position
        }
    }

    public func create(_ draft: Draft, secret: Data?, workspace workspaceID: UUID, actor: UUID) async throws -> AutomationRule {
        guard draft.name != nil, draft.trigger != nil, draft.actions != nil else {
            throw AtiendeError.invalid("'name', 'trigger' and 'actions' are required", code: "invalid_rule")
        }
        let rule = AutomationRule()
        rule.$workspace.id = workspaceID
        rule.sealedSecret = secret
        rule.runCount = 0
        rule.createdAt = Date()
        rule.isActive = true
        rule.stops = false
        rule.conditionsJSON = try EventLog.json(RuleConditions())
        try await save(rule, draft, event: .automationRuleCreated, actor: actor)
        return rule
    }

    public func update(_ rule: AutomationRule, _ draft: Draft, actor: UUID) async throws {
        try await save(rule, draft, event: .automationRuleUpdated, actor: actor)
    }

    public func delete(_ rule: AutomationRule, actor: UUID) async throws {
        let id = try rule.requireID()
        try await store.write { tx in
            try await tx.lockWorkspace(rule.$workspace.id)
            try await tx.sql.raw("DELETE FROM rule_timers WHERE rule_id = \(bind: id)").run()
            try await rule.delete(on: tx.db)
            // The rest keep their order, numbered 1, 2, 3…
            for (index, other) in try await AutomationRule.query(on: tx.db).filter(\.$workspace.$id == rule.$workspace.id)
                .sort(\.$position).sort(\.$createdAt).all().enumerated() where other.position != index + 1 {
                other.position = index + 1
                try await other.save(on: tx.db)
            }
            try await EventLog.append(.automationRuleDeleted, workspace: rule.$workspace.id, actor: actor, payload: RecordEventPayload(id: id, name: rule.name), in: tx)
            let workspaceID = rule.$workspace.id
            tx.onCommit { [store] in store.ruleCache.forget(workspaceID) }
        }
    }

    private func save(_ rule: AutomationRule, _ draft: Draft, event: EventType, actor: UUID) async throws {
        let workspaceID = rule.$workspace.id
        var changes: [String] = []
        if let name = draft.name { rule.name = try Names.valid(name); changes.append("name") }
        if let trigger = draft.trigger { rule.trigger = trigger; changes.append("trigger") }
        if let minutes = draft.afterMinutes { rule.afterMinutes = minutes; changes.append("after_minutes") }
        if let stops = draft.stops { rule.stops = stops; changes.append("stops") }
        if let active = draft.isActive { rule.isActive = active; changes.append("is_active") }
        if draft.conditions != nil { changes.append("conditions") }
        if draft.actions != nil { changes.append("actions") }
        let changed = changes
        if rule.trigger.isTimed {
            guard let minutes = rule.afterMinutes, (1...129_600).contains(minutes) else {
                throw AtiendeError.invalid("a time-based rule needs after_minutes, 1 to 129600 (90 days)", code: "invalid_rule")
            }
        } else {
            rule.afterMinutes = nil
        }
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let conditions = draft.conditions {
                rule.conditionsJSON = try EventLog.json(try await Self.check(conditions, workspace: workspaceID, on: tx.db))
            }
            if let actions = draft.actions {
                rule.actionsJSON = try EventLog.json(try await Self.check(actions, workspace: workspaceID, on: tx.db))
            }
            if let position = draft.position, let id = rule.id {
                // Moved to a place in the order: the others make room, numbered 1, 2, 3…
                var order = try await AutomationRule.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id != id)
                    .sort(\.$position).sort(\.$createdAt).all()
                let at = min(max(position, 1), order.count + 1)
                order.insert(rule, at: at - 1)
                for (index, other) in order.enumerated() where other.id != id && other.position != index + 1 {
                    other.position = index + 1
                    try await other.save(on: tx.db)
                }
                rule.position = at
            } else if rule.id == nil {
                let last = try await AutomationRule.query(on: tx.db).filter(\.$workspace.$id == workspaceID).max(\.$position) ?? 0
                rule.position = last + 1
            }
            rule.updatedAt = tx.now
            try await rule.save(on: tx.db)
            let id = try rule.requireID()
            // A time-based rule starts with the conversations already in its state.
            try await tx.sql.raw("DELETE FROM rule_timers WHERE rule_id = \(bind: id)").run()
            if rule.isActive, rule.trigger.isTimed { try await Self.backfill(rule, in: tx) }
            try await EventLog.append(event, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: id, name: rule.name, detail: rule.trigger.rawValue, changes: changed), in: tx)
            tx.onCommit { [store] in store.ruleCache.forget(workspaceID) }
        }
    }

    static func backfill(_ rule: AutomationRule, in tx: WriteTransaction) async throws {
        let minutes = TimeInterval((rule.afterMinutes ?? 60) * 60)
        let query = Conversation.query(on: tx.db).filter(\.$workspace.$id == rule.$workspace.id)
        switch rule.trigger {
        case .pendingFor: query.filter(\.$status == .pending)
        case .resolvedAgo: query.filter(\.$status == .resolved)
        default: query.filter(\.$status == .open).filter(\.$waitingSince != nil)
        }
        let rows = try await query.all().map { conversation -> SQLQueryString in
            let since = rule.trigger == .resolvedAgo ? (conversation.resolvedAt ?? conversation.updatedAt)
                : rule.trigger == .unansweredFor ? (conversation.waitingSince ?? conversation.updatedAt) : conversation.updatedAt
            return "(\(bind: UUID()), \(bind: rule.$workspace.id), \(bind: rule.id ?? UUID()), \(bind: conversation.id ?? UUID()), \(bind: since.addingTimeInterval(minutes)))"
        }
        for chunk in stride(from: 0, to: rows.count, by: 500) {
            try await tx.sql.raw("""
                INSERT INTO rule_timers (id, workspace_id, rule_id, conversation_id, due_at) VALUES \(rows[chunk..<min(chunk + 500, rows.count)].joined(separator: ", "))
                """).run()
        }
    }

    /// Every id a condition names is the workspace's; values are of their kind; a pattern compiles and is short.
    static func check(_ conditions: RuleConditions, workspace workspaceID: UUID, on db: any Database) async throws -> RuleConditions {
        guard conditions.conditions.count <= maxConditions else {
            throw AtiendeError.invalid("a rule has at most \(maxConditions) conditions", code: "invalid_rule")
        }
        for condition in conditions.conditions {
            let value = condition.value ?? ""
            let named = ["field": "rules.field.\(condition.field.rawValue)"]
            let bad = { (why: String) in AtiendeError.invalid("condition \(condition.field.rawValue): \(why)", code: "invalid_condition", parameters: named) }
            switch condition.field {
            case .inbox:
                guard let id = UUID(uuidString: value), try await Inbox.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id).count() == 1
                else { throw AtiendeError(.notFound, code: "inbox_not_found", "condition inbox: not an inbox of this workspace", parameters: named) }
            case .assignee, .team:
                if [.isSet, .isNotSet].contains(condition.op) { continue }
                guard let id = UUID(uuidString: value) else { throw bad("a member's or team's id") }
                let found = condition.field == .assignee
                    ? try await Membership.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == id).count()
                    : try await Team.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id).count()
                guard found == 1 else {
                    throw AtiendeError(.notFound, code: condition.field == .assignee ? "member_not_found" : "team_not_found",
                                       "condition \(condition.field.rawValue): not of this workspace", parameters: named)
                }
            case .priority: guard Priority(rawValue: value) != nil else { throw bad("none, low, medium, high or urgent") }
            case .status: guard ConversationStatus(rawValue: value) != nil else { throw bad("a status") }
            case .messageCount: guard Int(value) != nil else { throw bad("a whole number") }
            case .businessHours: guard ["open", "closed"].contains(value) else { throw bad("open or closed") }
            case .contactAttribute: guard let key = condition.key, (1...64).contains(key.count) else { throw bad("name the attribute in 'key'") }
            case .text:
                guard (1...200).contains(value.count) else { throw bad("1 to 200 characters") }
                if condition.op == .matches, (try? NSRegularExpression(pattern: value)) == nil { throw bad("the pattern does not compile") }
            case .channel, .language, .label, .contactLabel:
                guard (1...64).contains(value.count) else { throw bad("1 to 64 characters") }
            }
        }
        return conditions
    }

    /// Every action names what exists here (members, teams, a shared canned response), with values of its kind.
    static func check(_ actions: [RuleAction], workspace workspaceID: UUID, on db: any Database) async throws -> [RuleAction] {
        guard (1...maxActions).contains(actions.count) else { throw AtiendeError.invalid("a rule has 1 to \(maxActions) actions", code: "invalid_rule") }
        var checked: [RuleAction] = []
        for var action in actions {
            let value = action.value ?? ""
            let named = ["action": "rules.action.\(action.type.rawValue)"]
            let bad = { (why: String) in AtiendeError.invalid("action \(action.type.rawValue): \(why)", code: "invalid_action", parameters: named) }
            switch action.type {
            case .assignAgent, .mention:
                guard let id = UUID(uuidString: value),
                      try await Membership.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == id).count() == 1
                else { throw AtiendeError(.notFound, code: "member_not_found", "action \(action.type.rawValue): not a member of this workspace", parameters: named) }
                action.value = id.uuidString
            case .assignTeam:
                guard let id = UUID(uuidString: value), try await Team.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id).count() == 1
                else { throw AtiendeError(.notFound, code: "team_not_found", "action assign_team: not a team of this workspace", parameters: named) }
                action.value = id.uuidString
            case .sendCanned:
                guard let id = UUID(uuidString: value),
                      try await CannedResponse.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id).filter(\.$ownerID == nil).count() == 1
                else { throw AtiendeError(.notFound, code: "canned_response_not_found", "action send_canned: not a shared canned response of this workspace", parameters: named) }
                action.value = id.uuidString
            case .addLabel, .removeLabel: action.value = try ConversationService.normalizeLabels([value]).first
            case .setPriority: guard Priority(rawValue: value) != nil else { throw bad("none, low, medium, high or urgent") }
            case .setStatus: guard ["open", "pending", "resolved"].contains(value) else { throw bad("open, pending or resolved") }
            case .snooze: guard let minutes = Int(value), (1...525_600).contains(minutes) else { throw bad("1 to 525600 minutes") }
            case .sendMessage, .addNote:
                let text = action.text ?? ""
                try Placeholders.validate(text)
                try ConversationService.ReplyDraft(text: text, isNote: true).validate(files: 0)
            case .sendWebhook:
                guard let url = URL(string: value), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil, value.count <= 2000
                else { throw bad("an http or https URL") }
            case .assignByPolicy, .unassign, .resurface: break
            }
            if let text = action.text, action.type == .mention { try ConversationService.ReplyDraft(text: text, isNote: true).validate(files: 0) }
            checked.append(action)
        }
        return checked
    }

    /// What a rule would have matched in the last 7 days: the conversations whose state (and, for message triggers, one of
    /// whose customer messages) meets its conditions. Nothing is changed.
    public func preview(_ conditions: RuleConditions, trigger: RuleTrigger, workspace workspaceID: UUID) async throws -> [Int] {
        let valid = try await Self.check(conditions, workspace: workspaceID, on: store.db)
        let db = store.db
        let since = store.clock.now().addingTimeInterval(-7 * 86_400)
        let ids = try await Conversation.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$lastMessageAt >= since)
            .sort(\.$lastMessageAt, .descending).limit(5000).all().compactMap(\.id)
        let facts = try await RuleFactsLoader.load(Set(ids), workspace: workspaceID, on: db, now: store.clock.now())
        let needsText = valid.conditions.contains { $0.field == .text }
        let compiled = CompiledConditions(valid)
        var texts: [UUID: [String]] = [:]
        if needsText, !ids.isEmpty {
            for message in try await Message.query(on: db).filter(\.$conversation.$id ~~ ids).filter(\.$kind == .incoming)
                .filter(\.$createdAt >= since).all() {
                texts[message.$conversation.id, default: []].append(message.text)
            }
        }
        var numbers: [Int] = []
        for id in ids {
            guard let loaded = facts[id] else { continue }
            var fact = loaded.facts
            let candidates: [String?] = needsText ? (texts[id] ?? []).map(Optional.some) : [nil]
            if candidates.contains(where: { text in fact.text = text; return fact.matches(compiled) }) { numbers.append(loaded.facts.conversation.number) }
        }
        return numbers.sorted(by: >)
    }

    /// The time-based rules whose due time has come: each runs once per conversation (its due time goes in the same
    /// transaction), if the conversation is still in the state and meets the conditions.
    @discardableResult
    public func scanTimers() async throws -> Int {
        let due = try await store.sql.raw("""
            SELECT id, workspace_id FROM rule_timers WHERE due_at <= \(bind: store.clock.now()) ORDER BY due_at LIMIT 500
            """).all()
        var fired = 0
        for (workspaceID, timers) in try RoutingScanner.byWorkspace(due) {
            fired += try await store.write { tx in
                try await tx.lockWorkspace(workspaceID)
                let rows = try await tx.sql.raw("""
                    SELECT id, rule_id, conversation_id FROM rule_timers WHERE id IN (\(SQLList(timers.map { SQLBind($0) })))
                    """).all()
                try await tx.sql.raw("DELETE FROM rule_timers WHERE id IN (\(SQLList(timers.map { SQLBind($0) })))").run()
                let rules = Dictionary(uniqueKeysWithValues: try await AutomationReaction.rules(workspace: workspaceID, in: tx).map { ($0.id, $0) })
                let conversationIDs = Set(try rows.map { try $0.decode(column: "conversation_id", as: UUID.self) })
                let facts = try await RuleFactsLoader.load(conversationIDs, workspace: workspaceID, in: tx)
                var count = 0
                for row in rows {
                    guard let rule = rules[try row.decode(column: "rule_id", as: UUID.self)],
                          let fact = facts[try row.decode(column: "conversation_id", as: UUID.self)] else { continue }
                    let c = fact.facts.conversation
                    let still = switch rule.trigger {
                    case .pendingFor: c.status == .pending
                    case .resolvedAgo: c.status == .resolved
                    case .unansweredFor: c.status == .open && c.waitingSince != nil
                    default: false
                    }
                    guard still else { continue }
                    try await reaction.apply([rule], to: fact, trigger: rule.trigger, in: tx)
                    count += 1
                }
                return count
            }
        }
        return fired
    }
}
