import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/survey/{token}`: a survey answered from the links of its email, without signing in. A score link opens the
/// page with that score chosen; the customer's "Send" records it (and a comment), and sending again changes it for a
/// week. Opening a link records nothing: mail scanners open every link of a message (and the worst score would win).
/// The token is random and stored only as its hash, so a link nobody was sent finds nothing.
enum SurveyPage {
    /// The survey's own language, unless the reader chose another.
    static func localizer(_ req: Request, _ survey: Survey?) -> Localizer {
        if let raw = req.query[String.self, at: "lang"], let language = Localizer.Language(rawValue: raw) { return Localizer(language) }
        guard let survey else { return Localizer.negotiate(req) }
        return Localizer(Localizer.Language(rawValue: survey.language) ?? .es)
    }

    /// The survey behind the link, or the customer's own "this link is not valid" page.
    enum Found {
        case success(Survey)
        case failure(Response)
    }

    static func survey(_ req: Request) async throws -> Found {
        if let token = req.parameters.get("token"), let survey = try await req.atiende.surveys.find(token: token) { return .success(survey) }
        let t = localizer(req, nil)
        let content: Node<HTML.BodyContext> = .div(.class("card survey"), .h1(.text(t("survey.not_found"))), .p(.text(t("survey.not_found_hint"))))
        return .failure(try await HTMLPage(html: Layout.plain(t("survey.not_found"), t: t, csrf: nil, content), status: .notFound).encodeResponse(for: req))
    }

    static func show(_ req: Request) async throws -> Response {
        switch try await survey(req) {
        case .failure(let page): return page
        case .success(let survey): return try await page(req, survey, chosen: survey.score, t: localizer(req, survey))
        }
    }

    /// A score link: the page with that score chosen, nothing recorded yet.
    static func score(_ req: Request) async throws -> Response {
        let found: Survey
        switch try await survey(req) {
        case .failure(let page): return page
        case .success(let survey): found = survey
        }
        let t = localizer(req, found)
        guard let raw = req.parameters.get("score"), let score = Int(raw), found.kind.scale.contains(score) else {
            return try await page(req, found, chosen: found.score, t: t, status: .badRequest,
                                  error: t("survey.invalid_score", found.kind.scale.lowerBound, found.kind.scale.upperBound))
        }
        return try await page(req, found, chosen: score, t: t)
    }

    struct Form: Content {
        var score: Int?
        var comment: String?
    }

    static func submit(_ req: Request) async throws -> Response {
        let found: Survey
        switch try await survey(req) {
        case .failure(let page): return page
        case .success(let survey): found = survey
        }
        let t = localizer(req, found)
        let form = try req.content.decode(Form.self)
        guard let score = form.score, found.kind.scale.contains(score) else {
            return try await page(req, found, chosen: found.score, t: t, status: .badRequest,
                                  error: t("survey.invalid_score", found.kind.scale.lowerBound, found.kind.scale.upperBound))
        }
        guard (form.comment ?? "").count <= 2000 else {
            return try await page(req, found, chosen: score, t: t, status: .payloadTooLarge, error: t("survey.comment_too_long"))
        }
        do {
            try await req.atiende.surveys.answer(found, score: score, comment: form.comment)
        } catch let error as AtiendeError where error.code == "survey_closed" {
            return try await page(req, found, chosen: score, t: t, status: .conflict, error: t("survey.closed"))
        }
        return try await page(req, found, chosen: found.score, t: t, notice: t("survey.thanks"))
    }

    static func page(_ req: Request, _ survey: Survey, chosen: Int?, t: Localizer, status: HTTPStatus = .ok, error: String? = nil,
                     notice: String? = nil) async throws -> Response {
        let csrf = try await req.csrfToken()
        let token = req.parameters.get("token") ?? ""
        let (low, high) = SurveyText.ends(survey.kind, language: t.language.rawValue)
        let open = survey.accepts(at: req.atiende.store.clock.now())
        let question = SurveyText.question(survey.kind, language: t.language.rawValue)
        let legend: Node<HTML.FormContext> = .element(named: "legend", nodes: [
            .text(t("survey.scale", survey.kind.scale.lowerBound, low, survey.kind.scale.upperBound, high))])
        let options: [Node<HTML.FormContext>] = survey.kind.scale.map { score in
            let input: Node<HTML.LabelContext> = .field(.type(.init(rawValue: "radio") ?? .text), .name("score"), .value(String(score)), .required(true),
                                                       .if(score == chosen, .attribute(named: "checked", value: "checked")))
            return .label(.class("score"), input, .span(.text(String(score))))
        }
        let scale: Node<HTML.FormContext> = .element(named: "fieldset", nodes: [.class("survey-scale"), legend, .group(options)])
        let form: Node<HTML.BodyContext> = .form(.class("stack"), .method(.post),
            .action(SiteURL.survey(token).path(query: [("lang", t.language.rawValue)])), .csrf(csrf),
            scale,
            .label(.span(.text(t("survey.comment"))),
                   .textBox(.name("comment"), .attribute(named: "rows", value: "4"), .attribute(named: "maxlength", value: "2000"), .text(survey.comment ?? ""))),
            .button(.type(.submit), .class("primary"), .text(t(survey.score == nil ? "survey.send_answer" : "survey.change_answer"))))
        let content: Node<HTML.BodyContext> = .div(.class("card survey"),
            .h1(.text(question)),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .unwrap(notice) { .p(.class("notice"), .role("status"), .text($0)) },
            .unwrap(survey.score) { .p(.id("survey-answer"), .text(t("survey.your_answer", $0, survey.kind.scale.upperBound))) },
            open ? form : .p(.text(t("survey.closed"))),
            .if(open, .p(.class("hint"), .text(t("survey.change_hint")))),
            AuthPages.languageLinks(t, path: req.url.path))
        return try await HTMLPage(html: Layout.plain(question, t: t, csrf: csrf, content), status: status).encodeResponse(for: req)
    }
}
