import AtiendeCore
import AtiendeNetwork
import Fluent
import Vapor

/// `/automation-rules`: the workspace's rules (admins change them), tried against the last 7 days before saving.
enum AutomationController {
    struct RuleBody: Encodable, Sendable {
        var id: UUID
        var name: String
        var position: Int
        var isActive: Bool
        var trigger: RuleTrigger
        var afterMinutes: Int?
        var conditions: RuleConditions
        var actions: [RuleAction]
        var stops: Bool
        var runCount: Int
        var updatedAt: Date
        /// Only when the rule is made: what its webhooks are signed with.
        var secret: String?
        enum CodingKeys: String, CodingKey {
            case id, name, position, trigger, conditions, actions, stops, secret
            case isActive = "is_active", afterMinutes = "after_minutes", runCount = "run_count", updatedAt = "updated_at"
        }
    }

    static func body(_ rule: AutomationRule, secret: String? = nil) -> RuleBody {
        RuleBody(id: rule.id ?? UUID(), name: rule.name, position: rule.position, isActive: rule.isActive, trigger: rule.trigger,
                 afterMinutes: rule.afterMinutes, conditions: rule.conditions, actions: rule.actions, stops: rule.stops,
                 runCount: rule.runCount, updatedAt: rule.updatedAt, secret: secret)
    }

    struct Input: Decodable {
        var name: String?
        var trigger: RuleTrigger?
        var afterMinutes: Int?
        var conditions: RuleConditions?
        var actions: [RuleAction]?
        var stops: Bool?
        var isActive: Bool?
        var position: Int?
        enum CodingKeys: String, CodingKey {
            case name, trigger, conditions, actions, stops, position
            case afterMinutes = "after_minutes", isActive = "is_active"
        }

        /// What the service is asked to save, with values given by name turned into what they name.
        func draft(_ names: RuleValueNames) throws -> AutomationService.Draft {
            .init(name: name, trigger: trigger, afterMinutes: afterMinutes.map { .some($0) }, conditions: try names.resolve(conditions),
                  actions: try names.resolve(actions), stops: stops, isActive: isActive, position: position)
        }
    }

    static func list(_ req: Request) async throws -> Response {
        let rules = try await req.scope.query(AutomationRule.self, on: req.db).sort(\.$position).sort(\.$createdAt).all()
        return try json(rules.map { body($0) })
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let input = try req.decodeJSON(Input.self)
        try await checkWebhooks(input.actions, req)
        let secret = SecretToken.make(prefix: "whsec_")
        let names = try await RuleValueNames(workspace: scope.workspaceID, on: req.db)
        let rule = try await req.atiende.automation.create(try input.draft(names), secret: try req.atiende.secrets.seal(["secret": secret]),
                                                          workspace: scope.workspaceID, actor: scope.userID)
        return try json(body(rule, secret: secret), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let rule = try await scope.find(AutomationRule.self, try req.uuidParameter("ruleId", "automation rule"), on: req.db)
        let input = try req.decodeJSON(Input.self)
        try await checkWebhooks(input.actions, req)
        try await req.atiende.automation.update(rule, try input.draft(try await RuleValueNames(workspace: scope.workspaceID, on: req.db)), actor: scope.userID)
        return try json(body(rule))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let rule = try await scope.find(AutomationRule.self, try req.uuidParameter("ruleId", "automation rule"), on: req.db)
        try await req.atiende.automation.delete(rule, actor: scope.userID)
        return Response(status: .noContent)
    }

    struct PreviewInput: Decodable {
        var trigger: RuleTrigger?
        var conditions: RuleConditions
    }

    struct PreviewBody: Encodable, Sendable {
        var count: Int
        var numbers: [Int]
    }

    /// `POST …/automation-rules/preview`: the conversations of the last 7 days the conditions match; nothing changes.
    static func preview(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let input = try req.decodeJSON(PreviewInput.self)
        let names = try await RuleValueNames(workspace: scope.workspaceID, on: req.db)
        let numbers = try await req.atiende.automation.preview(try names.resolve(input.conditions) ?? input.conditions, trigger: input.trigger ?? .messageReceived, workspace: scope.workspaceID)
        return try json(PreviewBody(count: numbers.count, numbers: Array(numbers.prefix(100))))
    }

    /// A rule's webhook never calls this machine or a private network (unless the instance allows it).
    static func checkWebhooks(_ actions: [RuleAction]?, _ req: Request) async throws {
        for action in actions ?? [] where action.type == .sendWebhook {
            guard let host = URL(string: action.value ?? "")?.host else { continue }
            do {
                try await req.atiende.config.outbound.checkSetting(host: host)
            } catch let refused as OutboundGuard.Refused {
                throw AtiendeError.invalid("send_webhook: \(refused.description)", code: "internal_target", parameters: ["field": "send_webhook"])
            }
        }
    }
}
