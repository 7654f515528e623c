import AtiendeCore
import Foundation
import Plot

/// Beside the composer: the conversation's surveys with their answers, and "ask the customer now" (the inbox's kind
/// first) while none waits for an answer.
enum SurveysPart {
    static func view(_ desk: Desk, _ c: Conversation, _ surveys: [Survey], canSend: Bool) -> Node<HTML.BodyContext> {
        let t = desk.t
        let waiting = surveys.contains { [.scheduled, .sent].contains($0.status) }
        guard canSend || !surveys.isEmpty else { return .empty }
        let preferred = desk.inboxes.first { $0.id == c.$inbox.id }?.surveyPolicy.kind ?? .csat
        let kinds = [preferred] + Survey.Kind.allCases.filter { $0 != preferred }
        return .section(.class("surveys"), .id("surveys"), .aria("label", t("survey.title")),
            .h3(.text(t("survey.section"))),
            .if(!surveys.isEmpty, .ul(.class("survey-list"), .forEach(surveys) { survey in
                .li(.class("survey-\(survey.status.rawValue)"), .text(line(desk, survey)))
            })),
            .if(canSend && !waiting, .element(named: "details", nodes: [.id("send-survey"),
                .element(named: "summary", nodes: [.text(t("survey.send"))]),
                .form(.class("inline"), .data("api", ConversationPage.apiPath(desk, c.number) + "/surveys"), .data("method", "POST"), .data("then", "reload"),
                      .label(.span(.class("sr"), .text(t("survey.kind"))),
                             .dropdown(.name("kind"), .forEach(kinds) { .option(.value($0.rawValue), .text(t("survey.kind.\($0.rawValue)"))) })),
                      .button(.type(.submit), .text(t("survey.send_now"))),
                      SettingsPages.formError())])))
    }

    /// "Satisfaction (CSAT) · 2/5 · 'Tardaron mucho' · 1 Dec 10:04" or "… · sent, no answer yet".
    static func line(_ desk: Desk, _ survey: Survey) -> String {
        let t = desk.t
        var parts = [t("survey.kind.\(survey.kind.rawValue)")]
        if let score = survey.score {
            parts.append("\(score)/\(survey.kind.scale.upperBound)")
            if let comment = survey.comment { parts.append("“" + String(comment.prefix(200)) + "”") }
            if let at = survey.answeredAt { parts.append(desk.format.dateTime(at)) }
        } else {
            parts.append(t("survey.status.\(survey.status.rawValue)"))
            if let at = survey.sentAt { parts.append(desk.format.dateTime(at)) }
        }
        return parts.joined(separator: " · ")
    }
}
