import AtiendeCore
import Fluent
import Vapor

/// `/macros`: several actions one click runs on a conversation (`…/conversations/{number}/macros/{id}/run`), shared by
/// the team or an agent's own, like canned responses.
enum MacrosController {
    struct MacroBody: Encodable, Sendable {
        var id: UUID
        var name: String
        var actions: MacroActions
        var shared: Bool
        var ownerID: UUID?
        var useCount: Int
        var updatedAt: Date
        enum CodingKeys: String, CodingKey {
            case id, name, actions, shared, ownerID = "owner_id", useCount = "use_count", updatedAt = "updated_at"
        }
    }

    static func body(_ macro: Macro) -> MacroBody {
        MacroBody(id: macro.id ?? UUID(), name: macro.name, actions: macro.actions, shared: macro.isShared, ownerID: macro.ownerID,
                  useCount: macro.useCount, updatedAt: macro.updatedAt)
    }

    struct Input: Decodable {
        var name: String?
        var actions: MacroActions?
        var shared: Bool?
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        return try json(try await req.atiende.macros.usable(workspace: scope.workspaceID, user: scope.userID, on: req.db).map(body))
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let input = try req.decodeJSON(Input.self)
        guard let name = input.name, let actions = input.actions else {
            throw AtiendeError.invalid("'name' and 'actions' are required", code: "invalid_macro")
        }
        let macro = try await req.atiende.macros.create(name: name, actions: actions, owner: try SharedOrOwn.owner(shared: input.shared ?? false, scope),
                                                        workspace: scope.workspaceID, actor: scope.userID)
        return try json(body(macro), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let macro = try await editable(req, scope)
        let input = try req.decodeJSON(Input.self)
        if input.shared != nil, input.shared != macro.isShared {
            throw AtiendeError.invalid("'shared' is chosen when a macro is created", code: "invalid_macro")
        }
        try await req.atiende.macros.update(macro, name: input.name, actions: input.actions, actor: scope.userID)
        return try json(body(macro))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        try await req.atiende.macros.delete(try await editable(req, scope), actor: scope.userID)
        return Response(status: .noContent)
    }

    /// `POST …/conversations/{number}/macros/{macroId}/run`: every action of the macro on this conversation, at once.
    static func run(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await ConversationsController.find(req)
        let macro = try await req.atiende.macros.usable(try req.uuidParameter("macroId", "macro"), workspace: scope.workspaceID,
                                                        user: scope.userID, on: req.db)
        let updated = try await req.atiende.macros.run(macro, conversation: try conversation.requireID(), workspace: scope.workspaceID,
                                                       actor: scope.userID)
        return try json(updated.snapshot)
    }

    static func editable(_ req: Request, _ scope: Scope) async throws -> Macro {
        let macro = try await req.atiende.macros.usable(try req.uuidParameter("macroId", "macro"), workspace: scope.workspaceID,
                                                        user: scope.userID, on: req.db)
        if macro.isShared { try SharedOrOwn.mayChangeShared(scope) }
        return macro
    }
}
