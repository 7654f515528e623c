import AtiendeCore
import Fluent
import Vapor

/// `/canned-responses`: the workspace's shared responses (changed by supervisors and admins) and each agent's own
/// (changed by them alone; another agent's are not found).
enum CannedResponsesController {
    struct ResponseBody: Encodable, Sendable {
        var id: UUID
        var shortcut: String
        var title: String
        var variants: [String: String]
        var shared: Bool
        var ownerID: UUID?
        var useCount: Int
        var updatedAt: Date
        enum CodingKeys: String, CodingKey {
            case id, shortcut, title, variants, shared, ownerID = "owner_id", useCount = "use_count", updatedAt = "updated_at"
        }
    }

    static func body(_ response: CannedResponse) -> ResponseBody {
        ResponseBody(id: response.id ?? UUID(), shortcut: response.shortcut, title: response.title, variants: response.variants,
                     shared: response.isShared, ownerID: response.ownerID, useCount: response.useCount, updatedAt: response.updatedAt)
    }

    struct Body: Decodable {
        var shortcut: String?
        var title: String?
        var variants: [String: String]?
        var shared: Bool?
        var draft: CannedResponseService.Draft { .init(shortcut: shortcut, title: title, variants: variants) }
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        return try json(try await req.atiende.canned.usable(workspace: scope.workspaceID, user: scope.userID, on: req.db).map(body))
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let input = try req.decodeJSON(Body.self)
        let response = try await req.atiende.canned.create(input.draft, owner: try SharedOrOwn.owner(shared: input.shared ?? false, scope),
                                                           workspace: scope.workspaceID, actor: scope.userID)
        return try json(body(response), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let response = try await editable(req, scope)
        let input = try req.decodeJSON(Body.self)
        if input.shared != nil, input.shared != response.isShared {
            throw AtiendeError.invalid("'shared' is chosen when a response is created; create a copy to share it", code: "invalid_canned_response")
        }
        try await req.atiende.canned.update(response, input.draft, actor: scope.userID)
        return try json(body(response))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        try await req.atiende.canned.delete(try await editable(req, scope), actor: scope.userID)
        return Response(status: .noContent)
    }

    /// `GET …/conversations/{number}/canned-responses/{id}`: the response filled in for the conversation, in its language,
    /// with the variables that had no value (left written, for the agent to fill in).
    static func filled(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await ConversationsController.find(req)
        let response = try await req.atiende.canned.usable(try req.uuidParameter("cannedResponseId", "canned response"),
                                                           workspace: scope.workspaceID, user: scope.userID, on: req.db)
        return try json(try await req.atiende.canned.fill(response, conversation: try conversation.requireID(), workspace: scope.workspaceID,
                                                          agent: scope.userID, on: req.db))
    }

    /// A response the caller may change: their own, or a shared one when they are a supervisor or an admin.
    static func editable(_ req: Request, _ scope: Scope) async throws -> CannedResponse {
        let response = try await req.atiende.canned.usable(try req.uuidParameter("cannedResponseId", "canned response"),
                                                           workspace: scope.workspaceID, user: scope.userID, on: req.db)
        if response.isShared { try SharedOrOwn.mayChangeShared(scope) }
        return response
    }

}

/// What a team shares (supervisors and admins change it) or an agent keeps for themself: canned responses, macros.
enum SharedOrOwn {
    /// The owner of a new record: nobody when shared (only supervisors and admins share), else its creator.
    static func owner(shared: Bool, _ scope: Scope) throws -> UUID? {
        if shared { try mayChangeShared(scope) }
        return shared ? nil : scope.userID
    }

    static func mayChangeShared(_ scope: Scope) throws {
        guard scope.role >= .supervisor else {
            throw AtiendeError(.forbidden, code: "insufficient_role", "what the whole team shares is changed by supervisors and admins")
        }
    }
}
