import AtiendeCore
import Foundation
import Plot

/// Beside the composer: what is still to come on the conversation (reminders, scheduled follow-up messages, each
/// cancellable), "remind me" with presets, and a follow-up message at a time — not sent if the customer writes first.
enum FollowUpsPart {
    /// The customer's language (the inbox's, else the workspace's), for what is written to them.
    static func customer(_ desk: Desk, _ c: Conversation) -> Localizer {
        let code = desk.inboxes.first { $0.id == c.$inbox.id }?.settings.language ?? desk.workspace.defaultLanguage
        return Localizer(Localizer.Language(rawValue: code) ?? desk.t.language)
    }

    static func view(_ desk: Desk, _ c: Conversation, _ pending: [FollowUp]) -> Node<HTML.BodyContext> {
        let t = desk.t
        let api = ConversationPage.apiPath(desk, c.number) + "/follow-ups"
        let when = { (name: String) -> Node<HTML.FormContext> in
            .label(.span(.text(t("follow_up.when"))),
                   .field(.type(.init(rawValue: "datetime-local") ?? .text), .name(name), .data("type", "datetime"), .required(true)))
        }
        return .section(.class("follow-ups"), .id("follow-ups"), .aria("label", t("follow_up.title")),
            .if(!pending.isEmpty, .ul(.class("pending"), .forEach(pending) { item in
                .li(.text(t("follow_up.\(item.kind.rawValue)") + " · " + desk.format.dateTime(item.dueAt)
                          + (item.text.map { " · " + String($0.prefix(80)) } ?? "")
                          + (item.userID == desk.userID ? "" : " · " + (desk.memberName(item.userID) ?? ""))),
                    .form(.class("inline"), .data("api", api + "/" + (item.id?.uuidString.lowercased() ?? "")), .data("method", "DELETE"),
                          .data("then", "reload"), .button(.type(.submit), .class("link"), .text(t("follow_up.cancel")))))
            })),
            .element(named: "details", nodes: [.id("remind-me"),
                .element(named: "summary", nodes: [.text(t("follow_up.remind_me"))]),
                .form(.class("stack"), .data("api", api), .data("method", "POST"), .data("then", "reload"),
                      .field(.type(.hidden), .name("kind"), .value("reminder")),
                      .div(.class("presets"),
                           .button(.type(.button), .data("snooze", "tomorrow"), .data("target", "due_at"), .data("submit", "0"), .text(t("follow_up.tomorrow"))),
                           .button(.type(.button), .data("snooze", "3days"), .data("target", "due_at"), .data("submit", "0"), .text(t("follow_up.in_3_days"))),
                           .button(.type(.button), .data("snooze", "week"), .data("target", "due_at"), .data("submit", "0"), .text(t("snooze.week")))),
                      when("due_at"),
                      .label(.span(.text(t("follow_up.note"))), .field(.type(.text), .name("text"), .data("type", "omit-empty"), .attribute(named: "maxlength", value: "500"))),
                      .button(.type(.submit), .class("primary"), .text(t("follow_up.set_reminder"))),
                      SettingsPages.formError())]),
            .element(named: "details", nodes: [.id("schedule-follow-up"),
                .element(named: "summary", nodes: [.text(t("follow_up.schedule"))]),
                .form(.class("stack"), .data("api", api), .data("method", "POST"), .data("then", "reload"),
                      .field(.type(.hidden), .name("kind"), .value("message")),
                      .p(.class("hint"), .text(t("follow_up.schedule_hint"))),
                      when("due_at"),
                      .label(.span(.text(t("follow_up.message"))),
                             .textBox(.name("text"), .required(true), .attribute(named: "rows", value: "3"), .text(customer(desk, c)("follow_up.default_text")))),
                      .button(.type(.submit), .class("primary"), .text(t("follow_up.schedule_button"))),
                      SettingsPages.formError())]))
    }
}
