import AtiendeCore
import Fluent
import Vapor

/// Surveys over the API: what an inbox asks (`…/inboxes/{id}/survey`), a survey sent on demand and a conversation's
/// answers (`…/conversations/{number}/surveys`).
enum SurveysController {
    static func policy(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        return try json(inbox.surveyPolicy)
    }

    /// `PUT …/inboxes/{inboxId}/survey` (admins).
    static func setPolicy(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let policy = try await req.atiende.surveys.setPolicy(try req.decodeJSON(SurveyPolicy.self), inbox: inbox, actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return try json(policy)
    }

    static func list(_ req: Request) async throws -> Response {
        let conversation = try await ConversationsController.find(req)
        let surveys = try await req.atiende.surveys.surveys(conversation: try conversation.requireID(), workspace: try req.scope.workspaceID)
        return try json(try surveys.map { try $0.snapshot })
    }

    struct Ask: Decodable { var kind: Survey.Kind? }

    /// `POST …/conversations/{number}/surveys`: ask the customer now (the inbox's kind unless another is given).
    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await ConversationsController.find(req)
        let ask = req.body.data.map { $0.readableBytes > 0 } == true ? try req.decodeJSON(Ask.self) : Ask(kind: nil)
        let survey = try await req.atiende.surveys.request(conversation: try conversation.requireID(), workspace: scope.workspaceID,
                                                           kind: ask.kind, actor: scope.userID)
        return try json(try survey.snapshot, status: .created)
    }
}
