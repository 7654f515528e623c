import FluentKit
import Foundation

/// When something happens (or has not happened for a while), if the conversation is so, then do this. A workspace's
/// rules run in their order; one can stop the rest.
public final class AutomationRule: Model, @unchecked Sendable {
    public static let schema = "automation_rules"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "name") public var name: String
    @Field(key: "position") public var position: Int
    @Field(key: "is_active") public var isActive: Bool
    @Field(key: "trigger") public var trigger: RuleTrigger
    /// For the time-based triggers: how long, in minutes.
    @OptionalField(key: "after_minutes") public var afterMinutes: Int?
    /// `RuleConditions` as JSON.
    @Field(key: "conditions") public var conditionsJSON: String
    /// `[RuleAction]` as JSON.
    @Field(key: "actions") public var actionsJSON: String
    /// When it matched, the rules after it are not looked at.
    @Field(key: "stops") public var stops: Bool
    /// Signs what its webhooks send (HMAC-SHA256), shown once when the rule is made.
    @OptionalField(key: "secret") public var sealedSecret: Data?
    @Field(key: "run_count") public var runCount: Int
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}

    public var conditions: RuleConditions { JSON.decode(RuleConditions.self, from: conditionsJSON) ?? RuleConditions() }
    public var actions: [RuleAction] { JSON.decode([RuleAction].self, from: actionsJSON) ?? [] }
}

extension AutomationRule: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<AutomationRule, FieldProperty<AutomationRule, UUID>> { \.$workspace.$id }
    public static var displayName: String { "automation rule" }
}

/// What sets a rule off.
public enum RuleTrigger: String, Codable, Sendable, CaseIterable {
    case conversationCreated = "conversation_created"
    case messageReceived = "message_received"
    case statusChanged = "status_changed"
    case priorityChanged = "priority_changed"
    case assigneeChanged = "assignee_changed"
    case labelsChanged = "labels_changed"
    case slaWarning = "sla_warning"
    case slaBreach = "sla_breach"
    /// Pending (waiting on the customer) for `after_minutes`.
    case pendingFor = "pending_for"
    /// Open with the customer's message unanswered for `after_minutes`.
    case unansweredFor = "unanswered_for"
    /// Resolved `after_minutes` ago (and not reopened).
    case resolvedAgo = "resolved_ago"

    public var isTimed: Bool { [.pendingFor, .unansweredFor, .resolvedAgo].contains(self) }
}

/// Conditions joined by all or any; none: always.
public struct RuleConditions: Codable, Sendable, Equatable {
    public enum Match: String, Codable, Sendable { case all, any }
    public var match: Match
    public var conditions: [RuleCondition]

    public init(match: Match = .all, conditions: [RuleCondition] = []) {
        self.match = match
        self.conditions = conditions
    }
}

/// One test of a conversation: `field` `op` `value` (`key` names a contact attribute).
public struct RuleCondition: Codable, Sendable, Equatable {
    public enum Field: String, Codable, Sendable, CaseIterable {
        case inbox, channel, text, contactLabel = "contact_label", contactAttribute = "contact_attribute", language, priority, status
        case businessHours = "business_hours", assignee, team, label, messageCount = "message_count"
    }

    public enum Op: String, Codable, Sendable, CaseIterable {
        case `is`, isNot = "is_not", contains, notContains = "not_contains", matches, has, hasNot = "has_not"
        case isSet = "is_set", isNotSet = "is_not_set", atLeast = "at_least", greaterThan = "greater_than", lessThan = "less_than"
    }

    public var field: Field
    public var op: Op
    public var value: String?
    public var key: String?

    public init(field: Field, op: Op, value: String? = nil, key: String? = nil) {
        self.field = field
        self.op = op
        self.value = value
        self.key = key
    }
}

