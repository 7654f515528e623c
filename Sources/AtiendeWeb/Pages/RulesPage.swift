import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/app/{ws}/settings/rules`: the workspace's automation rules in the order they run — on or off, how often each ran —
/// and the form to write one (when, if, then), tried against the last 7 days before it is saved.
enum RulesPage {
    static let rows = 3

    static func view(_ desk: Desk, _ rules: [AutomationRule], canned: [CannedResponse]) -> Node<HTML.BodyContext> {
        let t = desk.t
        let api = SettingsPages.apiBase(desk) + "/automation-rules"
        return .group(
            .h1(.text(t("settings.rules"))),
            .p(.class("hint"), .text(t("rules.how"))),
            rules.isEmpty ? .p(.class("empty"), .text(t("rules.empty"))) :
            .table(.class("grid"),
                .thead(.tr(.th(.text("#")), .th(.text(t("rules.name"))), .th(.text(t("rules.when"))), .th(.text(t("rules.then"))),
                           .th(.text(t("rules.runs"))), .th())),
                .tbody(.forEach(rules) { rule in
                    let path = api + "/" + (rule.id?.uuidString.lowercased() ?? "")
                    return .tr(.class(rule.isActive ? "" : "inactive"),
                        .td(.text(String(rule.position))),
                        .td(.text(rule.name), .if(rule.stops, .span(.class("hint"), .text(" · " + t("rules.stops_short")))),
                            .if(!rule.isActive, .span(.class("badge"), .text(t("rules.off"))))),
                        .td(.text(when(t, rule))),
                        .td(.text(rule.actions.map { t("rules.action.\($0.type.rawValue)") + ($0.value.map { " " + shown($0, desk: desk, canned: canned) } ?? "") }
                            .joined(separator: " · "))),
                        .td(.text(String(rule.runCount))),
                        .td(.form(.class("inline"), .data("api", path), .data("method", "PATCH"), .data("then", "reload"),
                                  .field(.type(.hidden), .name("is_active"), .value(rule.isActive ? "false" : "true"), .data("type", "bool-value")),
                                  .button(.type(.submit), .text(t(rule.isActive ? "rules.turn_off" : "rules.turn_on")))),
                            .if(rule.id != rules.first?.id, .form(.class("inline"), .data("api", path), .data("method", "PATCH"), .data("then", "reload"),
                                  .field(.type(.hidden), .name("position"), .value(String(max(1, rule.position - 1))), .data("type", "number-omit-empty")),
                                  .button(.type(.submit), .aria("label", t("rules.earlier")), .attribute(named: "title", value: t("rules.earlier")), .text("↑")))),
                            .form(.class("inline"), .data("api", path), .data("method", "DELETE"), .data("then", "reload"),
                                  .data("confirm", t("canned.delete_confirm", rule.name)),
                                  .button(.type(.submit), .class("danger"), .text(t("canned.delete"))))))
                })),
            .h2(.text(t("rules.create"))),
            form(desk, api: api, canned: canned))
    }

    static func when(_ t: Localizer, _ rule: AutomationRule) -> String {
        let trigger = t("rules.trigger.\(rule.trigger.rawValue)")
        let after = rule.afterMinutes.map { " " + t("rules.after", $0) } ?? ""
        let conditions = rule.conditions.conditions.count
        return trigger + after + (conditions > 0 ? " · " + t(rule.conditions.match == .all ? "rules.if_all" : "rules.if_any", conditions) : "")
    }

    /// An action's value as people read it: a member's or team's name, a canned response's shortcut.
    static func shown(_ value: String, desk: Desk, canned: [CannedResponse]) -> String {
        let t = desk.t
        if let priority = Priority(rawValue: value) { return t("priority.\(priority.rawValue)") }
        if let status = ConversationStatus(rawValue: value) { return t("status.\(status.rawValue)") }
        guard let id = UUID(uuidString: value) else { return value }
        return desk.memberName(id) ?? desk.teams.first { $0.id == id }?.name ?? canned.first { $0.id == id }.map { "/" + $0.shortcut } ?? value
    }

    static func form(_ desk: Desk, api: String, canned: [CannedResponse]) -> Node<HTML.BodyContext> {
        let t = desk.t
        func option(_ value: String, _ text: String) -> Node<HTML.BodyContext> {
            .element(named: "option", nodes: [.attribute(named: "value", value: value, ignoreIfValueIsEmpty: false), .text(text)])
        }
        func options<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ prefix: String, empty: Bool = true) -> [Node<HTML.BodyContext>] where T.RawValue == String {
            (empty ? [option("", "—")] : []) + T.allCases.map { option($0.rawValue, t("\(prefix).\($0.rawValue)")) }
        }
        // What a value may name, offered as the admin types: members, teams, inboxes, shared canned responses.
        let references = desk.members.map { ($0.user.id?.uuidString.lowercased() ?? "", t("rules.ref_member", $0.user.name)) }
            + desk.teams.map { ($0.id?.uuidString.lowercased() ?? "", t("rules.ref_team", $0.name)) }
            + desk.inboxes.map { ($0.id?.uuidString.lowercased() ?? "", t("rules.ref_inbox", $0.name)) }
            + canned.filter(\.isShared).map { ($0.id?.uuidString.lowercased() ?? "", "/" + $0.shortcut) }
            + Priority.allCases.map { ($0.rawValue, t("rules.field.priority") + ": " + t("priority.\($0.rawValue)")) }
            + [ConversationStatus.open, .pending, .resolved].map { ($0.rawValue, t("rules.field.status") + ": " + t("status.\($0.rawValue)")) }
        return .form(.class("stack rule-form"), .data("api", api), .data("method", "POST"), .data("then", "reload"),
            .label(.span(.text(t("rules.name"))), .field(.type(.text), .name("name"), .required(true), .attribute(named: "maxlength", value: "120"))),
            .label(.span(.text(t("rules.when"))), .element(named: "select", nodes: [.attribute(named: "name", value: "trigger")] + options(RuleTrigger.self, "rules.trigger", empty: false))),
            .label(.span(.text(t("rules.after_minutes"))), .field(.type(.number), .name("after_minutes"), .data("type", "number-omit-empty"),
                                                                  .attribute(named: "min", value: "1"), .attribute(named: "max", value: "129600"))),
            .label(.span(.text(t("rules.match"))),
                   .element(named: "select", nodes: [.attribute(named: "name", value: "conditions.match"), option("all", t("rules.match_all")),
                                                     option("any", t("rules.match_any"))])),
            .element(named: "fieldset", nodes: [.class("rows"), .attribute(named: "data-rows", value: "conditions.conditions"),
                .element(named: "legend", nodes: [.text(t("rules.conditions"))])] + (0..<rows).map { _ in
                .div(.class("rule-row"), .data("row", "1"),
                     .element(named: "select", nodes: [.attribute(named: "name", value: "field"), .aria("label", t("rules.field"))] + options(RuleCondition.Field.self, "rules.field")),
                     .element(named: "select", nodes: [.attribute(named: "name", value: "op"), .aria("label", t("rules.op"))] + options(RuleCondition.Op.self, "rules.op")),
                     .field(.type(.text), .name("value"), .aria("label", t("rules.value")), .placeholder(t("rules.value")), .attribute(named: "list", value: "rule-references")),
                     .field(.type(.text), .name("key"), .aria("label", t("rules.key")), .placeholder(t("rules.key"))))
            }),
            .element(named: "fieldset", nodes: [.class("rows"), .attribute(named: "data-rows", value: "actions"),
                .element(named: "legend", nodes: [.text(t("rules.actions"))])] + (0..<rows).map { _ in
                .div(.class("rule-row"), .data("row", "1"),
                     .element(named: "select", nodes: [.attribute(named: "name", value: "type"), .aria("label", t("rules.action"))] + options(RuleAction.Kind.self, "rules.action")),
                     .field(.type(.text), .name("value"), .aria("label", t("rules.value")), .placeholder(t("rules.value")), .attribute(named: "list", value: "rule-references")),
                     .field(.type(.text), .name("text"), .aria("label", t("rules.text")), .placeholder(t("rules.text"))))
            }),
            .element(named: "datalist", nodes: [.id("rule-references")] + references.map { value, label in
                .element(named: "option", nodes: [.attribute(named: "value", value: value), .attribute(named: "label", value: label)])
            }),
            .label(.field(.type(.checkbox), .name("stops"), .data("type", "bool")), .text(" " + t("rules.stops"))),
            .div(.class("composer-tools"),
                 .button(.type(.button), .data("preview", api + "/preview"), .text(t("rules.preview"))),
                 .button(.type(.submit), .class("primary"), .text(t("rules.create")))),
            .p(.class("preview-result"), .role("status")),
            SettingsPages.formError())
    }
}
