import AtiendeCore
import Fluent
import Vapor

/// Compensations over the API: the workspace's limits, grants on a conversation, supervisors' decisions, the list.
enum CompensationsController {
    /// A number, or a number written as text (what a form sends).
    struct Amount: Decodable {
        var value: Double
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let number = try? c.decode(Double.self) { value = number; return }
            guard let text = try? c.decode(String.self), let number = Double(text.replacingOccurrences(of: ",", with: ".")) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "an amount is a number, such as 19.90")
            }
            value = number
        }
    }

    struct LimitBody: Codable {
        var role: Role
        var unit: String
        var perGrant: Double
        var perMonth: Double
        enum CodingKeys: String, CodingKey { case role, unit, perGrant = "per_grant", perMonth = "per_month" }

        init(_ limit: CompensationPolicy.Limit) {
            role = limit.role
            unit = limit.unit
            perGrant = Double(limit.perGrantCents) / 100
            perMonth = Double(limit.perMonthCents) / 100
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            role = try c.decode(Role.self, forKey: .role)
            unit = try c.decode(String.self, forKey: .unit).trimmingCharacters(in: .whitespaces).uppercased()
            perGrant = try c.decode(Amount.self, forKey: .perGrant).value
            perMonth = try c.decode(Amount.self, forKey: .perMonth).value
        }
    }

    struct PolicyBody: Codable { var limits: [LimitBody] }

    static func policy(_ req: Request) async throws -> Response {
        guard let workspace = try await Workspace.find(try req.scope.workspaceID, on: req.db) else { throw AtiendeError.notFound("workspace") }
        return try json(PolicyBody(limits: workspace.compensationPolicy.limits.map(LimitBody.init)))
    }

    /// `PUT …/compensation-policy` (admins): every role's limits per unit, per grant and per month.
    static func setPolicy(_ req: Request) async throws -> Response {
        let scope = try req.scope
        guard let workspace = try await Workspace.find(scope.workspaceID, on: req.db) else { throw AtiendeError.notFound("workspace") }
        let body = try req.decodeJSON(PolicyBody.self)
        for limit in body.limits where !(limit.perGrant.isFinite && limit.perMonth.isFinite && limit.perGrant >= 0 && limit.perMonth < 1_000_000_000) {
            throw AtiendeError.invalid("limits are numbers from 0 to 1,000,000,000", code: "invalid_compensation_policy")
        }
        let policy = CompensationPolicy(limits: body.limits.map {
            .init(role: $0.role, unit: $0.unit, perGrant: Int64(($0.perGrant * 100).rounded()), perMonth: Int64(($0.perMonth * 100).rounded()))
        })
        let saved = try await req.atiende.compensations.setPolicy(policy, workspace: workspace, actor: scope.userID)
        return try json(PolicyBody(limits: saved.limits.map(LimitBody.init)))
    }

    struct GrantBody: Decodable {
        var kind: Compensation.Kind
        var amount: Amount
        var unit: String
        var reason: String
        var message: String?
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        var query = scope.query(Compensation.self, on: req.db)
        if let raw = req.query[String.self, at: "status"] {
            guard let status = Compensation.Status(rawValue: raw) else {
                throw AtiendeError.invalid("status is granted, pending, approved or rejected", code: "invalid_status")
            }
            query = query.filter(\.$status == status)
        }
        return try json(try await query.sort(\.$createdAt, .descending).limit(500).all().map(\.snapshot))
    }

    static func conversationList(_ req: Request) async throws -> Response {
        let conversation = try await ConversationsController.find(req)
        return try json(try await req.scope.query(Compensation.self, on: req.db).filter(\.$conversationID == (try conversation.requireID()))
            .sort(\.$createdAt, .descending).all().map(\.snapshot))
    }

    /// `POST …/conversations/{number}/compensations`: granted (201) within the caller's limits, else a request (202).
    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await ConversationsController.find(req)
        let body = try req.decodeJSON(GrantBody.self)
        let compensation = try await req.atiende.compensations.grant(
            .init(kind: body.kind, amount: body.amount.value, unit: body.unit, reason: body.reason, message: body.message),
            conversation: try conversation.requireID(), workspace: scope.workspaceID, actor: scope.userID, role: scope.role)
        return try json(compensation.snapshot, status: compensation.status == .pending ? .accepted : .created)
    }

    struct Decision: Decodable { var note: String? }

    static func approve(_ req: Request) async throws -> Response { try await decide(req, approve: true) }
    static func reject(_ req: Request) async throws -> Response { try await decide(req, approve: false) }

    static func decide(_ req: Request, approve: Bool) async throws -> Response {
        let scope = try req.scope
        let found = try await scope.find(Compensation.self, try req.uuidParameter("compensationId", "compensation"), on: req.db)
        let note = req.body.data.map { $0.readableBytes > 0 } == true ? try req.decodeJSON(Decision.self).note : nil
        let decided = try await req.atiende.compensations.decide(try found.requireID(), approve: approve, note: note, workspace: scope.workspaceID,
                                                                 actor: scope.userID, role: scope.role)
        return try json(decided.snapshot)
    }
}
