import AtiendeCore
import Fluent
import Vapor

/// A survey asked in the chat, answered with the widget's buttons.
extension WidgetController {
    struct SurveyAnswer: Decodable {
        var surveyID: UUID
        var score: Int
        var comment: String?
        enum CodingKeys: String, CodingKey { case score, comment, surveyID = "survey_id" }
    }

    /// `POST …/survey`: the visitor's answer to a survey asked in their chat (changed as often as they like for a week).
    static func survey(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target)
        let body = try req.decodeJSON(SurveyAnswer.self)
        let conversations = try await WidgetWire.conversations(inbox: target.inboxID, thread: visitor.thread, on: req.db).compactMap(\.id)
        guard let survey = try await Survey.query(on: req.db).filter(\.$id == body.surveyID).filter(\.$inboxID == target.inboxID).first(),
              conversations.contains(survey.conversationID)
        else { throw AtiendeError.notFound("survey") }
        try await req.atiende.surveys.answer(survey, score: body.score, comment: body.comment, keepComment: body.comment == nil)
        struct Answered: Encodable { var score: Int?; var comment: String? }
        return try json(Answered(score: survey.score, comment: survey.comment))
    }
}
