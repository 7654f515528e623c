import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/app/{ws}/settings/rules`: the workspace's automation rules in the order they run — on or off, how often each ran —
/// and the form to write one (when, if, then), tried against the last 7 days before it is saved.
enum RulesPage {
    static let rows = 3

    static func view(_ desk: Desk, _ rules: [AutomationRule], editing: AutomationRule? = nil, canned: [CannedResponse]) -> Node<HTML.BodyContext> {
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
                        .td(.text(when(desk, rule, canned: canned))),
                        .td(.text(rule.actions.map { action in
                                t("rules.action.\(action.type.rawValue)")
                                    + (RuleValueNames.display(action.value, RuleValueNames.kind(of: action.type), desk: desk, canned: canned).map { " " + $0 } ?? "")
                            }
                            .joined(separator: " · "))),
                        .td(.text(String(rule.runCount))),
                        .td(.a(.class("button"), .href(SiteURL.settings(desk.slug, .rules).path(query: [("edit", rule.id?.uuidString.lowercased() ?? "")]) + "#rule-form"),
                               .text(t("canned.edit"))),
                            .form(.class("inline"), .data("api", path), .data("method", "PATCH"), .data("then", "reload"),
                                  .field(.type(.hidden), .name("is_active"), .value(rule.isActive ? "false" : "true"), .data("type", "bool-value")),
                                  .button(.type(.submit), .text(t(rule.isActive ? "rules.turn_off" : "rules.turn_on")))),
                            .if(rule.id != rules.first?.id, .form(.class("inline"), .data("api", path), .data("method", "PATCH"), .data("then", "reload"),
                                  .field(.type(.hidden), .name("position"), .value(String(max(1, rule.position - 1))), .data("type", "number-omit-empty")),
                                  .button(.type(.submit), .aria("label", t("rules.earlier")), .attribute(named: "title", value: t("rules.earlier")), .text("↑")))),
                            .form(.class("inline"), .data("api", path), .data("method", "DELETE"), .data("then", "reload"),
                                  .data("confirm", t("canned.delete_confirm", rule.name)),
                                  .button(.type(.submit), .class("danger"), .text(t("canned.delete"))))))
                })),
            .h2(.id("rule-form"), .text(editing.map { t("rules.editing", $0.name) } ?? t("rules.create"))),
            form(desk, api: api, canned: canned, rule: editing))
    }

    /// When the rule runs, in words: its trigger, and each condition ("Texto contiene «pedido» y Bandeja es «ERP»").
    static func when(_ desk: Desk, _ rule: AutomationRule, canned: [CannedResponse]) -> String {
        let t = desk.t
        let trigger = t("rules.trigger.\(rule.trigger.rawValue)")
        let after = rule.afterMinutes.map { " " + t("rules.after", $0) } ?? ""
        let conditions = rule.conditions.conditions.map { condition in
            let value = RuleValueNames.display(condition.value, RuleValueNames.kind(of: condition.field), desk: desk, canned: canned)
            return [t("rules.field.\(condition.field.rawValue)") + (condition.key.map { " \($0)" } ?? ""), t("rules.op.\(condition.op.rawValue)"),
                    value.map { $0.isEmpty ? "" : "«\($0)»" } ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
        }
        let joined = conditions.joined(separator: t(rule.conditions.match == .all ? "rules.and" : "rules.or"))
        return trigger + after + (joined.isEmpty ? "" : " · " + joined)
    }

    /// The form that writes a new rule, or with `rule` edits that one (every part replaced by what the form holds).
    static func form(_ desk: Desk, api: String, canned: [CannedResponse], rule: AutomationRule? = nil) -> Node<HTML.BodyContext> {
        let t = desk.t
        func option(_ value: String, _ text: String, selected: String? = nil) -> Node<HTML.FormContext> {
            .element(named: "option", nodes: [.attribute(named: "value", value: value, ignoreIfValueIsEmpty: false), .text(text)]
                     + (selected == value ? [.attribute(named: "selected", value: "selected")] : []))
        }
        func options<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ prefix: String, empty: Bool = true, selected: String? = nil) -> [Node<HTML.FormContext>] where T.RawValue == String {
            (empty ? [option("", "—")] : []) + T.allCases.map { option($0.rawValue, t("\(prefix).\($0.rawValue)"), selected: selected) }
        }
        func text(_ name: String, _ label: String, _ value: String?, list: Bool = false) -> Node<HTML.FormContext> {
            .field(.type(.text), .name(name), .aria("label", label), .placeholder(label), .value(value ?? ""),
                   .attribute(named: "list", value: list ? "rule-references" : ""))
        }
        let conditions = rule?.conditions.conditions ?? []
        let actions = rule?.actions ?? []
        let path = rule.map { api + "/" + ($0.id?.uuidString.lowercased() ?? "") } ?? api
        // What a value may name, offered as the admin types, by the names the rule accepts (`RuleValueNames`).
        let references = desk.members.map { ($0.user.email, t("rules.ref_member", $0.user.name)) }
            + desk.teams.map { ($0.name, t("rules.ref_team", $0.name)) }
            + desk.inboxes.map { ($0.name, t("rules.ref_inbox", $0.name)) }
            + canned.filter(\.isShared).map { ("/" + $0.shortcut, $0.title) }
            + Priority.allCases.map { (t("priority.\($0.rawValue)"), t("rules.field.priority")) }
            + [ConversationStatus.open, .pending, .resolved].map { (t("status.\($0.rawValue)"), t("rules.field.status")) }
            + ["open", "closed"].map { (t("rules.hours.\($0)"), t("rules.field.business_hours")) }
        let conditionRows: [Node<HTML.FormContext>] = (0..<max(rows, conditions.count + 1)).map { index in
            let condition = conditions.indices.contains(index) ? conditions[index] : nil
            let field: [Node<HTML.FormContext>] = [.attribute(named: "name", value: "field"), .aria("label", t("rules.field"))]
                + options(RuleCondition.Field.self, "rules.field", selected: condition?.field.rawValue)
            let op: [Node<HTML.FormContext>] = [.attribute(named: "name", value: "op"), .aria("label", t("rules.op"))]
                + options(RuleCondition.Op.self, "rules.op", selected: condition?.op.rawValue)
            return .div(.class("rule-row"), .data("row", "1"), .element(named: "select", nodes: field), .element(named: "select", nodes: op),
                        text("value", t("rules.value"), condition.flatMap { RuleValueNames.display($0.value, RuleValueNames.kind(of: $0.field), desk: desk, canned: canned) },
                             list: true),
                        text("key", t("rules.key"), condition?.key))
        }
        let actionRows: [Node<HTML.FormContext>] = (0..<max(rows, actions.count + 1)).map { index in
            let action = actions.indices.contains(index) ? actions[index] : nil
            let type: [Node<HTML.FormContext>] = [.attribute(named: "name", value: "type"), .aria("label", t("rules.action"))]
                + options(RuleAction.Kind.self, "rules.action", selected: action?.type.rawValue)
            return .div(.class("rule-row"), .data("row", "1"), .element(named: "select", nodes: type),
                        text("value", t("rules.value"), action.flatMap { RuleValueNames.display($0.value, RuleValueNames.kind(of: $0.type), desk: desk, canned: canned) },
                             list: true),
                        text("text", t("rules.text"), action?.text))
        }
        let conditionSet: Node<HTML.FormContext> = .element(named: "fieldset", nodes: [.class("rows"), .attribute(named: "data-rows", value: "conditions.conditions"),
            .element(named: "legend", nodes: [.text(t("rules.conditions"))])] + conditionRows)
        let actionSet: Node<HTML.FormContext> = .element(named: "fieldset", nodes: [.class("rows"), .attribute(named: "data-rows", value: "actions"),
            .element(named: "legend", nodes: [.text(t("rules.actions"))])] + actionRows)
        let back = SiteURL.settings(desk.slug, .rules).path
        let trigger: [Node<HTML.FormContext>] = [.attribute(named: "name", value: "trigger")]
            + options(RuleTrigger.self, "rules.trigger", empty: false, selected: rule?.trigger.rawValue)
        let match: [Node<HTML.FormContext>] = [.attribute(named: "name", value: "conditions.match"),
                                               option("all", t("rules.match_all"), selected: rule?.conditions.match.rawValue),
                                               option("any", t("rules.match_any"), selected: rule?.conditions.match.rawValue)]
        let datalist: Node<HTML.FormContext> = .element(named: "datalist", nodes: [.id("rule-references")] + references.map { value, label in
            .element(named: "option", nodes: [.attribute(named: "value", value: value), .attribute(named: "label", value: label)])
        })
        let name: Node<HTML.FormContext> = .label(.span(.text(t("rules.name"))), .field(.type(.text), .name("name"), .required(true),
                                                                                          .attribute(named: "maxlength", value: "120"), .value(rule?.name ?? "")))
        let after: Node<HTML.FormContext> = .label(.span(.text(t("rules.after_minutes"))),
            .field(.type(.number), .name("after_minutes"), .data("type", "number-omit-empty"), .attribute(named: "min", value: "1"),
                   .attribute(named: "max", value: "129600"), .value(rule?.afterMinutes.map(String.init) ?? "")))
        let stops: Node<HTML.FormContext> = .label(.field(.type(.checkbox), .name("stops"), .data("type", "bool"),
                                                          .attribute(named: "checked", value: rule?.stops == true ? "checked" : "")),
                                                   .text(" " + t("rules.stops")))
        let tools: Node<HTML.FormContext> = .div(.class("composer-tools"),
            .button(.type(.button), .data("preview", api + "/preview"), .text(t("rules.preview"))),
            .button(.type(.submit), .class("primary"), .text(t(rule == nil ? "rules.create" : "common.save"))),
            .if(rule != nil, .a(.href(back), .text(t("rules.cancel")))))
        return .form(.class("stack rule-form"), .data("api", path), .data("method", rule == nil ? "POST" : "PATCH"),
            .data("then", rule == nil ? "reload" : "go"), .data("href", back),
            name,
            .label(.span(.text(t("rules.when"))), .element(named: "select", nodes: trigger)),
            after,
            .label(.span(.text(t("rules.match"))), .element(named: "select", nodes: match)),
            conditionSet,
            actionSet,
            datalist,
            stops,
            tools,
            .p(.class("preview-result"), .role("status")),
            SettingsPages.formError())
    }
}
