import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/survey/{token}`: a survey answered from the links of its email, without signing in. A score link records the
/// answer at once (clicking again, or another score, changes it for a week); the page then offers a comment.
/// The token is random and stored only as its hash, so a link nobody was sent finds nothing.
enum SurveyPage {
    static func survey(_ req: Request) async throws -> Survey {
        guard let token = req.parameters.get("token"), let survey = try await req.atiende.surveys.find(token: token) else {
            throw AtiendeError(.notFound, code: "survey_not_found", "this survey link is not valid")
        }
        return survey
    }

    /// The survey's own language, unless the reader chose another.
    static func localizer(_ req: Request, _ survey: Survey) -> Localizer {
        if let raw = req.query[String.self, at: "lang"], let language = Localizer.Language(rawValue: raw) { return Localizer(language) }
        return Localizer(Localizer.Language(rawValue: survey.language) ?? .es)
    }

    static func show(_ req: Request) async throws -> Response {
        let survey = try await survey(req)
        return try await page(req, survey, t: localizer(req, survey))
    }

    static func score(_ req: Request) async throws -> Response {
        let survey = try await survey(req)
        let t = localizer(req, survey)
        guard let raw = req.parameters.get("score"), let score = Int(raw), survey.kind.scale.contains(score) else {
            return try await page(req, survey, t: t, error: t("survey.invalid_score", survey.kind.scale.lowerBound, survey.kind.scale.upperBound),
                                  status: .badRequest)
        }
        return try await answer(req, survey, score: score, comment: nil, keepComment: true, t: t)
    }

    struct Form: Content {
        var score: Int?
        var comment: String?
    }

    static func submit(_ req: Request) async throws -> Response {
        let survey = try await survey(req)
        let t = localizer(req, survey)
        let form = try req.content.decode(Form.self)
        guard let score = form.score ?? survey.score, survey.kind.scale.contains(score) else {
            return try await page(req, survey, t: t, error: t("survey.invalid_score", survey.kind.scale.lowerBound, survey.kind.scale.upperBound),
                                  status: .badRequest)
        }
        guard (form.comment ?? "").count <= 2000 else { return try await page(req, survey, t: t, error: t("survey.comment_too_long"), status: .payloadTooLarge) }
        return try await answer(req, survey, score: score, comment: form.comment, keepComment: false, t: t)
    }

    private static func answer(_ req: Request, _ survey: Survey, score: Int, comment: String?, keepComment: Bool, t: Localizer) async throws -> Response {
        do {
            try await req.atiende.surveys.answer(survey, score: score, comment: comment, keepComment: keepComment)
        } catch let error as AtiendeError where error.code == "survey_closed" {
            return try await page(req, survey, t: t, error: t("survey.closed"), status: .conflict)
        }
        return try await page(req, survey, t: t, notice: t("survey.thanks"))
    }

    static func page(_ req: Request, _ survey: Survey, t: Localizer, error: String? = nil, notice: String? = nil,
                     status: HTTPStatus = .ok) async throws -> Response {
        let csrf = try await req.csrfToken()
        let token = req.parameters.get("token") ?? ""
        let (low, high) = SurveyText.ends(survey.kind, language: t.language.rawValue)
        let open = survey.accepts(at: req.atiende.store.clock.now())
        let question = SurveyText.question(survey.kind, language: t.language.rawValue)
        let scores: Node<HTML.BodyContext> = .div(.class("survey-scale"), .role("group"), .aria("label", question),
            .forEach(Array(survey.kind.scale)) { score in
                .a(.class(score == survey.score ? "score chosen" : "score"), .href(SiteURL.surveyScore(token, score).path(query: [("lang", t.language.rawValue)])),
                   .if(score == survey.score, .aria("current", "true")), .text(String(score)))
            })
        let comment: Node<HTML.BodyContext> = .form(.class("stack"), .method(.post),
            .action(SiteURL.survey(token).path(query: [("lang", t.language.rawValue)])), .csrf(csrf),
            .field(.type(.hidden), .name("score"), .value(survey.score.map(String.init) ?? "")),
            .label(.span(.text(t("survey.comment"))),
                   .textBox(.name("comment"), .attribute(named: "rows", value: "4"), .attribute(named: "maxlength", value: "2000"), .text(survey.comment ?? ""))),
            .button(.type(.submit), .class("primary"), .text(t("survey.send_comment"))))
        let content: Node<HTML.BodyContext> = .div(.class("card survey"),
            .h1(.text(question)),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .unwrap(notice) { .p(.class("notice"), .role("status"), .text($0)) },
            .if(open, .group(
                .p(.class("hint"), .text(t("survey.scale", survey.kind.scale.lowerBound, low, survey.kind.scale.upperBound, high))),
                scores,
                .unwrap(survey.score) { .p(.id("survey-answer"), .text(t("survey.your_answer", $0, survey.kind.scale.upperBound))) },
                .if(survey.score != nil, comment)),
                else: .p(.text(t("survey.closed")))),
            AuthPages.languageLinks(t, path: SiteURL.survey(token).path))
        return try await HTMLPage(html: Layout.plain(question, t: t, csrf: csrf, content), status: status).encodeResponse(for: req)
    }
}
