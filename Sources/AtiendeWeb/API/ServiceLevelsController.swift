import AtiendeCore
import Fluent
import Vapor

/// Service-level policies, an inbox's hours / policy / automatic answers, and compliance.
enum ServiceLevelsController {
    struct PolicyResponse: Encodable {
        var id: UUID
        var name: String
        var isDefault: Bool
        var rules: ServiceLevelRules
        enum CodingKeys: String, CodingKey { case id, name, rules, isDefault = "is_default" }
        init(_ policy: ServiceLevelPolicy) {
            id = policy.id ?? UUID()
            name = policy.name
            isDefault = policy.isDefault
            rules = policy.rules
        }
    }

    struct PolicyBody: Decodable {
        var name: String?
        var isDefault: Bool?
        var rules: ServiceLevelRules?
        enum CodingKeys: String, CodingKey { case name, rules, isDefault = "is_default" }
    }

    static func list(_ req: Request) async throws -> Response {
        let policies = try await req.scope.query(ServiceLevelPolicy.self, on: req.db).sort(\.$createdAt).all()
        return try json(policies.map(PolicyResponse.init))
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let body = try req.decodeJSON(PolicyBody.self)
        let policy = ServiceLevelPolicy()
        policy.$workspace.id = scope.workspaceID
        policy.name = try Names.valid(body.name ?? "")
        policy.isDefault = body.isDefault ?? false
        policy.rules = body.rules ?? ServiceLevelRules.defaults
        try await req.atiende.policies.save(policy, actor: scope.userID)
        return try json(PolicyResponse(policy), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let policy = try await scope.find(ServiceLevelPolicy.self, try req.uuidParameter("policyId", "service-level policy"), on: req.db)
        let body = try req.decodeJSON(PolicyBody.self)
        if let name = body.name { policy.name = try Names.valid(name) }
        if let isDefault = body.isDefault { policy.isDefault = isDefault }
        if let rules = body.rules { policy.rules = rules }
        try await req.atiende.policies.save(policy, actor: scope.userID)
        return try json(PolicyResponse(policy))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let policy = try await scope.find(ServiceLevelPolicy.self, try req.uuidParameter("policyId", "service-level policy"), on: req.db)
        try await req.atiende.policies.delete(policy, actor: scope.userID)
        return Response(status: .noContent)
    }

    struct InboxService: Codable {
        var businessHours: BusinessHours?
        var slaPolicyID: UUID?
        var autoReplies: AutoReplies?
        enum CodingKeys: String, CodingKey { case businessHours = "business_hours", slaPolicyID = "sla_policy_id", autoReplies = "auto_replies" }
    }

    static func inboxService(_ inbox: Inbox) -> InboxService {
        InboxService(
            businessHours: inbox.businessHours, slaPolicyID: inbox.slaPolicyID, autoReplies: inbox.autoReplies)
    }

    /// `GET …/inboxes/{inboxId}/service-levels`
    static func showInbox(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        return try json(inboxService(inbox))
    }

    /// `PUT …/inboxes/{inboxId}/service-levels`: hours (null = around the clock), policy (null = the default), answers.
    static func putInbox(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let body = try req.decodeJSON(InboxService.self)
        try await apply(body, to: inbox, scope: scope, req: req)
        return try json(inboxService(inbox))
    }

    /// Stores an inbox's hours, policy and answers and gives its active conversations their new deadlines.
    static func apply(_ body: InboxService, to inbox: Inbox, scope: Scope, req: Request) async throws {
        try await req.atiende.policies.setInbox(inbox, hours: body.businessHours, policy: body.slaPolicyID, autoReplies: body.autoReplies,
                                                actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
    }

    /// `GET …/reports/service-levels?from=&to=&group_by=channel|policy|team|agent`
    static func compliance(_ req: Request) async throws -> Response {
        let scope = try req.scope
        func date(_ name: String, _ fallback: Date) throws -> Date {
            guard let raw = req.query[String.self, at: name], !raw.isEmpty else { return fallback }
            guard let value = ISO8601.date(raw) else { throw AtiendeError.invalid("'\(name)' must be an ISO-8601 date-time", code: "invalid_period") }
            return value
        }
        let now = req.atiende.store.clock.now()
        let to = try date("to", now)
        let from = try date("from", to.addingTimeInterval(-30 * 86_400))
        guard from < to else { throw AtiendeError.invalid("'from' must be before 'to'", code: "invalid_period") }
        let grouping = try req.queryEnum("group_by", ServiceLevelReport.Grouping.self) ?? .channel
        let groups = try await ServiceLevelReport.compliance(workspace: scope.workspaceID, from: from, to: to, by: grouping, on: req.atiende.store.sql)
        struct Report: Encodable {
            var from: Date, to: Date, groupBy: String, groups: [ServiceLevelReport.Group]
            enum CodingKeys: String, CodingKey { case from, to, groups, groupBy = "group_by" }
        }
        return try json(Report(from: from, to: to, groupBy: grouping.rawValue, groups: groups))
    }
}