/// One thing a rule does.
public struct RuleAction: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case assignAgent = "assign_agent", assignTeam = "assign_team", assignByPolicy = "assign_by_policy", unassign
        case addLabel = "add_label", removeLabel = "remove_label", setPriority = "set_priority", setStatus = "set_status", snooze
        case sendCanned = "send_canned", sendMessage = "send_message", addNote = "add_note", mention, sendWebhook = "send_webhook"
        /// Back to the top of the queue (its last activity now), its agent alerted — or, with nobody on it, the supervisors.
        case resurface

        /// Whether the action changes nothing a rule's condition reads but what it sets itself: no owner, status or message
        /// that routing or other rules react to by changing the conversation further (a priority moves only its
        /// service-level deadlines, which no condition reads).
        var changesOnlyItself: Bool {
            switch self {
            case .addLabel, .removeLabel, .setPriority, .sendWebhook: true
            default: false
            }
        }
    }

    public var type: Kind
    /// The member, team, label, priority, status, minutes, canned response or URL the action takes.
    public var value: String?
    /// The text of a message or note (variables allowed).
    public var text: String?

    public init(type: Kind, value: String? = nil, text: String? = nil) {
        self.type = type
        self.value = value
        self.text = text
    }
}

extension AutomationRule {
    /// "Always answer", on in every workspace from the start: a customer message four hours without a public reply
    /// comes back to the top of the queue and its agent is told.
    public static func alwaysAnswer(workspace workspaceID: UUID, language: String, at now: Date) -> AutomationRule {
        let rule = AutomationRule()
        rule.$workspace.id = workspaceID
        rule.name = language == "en" ? "Always answer" : "Siempre responder"
        rule.position = 1
        rule.isActive = true
        rule.trigger = .unansweredFor
        rule.afterMinutes = 240
        rule.conditionsJSON = (try? EventLog.json(RuleConditions())) ?? "{}"
        rule.actionsJSON = (try? EventLog.json([RuleAction(type: .resurface)])) ?? "[]"
        rule.stops = false
        rule.runCount = 0
        rule.createdAt = now
        rule.updatedAt = now
        return rule
    }
}

/// A rule's conditions made ready to test many conversations: values folded (case and accents) and patterns compiled
/// once, when the rules are read, not for every message.
struct CompiledConditions: @unchecked Sendable {
    struct Condition {
        var source: RuleCondition
        var folded: String
        /// The folded value as bytes, for the substring test every message makes.
        var foldedBytes: [UInt8]
        /// The value lower-cased, for the equality tests.
        var lowered: String
        /// The value as an id (inbox, assignee, team).
        var id: UUID?
        var regex: NSRegularExpression?
    }

    var match: RuleConditions.Match
    var conditions: [Condition]

    init(_ conditions: RuleConditions) {
        match = conditions.match
        self.conditions = conditions.conditions.map { condition in
            let folded = RuleFacts.fold(condition.value ?? "")
            return Condition(source: condition, folded: folded, foldedBytes: Array(folded.utf8), lowered: (condition.value ?? "").lowercased(),
                             id: condition.value.flatMap(UUID.init(uuidString:)),
                             regex: condition.op == .matches ? try? NSRegularExpression(pattern: condition.value ?? "", options: [.caseInsensitive]) : nil)
        }
    }
}

/// A rule as the reactions use it: the record, and its conditions compiled.
struct CompiledRule: Sendable {
    var rule: AutomationRule
    var conditions: CompiledConditions
    var id: UUID { rule.id ?? UUID() }
    var trigger: RuleTrigger { rule.trigger }

    init(_ rule: AutomationRule) {
        self.rule = rule
        conditions = CompiledConditions(rule.conditions)
    }
}

/// What a rule's conditions look at in one conversation.
struct RuleFacts {
    var conversation: ConversationSnapshot
    /// The message that set the rules off (folded once, for every rule that looks at it).
    var text: String? { didSet { foldedText = text.map(Self.fold); foldedBytes = foldedText.map { Array($0.utf8) } ?? [] } }
    var language: String
    var contactLabels: [String]
    var contactAttributes: [String: String]
    var openNow: Bool
    private(set) var foldedText: String?
    private(set) var foldedBytes: [UInt8] = []

