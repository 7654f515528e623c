import AtiendeCore
import Plot

extension SettingsPages {
    /// How long the inbox keeps what its customers said: empty keeps everything; otherwise anonymised or deleted after N months.
    static func retention(_ desk: Desk, _ box: Inbox, api: String) -> Node<HTML.BodyContext> {
        guard desk.role == .admin else { return .empty }
        let t = desk.t
        let policy = box.retentionPolicy
        let summary = policy.months.map { t("retention.summary.\(policy.action.rawValue)", $0) } ?? t("retention.keep")
        return .element(named: "details", nodes: [.class("edit-retention"),
            .element(named: "summary", nodes: [.text(t("retention.title") + ": " + summary)]),
            .form(.class("stack"), .data("api", api + "/retention"), .data("method", "PUT"), .data("then", "reload"),
                  .label(.span(.text(t("retention.months"))),
                         .field(.type(.number), .name("months"), .data("type", "number-omit-empty"), .attribute(named: "min", value: "1"),
                                .attribute(named: "max", value: "600"), .attribute(named: "step", value: "1"),
                                .value(policy.months.map(String.init) ?? ""), .placeholder(t("retention.keep")))),
                  .label(.span(.text(t("retention.action"))),
                         .dropdown(.name("action"), .forEach(RetentionPolicy.Action.allCases) { action in
                             .option(.value(action.rawValue), .text(t("retention.action.\(action.rawValue)")), .selected(action == policy.action))
                         })),
                  .p(.class("hint"), .text(t("retention.hint"))),
                  .button(.type(.submit), .class("primary"), .text(t("common.save"))),
                  formError())])
    }
}
