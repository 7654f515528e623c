import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// `/app/{workspace}/notifications` and saved inbox views.
enum NotificationPages {
    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk()
        let t = desk.t
        let items = try await desk.scope.query(AgentNotification.self, on: req.db).filter(\.$userID == desk.userID)
            .sort(\.$createdAt, .descending).limit(100).all()
        let content: Node<HTML.BodyContext> = .div(.class("notifications"),
            .h1(.text(t("nav.notifications"))),
            .p(.button(.type(.button), .id("enable-notifications"), .text(t("notifications.enable")))),
            .form(.method(.post), .action(SiteURL.notifications(desk.slug).path), .csrf(desk.csrf),
                  .button(.type(.submit), .text(t("notifications.mark_read")))),
            items.isEmpty ? .p(.class("empty"), .text(t("notifications.empty"))) :
            .ul(.class("hits"), .forEach(items) { item in
                let headline = t("notifications.\(item.kind.rawValue)", desk.memberName(item.actorID) ?? t("message.system"), item.conversationNumber)
                // Notifications about no conversation (a failed backup) link nowhere.
                return .li(.class(item.readAt == nil ? "unread" : ""),
                    item.conversationNumber > 0 ? .a(.href(SiteURL.conversation(desk.slug, item.conversationNumber).path), .text(headline))
                        : .strong(.text(headline)),
                    .text(" · " + desk.format.dateTime(item.createdAt)),
                    .if(!item.excerpt.isEmpty, .p(.class("snippet"), .text(snippet(item, t: t)))))
            }))
        return HTMLPage(html: Layout.desk(desk, title: t("nav.notifications"), page: "notifications", content))
    }

    /// A service-level alert's excerpt names its clock (`first_response`): shown in the reader's words.
    static func snippet(_ item: AgentNotification, t: Localizer) -> String {
        guard item.kind == .slaWarning || item.kind == .slaBreach, t.has("sla.\(item.excerpt)") else { return item.excerpt }
        return t("sla.\(item.excerpt)")
    }

    static func markRead(_ req: Request) async throws -> Response {
        let desk = try await req.desk()
        try await req.atiende.store.write { tx in
            try await AgentNotification.query(on: tx.db).filter(\.$workspace.$id == desk.workspaceID).filter(\.$userID == desk.userID)
                .filter(\.$readAt == nil).set(\.$readAt, to: tx.now).update()
        }
        return req.redirect(to: SiteURL.notifications(desk.slug).path, redirectType: .normal)
    }

    struct SavedViewForm: Content { var name: String; var query: String }

    static func deleteView(_ req: Request) async throws -> Response {
        let desk = try await req.desk()
        let id = try req.uuidParameter("viewId", "saved view")
        // Only the agent's own views.
        guard let view = try await desk.scope.query(SavedView.self, on: req.db).filter(\.$id == id).filter(\.$userID == desk.userID).first() else {
            throw AtiendeError.notFound("saved view")
        }
        try await SavedViews.delete(view, actor: desk.userID, store: req.atiende.store)
        return req.redirect(to: SiteURL.inbox(desk.slug).path, redirectType: .normal)
    }

    static func saveView(_ req: Request) async throws -> Response {
        let desk = try await req.desk()
        let form = try req.content.decode(SavedViewForm.self)
        let name = form.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 60 else { throw AtiendeError.invalid("a view's name is 1 to 60 characters", code: "invalid_view_name") }
        guard form.query.count <= 500 else { throw AtiendeError.invalid("this view's filter is too long", code: "invalid_view") }
        // Only the inbox's own filters are kept; anything else in the query string is dropped.
        guard var components = URLComponents(string: "?" + form.query) else {
            throw AtiendeError.invalid("this view's filter is not a query string", code: "invalid_view")
        }
        let allowed: Set<String> = ["view", "status", "inbox", "team", "label", "channel", "priority", "sort", "sla"]
        components.queryItems = (components.queryItems ?? []).filter { allowed.contains($0.name) }
        let view = SavedView()
        view.$workspace.id = desk.workspaceID
        view.userID = desk.userID
        view.name = name
        view.query = components.percentEncodedQuery ?? ""
        try await SavedViews.create(view, store: req.atiende.store)
        return req.redirect(to: SiteURL.inbox(desk.slug).path + "?" + view.query, redirectType: .normal)
    }
}
