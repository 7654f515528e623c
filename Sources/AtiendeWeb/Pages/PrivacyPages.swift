import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/app/{workspace}/contacts/{id}/export` and `…/erase`: an admin answers a person's privacy request from their contact
/// page — their data as a ZIP, or its erasure after a page that says what will go and asks to confirm.
enum PrivacyPages {
    static func export(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .admin)
        let id = try req.uuidParameter("contactId", "contact")
        return try await PrivacyArchive.response(req, contact: id, workspace: desk.workspaceID, actor: desk.userID)
    }

    static func confirm(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .admin)
        let t = desk.t
        let id = try req.uuidParameter("contactId", "contact")
        let holding = try await PrivacyService.holding(id, workspace: desk.workspaceID, on: req.db)
        let tally = holding.tally
        let rows: [(String, Int)] = [
            ("privacy.count.identities", tally.identities), ("privacy.count.conversations", tally.conversations),
            ("privacy.count.messages", tally.messages), ("privacy.count.attachments", tally.attachments),
            ("privacy.count.surveys", tally.surveys), ("privacy.count.compensations", tally.compensations),
            ("privacy.count.merged", tally.contacts - 1),
        ]
        let content: Node<HTML.BodyContext> = .div(.class("privacy-erase"),
            .h1(.text(t("privacy.erase_title", holding.contact.name ?? holding.contact.email ?? holding.contact.phone ?? t("contact.unnamed")))),
            .p(.text(t("privacy.erase_intro"))),
            .table(.class("grid"), .id("erase-preview"), .tbody(.forEach(rows) { key, count in
                .tr(.th(.text(t(key))), .td(.text(String(count))))
            })),
            .p(.class("hint"), .text(t("privacy.erase_kept"))),
            .p(.a(.href(SiteURL.contactExport(desk.slug, id).path), .attribute(named: "download", value: ""), .text(t("privacy.export_first")))),
            .form(.class("stack"), .method(.post), .action(SiteURL.contactErase(desk.slug, id).path), .id("erase-form"),
                  .csrf(desk.csrf),
                  .label(.field(.type(.checkbox), .name("confirm"), .value("1"), .required(true)), .text(" " + t("privacy.erase_confirm"))),
                  .div(.class("actions"),
                       .button(.type(.submit), .class("danger"), .text(t("privacy.erase_button"))),
                       .a(.href(SiteURL.contact(desk.slug, id).path), .text(t("privacy.cancel")))))
        )
        return try await HTMLPage(html: Layout.desk(desk, title: t("privacy.erase_button"), page: "contact", content)).encodeResponse(for: req)
    }

    struct EraseForm: Content {
        var confirm: String?
    }

    static func erase(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .admin)
        let id = try req.uuidParameter("contactId", "contact")
        guard (try? req.content.decode(EraseForm.self))?.confirm == "1" else {
            throw AtiendeError.invalid("tick the box that confirms the erasure", code: "confirmation_required")
        }
        try await req.atiende.privacy.erase(id, workspace: desk.workspaceID, actor: desk.userID)
        return req.redirect(to: SiteURL.contact(desk.slug, id).path, redirectType: .normal)
    }

    /// The contact page's part for admins: the two requests a person can make about their data.
    static func part(_ desk: Desk, contact: Contact) -> Node<HTML.BodyContext> {
        guard desk.role == .admin, let id = contact.id else { return .empty }
        let t = desk.t
        return .section(.class("privacy"),
            .h3(.text(t("privacy.title"))),
            .p(.class("hint"), .text(t("privacy.hint"))),
            .p(.a(.href(SiteURL.contactExport(desk.slug, id).path), .id("privacy-export"), .attribute(named: "download", value: ""),
                  .text(t("privacy.export"))),
               .text(" · "),
               .a(.href(SiteURL.contactErase(desk.slug, id).path), .id("privacy-erase"), .class("danger"), .text(t("privacy.erase")))))
    }
}
