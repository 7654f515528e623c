import AtiendeCore
import Foundation
import Plot

/// Beside the composer: the conversation's compensations (given, waiting, rejected), approve or reject for the
/// supervisors who did not ask, and "compensate the customer" within one's limit (above it, a request).
enum CompensationsPart {
    static func view(_ desk: Desk, _ c: Conversation, _ compensations: [Compensation]) -> Node<HTML.BodyContext> {
        let t = desk.t
        let api = ConversationPage.apiPath(desk, c.number) + "/compensations"
        let decide = SettingsPages.apiBase(desk) + "/compensations/"
        let policy = desk.workspace.compensationPolicy
        let limit = policy.limits.first { $0.role == desk.role }
        let unit = limit?.unit ?? policy.limits.first?.unit ?? "USD"
        let kinds: Node<HTML.LabelContext> = .dropdown(.name("kind"), .forEach(Compensation.Kind.allCases) {
            .option(.value($0.rawValue), .text(t("compensation.kind.\($0.rawValue)")))
        })
        return .section(.class("compensations"), .id("compensations"), .aria("label", t("compensation.title")),
            .h3(.text(t("compensation.title"))),
            .if(!compensations.isEmpty, .ul(.class("compensation-list"), .forEach(compensations) { item in
                let id = item.id?.uuidString.lowercased() ?? ""
                let canDecide = item.status == .pending && desk.role >= .supervisor && item.requestedBy != desk.userID
                return .li(.class("compensation-\(item.status.rawValue)"), .text(line(desk, item)),
                           .if(canDecide, .group(
                               .form(.class("inline"), .data("api", decide + id + "/approve"), .data("method", "POST"), .data("then", "reload"),
                                     .button(.type(.submit), .class("primary"), .text(t("compensation.approve")))),
                               .form(.class("inline"), .data("api", decide + id + "/reject"), .data("method", "POST"), .data("then", "reload"),
                                     .label(.span(.class("sr"), .text(t("compensation.note"))),
                                            .field(.type(.text), .name("note"), .placeholder(t("compensation.note")), .data("type", "omit-empty"),
                                                   .attribute(named: "maxlength", value: "500"))),
                                     .button(.type(.submit), .text(t("compensation.reject"))), SettingsPages.formError()))))
            })),
            .element(named: "details", nodes: [.id("compensate"),
                .element(named: "summary", nodes: [.text(t("compensation.give"))]),
                .form(.class("stack"), .data("api", api), .data("method", "POST"), .data("then", "reload"),
                      .label(.span(.text(t("compensation.kind"))), kinds),
                      .label(.span(.text(t("compensation.amount"))),
                             .field(.type(.number), .name("amount"), .attribute(named: "min", value: "0.01"), .attribute(named: "step", value: "0.01"),
                                    .required(true))),
                      .label(.span(.text(t("compensation.unit"))),
                             .field(.type(.text), .name("unit"), .value(unit), .attribute(named: "maxlength", value: "5"), .required(true))),
                      .label(.span(.text(t("compensation.reason"))),
                             .field(.type(.text), .name("reason"), .attribute(named: "maxlength", value: "500"), .required(true))),
                      .label(.span(.text(t("compensation.message"))),
                             .textBox(.name("message"), .data("type", "omit-empty"), .attribute(named: "rows", value: "2"),
                                      .attribute(named: "maxlength", value: "2000"))),
                      .p(.class("hint"), .text(limit.map { t("compensation.limit", Compensation.amountText($0.perGrantCents, unit: $0.unit),
                                                             Compensation.amountText($0.perMonthCents, unit: $0.unit)) }
                                               ?? t(desk.role == .admin ? "compensation.no_limit_admin" : "compensation.no_limit"))),
                      .button(.type(.submit), .class("primary"), .text(t("compensation.submit"))),
                      SettingsPages.formError())]))
    }

    /// "Discount 20 USD · late delivery · given by Ana · 1 Dec 10:04" or "… · waiting for approval".
    static func line(_ desk: Desk, _ item: Compensation) -> String {
        let t = desk.t
        var parts = [t("compensation.kind.\(item.kind.rawValue)") + " " + item.amountText, item.reason,
                     t("compensation.status.\(item.status.rawValue)", desk.memberName(item.requestedBy) ?? "", desk.memberName(item.decidedBy) ?? ""),
                     desk.format.dateTime(item.decidedAt ?? item.createdAt)]
        if let note = item.decisionNote { parts.append("“" + note + "”") }
        return parts.joined(separator: " · ")
    }
}
