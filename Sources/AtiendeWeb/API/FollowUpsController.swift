import AtiendeCore
import Fluent
import Vapor

/// `…/conversations/{number}/follow-ups`: reminders for oneself and follow-up messages for the customer, at a time.
enum FollowUpsController {
    struct FollowUpBody: Encodable, Sendable {
        var id: UUID
        var kind: FollowUp.Kind
        var dueAt: Date
        var text: String?
        var userID: UUID
        var doneAt: Date?
        var outcome: FollowUp.Outcome?
        enum CodingKeys: String, CodingKey { case id, kind, text, outcome, dueAt = "due_at", userID = "user_id", doneAt = "done_at" }
    }

    static func body(_ followUp: FollowUp) -> FollowUpBody {
        FollowUpBody(id: followUp.id ?? UUID(), kind: followUp.kind, dueAt: followUp.dueAt, text: followUp.text, userID: followUp.userID,
                     doneAt: followUp.doneAt, outcome: followUp.outcome)
    }

    static func list(_ req: Request) async throws -> Response {
        let conversation = try await ConversationsController.find(req)
        let items = try await req.scope.query(FollowUp.self, on: req.db).filter(\.$conversationID == (try conversation.requireID()))
            .sort(\.$dueAt).all()
        return try json(items.map(body))
    }

    struct Input: Decodable {
        var kind: FollowUp.Kind
        var dueAt: Date
        var text: String?
        enum CodingKeys: String, CodingKey { case kind, text, dueAt = "due_at" }
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await ConversationsController.find(req)
        let input = try req.decodeJSON(Input.self)
        let followUp = try await req.atiende.followUps.schedule(input.kind, at: input.dueAt, text: input.text, conversation: try conversation.requireID(),
                                                                workspace: scope.workspaceID, user: scope.userID)
        return try json(body(followUp), status: .created)
    }

    /// Whoever set it, or a supervisor, cancels it.
    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await ConversationsController.find(req)
        guard let followUp = try await scope.query(FollowUp.self, on: req.db).filter(\.$conversationID == (try conversation.requireID()))
            .filter(\.$id == (try req.uuidParameter("followUpId", "follow-up"))).first() else { throw AtiendeError.notFound("follow-up") }
        guard followUp.userID == scope.userID || scope.role >= .supervisor else {
            throw AtiendeError(.forbidden, code: "insufficient_role", "a follow-up is cancelled by whoever set it, or a supervisor")
        }
        try await req.atiende.followUps.cancel(followUp, actor: scope.userID)
        return Response(status: .noContent)
    }
}
