import AtiendeCore
import Fluent
import Foundation
import Vapor

/// What a rule's values name, in the words people use: a member by name or email, a team or inbox by name, a canned
/// response by its `/shortcut`, a priority, status or business-hours state by its name in Spanish or English. Values
/// that are already what the API stores (ids, codes) pass as they are; the rest are turned into them before the rule is
/// checked. The rules page shows stored values back by the same names (`display`), so editing a rule round-trips.
struct RuleValueNames {
    enum Kind { case member, team, inbox, canned, priority, status, hours, free }

    static func kind(of field: RuleCondition.Field) -> Kind {
        switch field {
        case .assignee: .member
        case .team: .team
        case .inbox: .inbox
        case .priority: .priority
        case .status: .status
        case .businessHours: .hours
        default: .free
        }
    }

    static func kind(of action: RuleAction.Kind) -> Kind {
        switch action {
        case .assignAgent, .mention: .member
        case .assignTeam: .team
        case .sendCanned: .canned
        case .setPriority: .priority
        case .setStatus: .status
        default: .free
        }
    }

    /// Every name a value of `kind` may be given by, folded, with what it stands for (a name two things share stands
    /// for neither, and is refused as it is).
    private var names: [Kind: [String: String]] = [:]

    init(workspace workspaceID: UUID, on db: any Database) async throws {
        func add(_ kind: Kind, _ name: String, _ value: String) {
            let key = Self.fold(name)
            guard !key.isEmpty else { return }
            if let known = names[kind]?[key], known != value { names[kind]?[key] = "" } else { names[kind, default: [:]][key] = value }
        }
        for member in try await Membership.query(on: db).filter(\.$workspace.$id == workspaceID).with(\.$user).all() {
            let id = member.$user.id.uuidString
            add(.member, member.user.name, id)
            add(.member, member.user.email, id)
        }
        for team in try await Team.query(on: db).filter(\.$workspace.$id == workspaceID).all() { add(.team, team.name, team.id?.uuidString ?? "") }
        for inbox in try await Inbox.query(on: db).filter(\.$workspace.$id == workspaceID).all() { add(.inbox, inbox.name, inbox.id?.uuidString ?? "") }
        for canned in try await CannedResponse.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$ownerID == nil).all() {
            add(.canned, canned.shortcut, canned.id?.uuidString ?? "")
            add(.canned, "/" + canned.shortcut, canned.id?.uuidString ?? "")
        }
        for language in Localizer.Language.allCases {
            let t = Localizer(language)
            for priority in Priority.allCases { add(.priority, t("priority.\(priority.rawValue)"), priority.rawValue) }
            for status in ConversationStatus.allCases { add(.status, t("status.\(status.rawValue)"), status.rawValue) }
            for hours in ["open", "closed"] { add(.hours, t("rules.hours.\(hours)"), hours) }
        }
    }

    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).trimmingCharacters(in: .whitespaces)
    }

    /// The stored value for what was typed: itself when it is already one, else what its name stands for.
    /// `value` as stored; a name two things share is refused (`parameters` say which action or condition).
    func resolve(_ value: String?, _ kind: Kind, _ parameters: [String: String]) throws -> String? {
        guard let value, kind != .free, !value.isEmpty else { return value }
        if UUID(uuidString: value) != nil { return value }
        switch kind {
        case .priority where Priority(rawValue: value) != nil: return value
        case .status where ConversationStatus(rawValue: value) != nil: return value
        case .hours where ["open", "closed"].contains(value): return value
        default: break
        }
        guard let found = names[kind]?[Self.fold(value)] else { return value }
        guard !found.isEmpty else {
            throw AtiendeError.invalid("'\(value)' names more than one; pick one from the suggestions", code: "ambiguous_name",
                                       parameters: parameters.merging(["name": value]) { $1 })
        }
        return found
    }

    func resolve(_ conditions: RuleConditions?) throws -> RuleConditions? {
        guard var set = conditions else { return nil }
        set.conditions = try set.conditions.map { condition in
            var c = condition
            c.value = try resolve(c.value, Self.kind(of: c.field), ["field": "rules.field.\(c.field.rawValue)"])
            return c
        }
        return set
    }

    func resolve(_ actions: [RuleAction]?) throws -> [RuleAction]? {
        try actions?.map { action in
            var a = action
            a.value = try resolve(a.value, Self.kind(of: a.type), ["action": "rules.action.\(a.type.rawValue)"])
            return a
        }
    }

    /// A stored value as the rules page shows it to be edited: the name it was given by.
    static func display(_ value: String?, _ kind: Kind, desk: Desk, canned: [CannedResponse]) -> String? {
        guard let value, !value.isEmpty else { return value }
        let t = desk.t
        let id = UUID(uuidString: value)
        switch kind {
        // By what names it alone: a member by email; an inbox by name unless another has it too.
        case .member: return desk.members.first { $0.user.id == id }?.user.email ?? value
        case .team: return desk.teams.first { $0.id == id }?.name ?? value
        case .inbox:
            guard let name = desk.inboxes.first(where: { $0.id == id })?.name else { return value }
            return desk.inboxes.filter { fold($0.name) == fold(name) }.count == 1 ? name : value
        case .canned: return canned.first { $0.id == id }.map { "/" + $0.shortcut } ?? value
        case .priority: return Priority(rawValue: value).map { t("priority.\($0.rawValue)") } ?? value
        case .status: return ConversationStatus(rawValue: value).map { t("status.\($0.rawValue)") } ?? value
        case .hours: return ["open", "closed"].contains(value) ? t("rules.hours.\(value)") : value
        case .free: return value
        }
    }
}