    init(conversation: ConversationSnapshot, text: String?, language: String, contactLabels: [String], contactAttributes: [String: String],
         openNow: Bool) {
        self.conversation = conversation
        self.text = text
        self.language = language
        self.contactLabels = contactLabels.map(Self.fold)
        self.contactAttributes = contactAttributes
        self.openNow = openNow
        self.foldedText = text.map(Self.fold)
        self.foldedBytes = foldedText.map { Array($0.utf8) } ?? []
    }

    /// Whether `needle` occurs in `haystack` (bytes of folded text): the test every rule makes of every message, kept
    /// off Foundation's slower string search.
    static func occurs(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    func matches(_ conditions: CompiledConditions) -> Bool {
        guard !conditions.conditions.isEmpty else { return true }
        switch conditions.match {
        case .all: return conditions.conditions.allSatisfy(holds)
        case .any: return conditions.conditions.contains(where: holds)
        }
    }

    func matches(_ conditions: RuleConditions) -> Bool { matches(CompiledConditions(conditions)) }

    static func fold(_ text: String) -> String { text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil) }

    func holds(_ compiled: CompiledConditions.Condition) -> Bool {
        let condition = compiled.source
        let value = condition.value ?? ""
        let c = conversation
        func equal(_ actual: String?) -> Bool {
            switch condition.op {
            case .is: actual?.lowercased() == compiled.lowered
            case .isNot: actual?.lowercased() != compiled.lowered
            case .isSet: actual != nil
            case .isNotSet: actual == nil
            default: false
            }
        }
        func same(_ actual: UUID?) -> Bool {
            switch condition.op {
            case .is: actual != nil && actual == compiled.id
            case .isNot: actual == nil || actual != compiled.id
            case .isSet: actual != nil
            case .isNotSet: actual == nil
            default: false
            }
        }
        /// Names Atiende writes in lower case (a channel, status, priority): compared as they are.
        func named(_ actual: String) -> Bool {
            switch condition.op {
            case .is: actual == compiled.lowered
            case .isNot: actual != compiled.lowered
            default: false
            }
        }
        func list(_ folded: [String]) -> Bool {
            switch condition.op {
            case .has: return folded.contains(compiled.folded)
            case .hasNot: return !folded.contains(compiled.folded)
            default: return false
            }
        }
        switch condition.field {
        case .inbox: return same(c.inboxID)
        case .channel: return named(c.channel.rawValue)
        case .language: return equal(language)
        case .status: return named(c.status.rawValue)
        case .assignee: return same(c.assigneeID)
        case .team: return same(c.teamID)
        case .label: return c.labels.isEmpty ? condition.op == .hasNot : list(c.labels.map(Self.fold))
        case .contactLabel: return list(contactLabels)
        case .businessHours: return (value == "open") == openNow
        case .priority:
            guard condition.op == .atLeast else { return named(c.priority.rawValue) }
            return (Priority(rawValue: value).map { c.priority.rank >= $0.rank }) ?? false
        case .messageCount:
            guard let number = Int(value) else { return false }
            switch condition.op {
            case .greaterThan: return c.messageCount > number
            case .lessThan: return c.messageCount < number
            case .is: return c.messageCount == number
            default: return false
            }
        case .contactAttribute:
            let actual = condition.key.flatMap { contactAttributes[$0] }
            switch condition.op {
            case .contains: return actual.map { Self.fold($0).contains(compiled.folded) } ?? false
            default: return equal(actual)
            }
        case .text:
            guard let text, foldedText != nil else { return false }
            switch condition.op {
            case .contains: return Self.occurs(compiled.foldedBytes, in: foldedBytes)
            case .notContains: return !Self.occurs(compiled.foldedBytes, in: foldedBytes)
            case .matches:
                // Compiled when the rules are read; the text is bounded, so a pattern cannot run away.
                guard let regex = compiled.regex else { return false }
                let bounded = String(text.prefix(4000))
                return regex.firstMatch(in: bounded, range: NSRange(bounded.startIndex..., in: bounded)) != nil
            default: return false
            }
        }
    }
}
