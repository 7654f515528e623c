import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/app/{ws}/macros`: the macros an agent may run — the team's (changed by supervisors and admins) and their own —
/// with what each does and its uses, and the forms to write, change and delete them. Run from a conversation's head, or
/// on every conversation picked in the inbox.
enum MacrosPage {
    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk()
        let macros = try await req.atiende.macros.usable(workspace: desk.workspaceID, user: desk.userID, on: req.db)
        let canned = try await req.atiende.canned.usable(workspace: desk.workspaceID, user: desk.userID, on: req.db)
        let t = desk.t
        return HTMLPage(html: Layout.desk(desk, title: t("macros.title"), page: "settings", .div(.class("settings macros"),
            .h1(.text(t("macros.title"))),
            .p(.class("hint"), .text(t("macros.how"))),
            macros.isEmpty ? .p(.class("empty"), .text(t("macros.empty"))) :
            .table(.class("grid"),
                .thead(.tr(.th(.text(t("macros.name"))), .th(.text(t("macros.does"))), .th(.text(t("canned.scope"))), .th(.text(t("canned.uses"))), .th())),
                .tbody(.forEach(macros) { macro in
                    .tr(.td(.text(macro.name)), .td(.text(summary(desk, macro.actions, canned: canned))),
                        .td(.text(t(macro.isShared ? "canned.shared" : "canned.personal"))), .td(.text(String(macro.useCount))),
                        .td(.if(macro.ownerID == desk.userID || (macro.isShared && desk.role >= .supervisor), edit(desk, macro, canned: canned))))
                })),
            .h2(.text(t("macros.create"))),
            form(desk, nil, canned: canned))))
    }

    static func apiPath(_ desk: Desk) -> String { SettingsPages.apiBase(desk) + "/macros" }

    /// "Replies /envio · adds #despacho · resolved · assigns whoever runs it".
    static func summary(_ desk: Desk, _ actions: MacroActions, canned: [CannedResponse]) -> String {
        let t = desk.t
        var parts: [String] = []
        if let reply = actions.reply {
            if let id = reply.cannedResponseID { parts.append(t("macros.does_reply", "/" + (canned.first { $0.id == id }?.shortcut ?? "?"))) }
            else { parts.append(t("macros.does_reply_text")) }
        }
        if actions.note != nil { parts.append(t("macros.does_note")) }
        for label in actions.addLabels ?? [] { parts.append("+#" + label) }
        for label in actions.removeLabels ?? [] { parts.append("−#" + label) }
        if let status = actions.status { parts.append(t("status.\(status.rawValue)")) }
        if let priority = actions.priority { parts.append(t("priority.\(priority.rawValue)")) }
        switch actions.assignee {
        case nil: break
        case "me": parts.append(t("macros.does_assign_me"))
        case "none": parts.append(t("conversation.unassigned"))
        case let id?: parts.append(t("macros.does_assign", desk.memberName(UUID(uuidString: id)) ?? "?"))
        }
        switch actions.team {
        case nil: break
        case "none": parts.append(t("macros.does_no_team"))
        case let id?: parts.append(t("macros.does_team", desk.teams.first { $0.id?.uuidString == id }?.name ?? "?"))
        }
        return parts.joined(separator: " · ")
    }

    static func edit(_ desk: Desk, _ macro: Macro, canned: [CannedResponse]) -> Node<HTML.BodyContext> {
        let t = desk.t
        let api = apiPath(desk) + "/" + (macro.id?.uuidString.lowercased() ?? "")
        return .element(named: "details", nodes: [.class("edit-macro"),
            .element(named: "summary", nodes: [.text(t("canned.edit"))]),
            form(desk, macro, canned: canned),
            .form(.class("inline"), .data("api", api), .data("method", "DELETE"), .data("then", "reload"),
                  .data("confirm", t("canned.delete_confirm", macro.name)),
                  .button(.type(.submit), .class("danger"), .text(t("canned.delete"))), SettingsPages.formError()),
        ])
    }

    /// Every action a macro can take; left empty, an action is not part of it.
    static func form(_ desk: Desk, _ macro: Macro?, canned: [CannedResponse]) -> Node<HTML.BodyContext> {
        let t = desk.t
        let actions = macro?.actions ?? MacroActions()
        let api = macro.map { apiPath(desk) + "/" + ($0.id?.uuidString.lowercased() ?? "") } ?? apiPath(desk)
        func choice(_ name: String, _ label: String, _ selected: String?, _ options: [(String, String)]) -> Node<HTML.FormContext> {
            .label(.span(.text(label)),
                   .dropdown(.name(name), .data("type", "omit-empty"),
                             .forEach([("", t("macros.leave"))] + options) { value, text in .option(.value(value), .text(text), .selected(value == (selected ?? ""))) }))
        }
        return .form(.class("stack"), .data("api", api), .data("method", macro == nil ? "POST" : "PATCH"), .data("then", "reload"),
            .label(.span(.text(t("macros.name"))), .field(.type(.text), .name("name"), .value(macro?.name ?? ""), .required(true),
                                                           .attribute(named: "maxlength", value: "120"))),
            choice("actions.reply.canned_response_id", t("macros.reply_canned"), actions.reply?.cannedResponseID?.uuidString.lowercased(),
                   canned.map { ($0.id?.uuidString.lowercased() ?? "", "/\($0.shortcut) · \($0.title)") }),
            .label(.span(.text(t("macros.reply_text"))),
                   .textBox(.name("actions.reply.text"), .data("type", "omit-empty"), .attribute(named: "rows", value: "3"), .text(actions.reply?.text ?? ""))),
            .label(.span(.text(t("macros.note"))),
                   .textBox(.name("actions.note"), .data("type", "omit-empty"), .attribute(named: "rows", value: "2"), .text(actions.note ?? ""))),
            .label(.span(.text(t("macros.add_labels"))), .field(.type(.text), .name("actions.add_labels"), .data("type", "list-omit-empty"),
                                                                 .value((actions.addLabels ?? []).joined(separator: ", ")))),
            .label(.span(.text(t("macros.remove_labels"))), .field(.type(.text), .name("actions.remove_labels"), .data("type", "list-omit-empty"),
                                                                    .value((actions.removeLabels ?? []).joined(separator: ", ")))),
            choice("actions.status", t("macros.status"), actions.status?.rawValue,
                   [ConversationStatus.open, .pending, .resolved].map { ($0.rawValue, t("status.\($0.rawValue)")) }),
            choice("actions.priority", t("macros.priority"), actions.priority?.rawValue, Priority.allCases.map { ($0.rawValue, t("priority.\($0.rawValue)")) }),
            choice("actions.assignee", t("macros.assignee"), actions.assignee?.lowercased(),
                   [("me", t("macros.does_assign_me")), ("none", t("conversation.unassigned"))]
                   + desk.members.map { ($0.user.id?.uuidString.lowercased() ?? "", $0.user.name) }),
            choice("actions.team", t("macros.team"), actions.team?.lowercased(),
                   [("none", t("macros.does_no_team"))] + desk.teams.map { ($0.id?.uuidString.lowercased() ?? "", $0.name) }),
            .if(macro == nil && desk.role >= .supervisor,
                .label(.field(.type(.checkbox), .name("shared"), .data("type", "bool"), .attribute(named: "checked", value: "checked")),
                       .text(" " + t("canned.share")))),
            .button(.type(.submit), .class("primary"), .text(t(macro == nil ? "macros.create" : "common.save"))),
            SettingsPages.formError())
    }

    /// A conversation's macros, one button each.
    static func runner(_ desk: Desk, _ macros: [Macro], conversation number: Int) -> Node<HTML.BodyContext> {
        guard !macros.isEmpty else { return .empty }
        let t = desk.t
        return .element(named: "details", nodes: [.class("macros-run"), .id("macros-run"),
            .element(named: "summary", nodes: [.text(t("macros.run"))]),
            .ul(.forEach(macros) { macro in
                .li(.form(.class("inline"), .data("api", ConversationPage.apiPath(desk, number) + "/macros/\(macro.id?.uuidString.lowercased() ?? "")/run"),
                          .data("method", "POST"), .data("then", "reload"),
                          .button(.type(.submit), .text(macro.name))))
            })])
    }
}
