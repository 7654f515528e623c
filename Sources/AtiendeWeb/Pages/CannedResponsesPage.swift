import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/app/{ws}/canned`: the canned responses an agent may use — the team's shared ones (changed by supervisors and
/// admins) and their own — with their uses, and the forms to write, change and delete them. Inserted from the reply
/// box by typing `/` and a few letters of the shortcut or title.
enum CannedResponsesPage {
    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk()
        let responses = try await req.atiende.canned.usable(workspace: desk.workspaceID, user: desk.userID, on: req.db)
        let t = desk.t
        return HTMLPage(html: Layout.desk(desk, title: t("canned.title"), page: "settings", .div(.class("settings canned"), view(desk, responses))))
    }

    static func apiPath(_ desk: Desk) -> String { SettingsPages.apiBase(desk) + "/canned-responses" }

    static func view(_ desk: Desk, _ responses: [CannedResponse]) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .group(
            .h1(.text(t("canned.title"))),
            .p(.class("hint"), .text(t("canned.how"))),
            .p(.class("hint"), .text(t("canned.variables") + " "), .code(.text(Placeholders.builtIn.map { "{{\($0)}}" }.joined(separator: " ")))),
            responses.isEmpty ? .p(.class("empty"), .text(t("canned.empty"))) :
            .table(.class("grid"),
                .thead(.tr(.th(.text(t("canned.shortcut"))), .th(.text(t("canned.title_field"))), .th(.text(t("canned.scope"))),
                           .th(.text(t("canned.uses"))), .th())),
                .tbody(.forEach(responses) { response in
                    .tr(.td(.code(.text("/" + response.shortcut))),
                        .td(.text(response.title)),
                        .td(.text(t(response.isShared ? "canned.shared" : "canned.personal"))),
                        .td(.text(String(response.useCount))),
                        .td(.if(response.ownerID == desk.userID || (response.isShared && desk.role >= .supervisor), edit(desk, response))))
                })),
            .h2(.text(t("canned.create"))),
            form(desk, nil))
    }

    static func edit(_ desk: Desk, _ response: CannedResponse) -> Node<HTML.BodyContext> {
        let t = desk.t
        let api = apiPath(desk) + "/" + (response.id?.uuidString.lowercased() ?? "")
        return .element(named: "details", nodes: [.class("edit-canned"),
            .element(named: "summary", nodes: [.text(t("canned.edit"))]),
            form(desk, response),
            .form(.class("inline"), .data("api", api), .data("method", "DELETE"), .data("then", "reload"),
                  .data("confirm", t("canned.delete_confirm", "/" + response.shortcut)),
                  .button(.type(.submit), .class("danger"), .text(t("canned.delete"))), SettingsPages.formError()),
        ])
    }

    /// The form to write a response (nil) or change one; each language's text on its own, either may stay empty.
    static func form(_ desk: Desk, _ response: CannedResponse?) -> Node<HTML.BodyContext> {
        let t = desk.t
        let api = response.map { apiPath(desk) + "/" + ($0.id?.uuidString.lowercased() ?? "") } ?? apiPath(desk)
        return .form(.class("stack"), .data("api", api), .data("method", response == nil ? "POST" : "PATCH"), .data("then", "reload"),
            .label(.span(.text(t("canned.shortcut"))),
                   .field(.type(.text), .name("shortcut"), .value(response?.shortcut ?? ""), .required(true), .placeholder("envio"),
                          .attribute(named: "maxlength", value: "41"))),
            .label(.span(.text(t("canned.title_field"))),
                   .field(.type(.text), .name("title"), .value(response?.title ?? ""), .required(true), .attribute(named: "maxlength", value: "120"))),
            .forEach(CannedResponseService.languages) { language in
                .label(.span(.text(t("canned.text_\(language)"))),
                       .textBox(.name("variants.\(language)"), .attribute(named: "rows", value: "4"),
                                .attribute(named: "maxlength", value: String(CannedResponseService.maxTextLength)),
                                .text(response?.variants[language] ?? "")))
            },
            .if(response == nil && desk.role >= .supervisor,
                .label(.field(.type(.checkbox), .name("shared"), .data("type", "bool"), .attribute(named: "checked", value: "checked")),
                       .text(" " + t("canned.share")))),
            .button(.type(.submit), .class("primary"), .text(t(response == nil ? "canned.create" : "common.save"))),
            SettingsPages.formError())
    }
}
