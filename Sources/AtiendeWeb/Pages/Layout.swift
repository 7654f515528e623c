import AtiendeChannels
import AtiendeCore
import Foundation
import Plot

/// The shell every page shares: head, top bar with search and workspace switcher, the sidebar with the
/// inbox views and their live counts, the connection banner, toasts and the keyboard help.
enum Layout {
    static let assetVersion = Assets.version

    static func head(_ title: String, t: Localizer, csrf: String?) -> Node<HTML.DocumentContext> {
        .head(
            .meta(.charset(.utf8)),
            .meta(.name("viewport"), .content("width=device-width, initial-scale=1")),
            // Not Plot's .title(): it copies the title into og:/twitter: meta attributes without escaping.
            .element(named: "title", text: title + " · Atiende"),
            .meta(.name("csrf-token"), .content(csrf ?? "")),
            .link(.rel(.icon), .href("data:,")),
            .link(.rel(.stylesheet), .href(SiteURL.asset("app.css").path + "?v=\(assetVersion)")),
            .script(.attribute(named: "type", value: "module"), .src(SiteURL.asset("app.js").path + "?v=\(assetVersion)"))
        )
    }

    /// A page outside any workspace (sign-in, first run, account).
    static func plain(_ title: String, t: Localizer, csrf: String?, _ content: Node<HTML.BodyContext>,
                      extra: [Node<HTML.BodyContext>] = []) -> HTML {
        HTML(
            .attribute(named: "lang", value: t.language.rawValue),
            head(title, t: t, csrf: csrf),
            .body(
                .data("page", "plain"), .data("lang", t.language.rawValue),
                .main(.id("main"), .class("narrow"), content),
                .group(extra)
            )
        )
    }

    /// A page of a workspace.
    static func desk(_ desk: Desk, title: String, page: String, _ content: Node<HTML.BodyContext>, extra: [Node<HTML.BodyContext>] = []) -> HTML {
        let t = desk.t
        return HTML(
            .attribute(named: "lang", value: t.language.rawValue),
            head(title, t: t, csrf: desk.csrf),
            .body(
                .data("page", page), .data("lang", t.language.rawValue), .data("workspace", desk.slug),
                .data("workspace-id", desk.workspaceID.uuidString.lowercased()), .data("user-id", desk.userID.uuidString.lowercased()),
                .data("last-event", String(desk.lastEventID)), .data("time-zone", desk.timeZone.identifier),
                .a(.class("skip"), .href("#main"), .text(t("nav.skip"))),
                topBar(desk),
                .div(.id("live-banner"), .class("banner"), .role("status"), .attribute(named: "hidden", value: "hidden"), .text(t("live.reconnecting"))),
                .div(.class("shell"), sidebar(desk), .main(.id("main"), .attribute(named: "tabindex", value: "-1"), content)),
                .div(.id("toasts"), .class("toasts"), .aria("live", "polite")),
                .group(extra),
                help(t),
                strings(t)
            )
        )
    }

    static func topBar(_ desk: Desk) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .header(.class("topbar"),
            // On a phone the views and inboxes fold away behind this button.
            .button(.type(.button), .id("menu-toggle"), .class("menu-toggle"), .aria("controls", "sidebar"), .aria("expanded", "false"),
                    .text("☰ " + t("nav.menu"))),
            .a(.class("brand"), .href(SiteURL.inbox(desk.slug).path), .text("Atiende")),
            .form(.class("search"), .action(SiteURL.search(desk.slug).path), .method(.get), .role("search"),
                  .label(.class("sr"), .for("global-search"), .text(t("search.label"))),
                  .field(.type(.search), .id("global-search"), .name("q"), .placeholder(t("search.placeholder")), .data("shortcut", "/"))),
            .nav(.class("top-links"), .aria("label", t("nav.account")),
                 bell(desk),
                 statusPicker(desk),
                 .form(.class("switcher"), .action(SiteURL.switchWorkspace.path), .method(.get),
                       .label(.class("sr"), .for("workspace-switch"), .text(t("nav.workspace"))),
                       .dropdown(.id("workspace-switch"), .name("workspace"), .data("autosubmit", "1"),
                               .forEach(desk.workspaces) { ws in
                                   .option(.value(ws.slug), .text(ws.name), .selected(ws.slug == desk.slug))
                               }),
                       .noscript(.button(.type(.submit), .text(t("nav.switch"))))),
                 .a(.href(SiteURL.account.path), .text(desk.user.name)),
                 .form(.action(SiteURL.logout.path), .method(.post), .class("inline"),
                       .csrf(desk.csrf), .button(.type(.submit), .class("link"), .text(t("nav.logout"))))))
    }

    /// The member's own status (online, busy, away, offline), changed in one step.
    static func statusPicker(_ desk: Desk) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .form(.class("status-picker"), .data("api", SettingsPages.apiBase(desk) + "/users/\(desk.userID.uuidString.lowercased())/availability"),
                     .data("method", "PUT"), .data("autosubmit", "1"),
                     .label(.class("sr"), .for("my-status"), .text(t("status_picker.label"))),
                     .span(.class("dot \(desk.availability.rawValue)"), .id("my-status-dot"), .aria("hidden", "true")),
                     .dropdown(.id("my-status"), .name("status"),
                               .forEach(AgentStatus.allCases) { status in
                                   .option(.value(status.rawValue), .text(t("availability.\(status.rawValue)")), .selected(status == desk.availability))
                               }))
    }

    /// Unread notifications: a live region of every page.
    static func bell(_ desk: Desk) -> Node<HTML.BodyContext> {
        .a(.href(SiteURL.notifications(desk.slug).path), .id("bell"), .data("live", "bell"), .aria("label", desk.t("nav.notifications")),
           .raw(Icon.bell), .span(.id("bell-count"), .class("count"), .text(desk.unreadNotifications > 0 ? String(desk.unreadNotifications) : "")))
    }

    static func sidebar(_ desk: Desk) -> Node<HTML.BodyContext> {
        let t = desk.t
        let inbox = SiteURL.inbox(desk.slug)
        func item(_ label: String, _ query: [(String, String)], count: Int?, id: String, badge: Node<HTML.BodyContext> = .empty) -> Node<HTML.ListContext> {
            .li(.a(.href(inbox.path(query: query)), .data("view", id),
                   .span(badge, .text(label)), .span(.class("count"), .data("count", id), .text(count.map(String.init) ?? ""))))
        }
        return .nav(.class("sidebar"), .id("sidebar"), .data("live", "sidebar"), .aria("label", t("nav.views")),
            .h2(.text(t("nav.conversations"))),
            .ul(
                item(t("view.mine"), [("view", "mine")], count: desk.counts.views[.mine] ?? 0, id: "mine"),
                item(t("view.unassigned"), [("view", "unassigned")], count: desk.counts.views[.unassigned] ?? 0, id: "unassigned"),
                item(t("view.all"), [("view", "all")], count: desk.counts.views[.all] ?? 0, id: "all"),
                item(t("view.waiting_longest"), [("view", "all"), ("sort", "waiting_longest")], count: nil, id: "waiting"),
                item(t("view.sla_at_risk"), [("view", "all"), ("sort", "sla_due"), ("sla", "at_risk")], count: nil, id: "sla")
            ),
            .if(!desk.inboxes.isEmpty, .group(
                .h2(.text(t("nav.inboxes"))),
                .ul(.forEach(desk.inboxes) { box in
                    item(box.name, [("inbox", box.id?.uuidString.lowercased() ?? "")],
                         count: desk.counts.inboxes[box.id ?? UUID()] ?? 0, id: "inbox-\(box.id?.uuidString.lowercased() ?? "")",
                         badge: desk.badge(box.channel))
                }))),
            .if(!desk.teams.isEmpty, .group(
                .h2(.text(t("nav.teams"))),
                .ul(.forEach(desk.teams) { team in
                    item(team.name, [("team", team.id?.uuidString.lowercased() ?? "")],
                         count: desk.counts.teams[team.id ?? UUID()] ?? 0, id: "team-\(team.id?.uuidString.lowercased() ?? "")")
                }))),
            .if(!desk.counts.labels.isEmpty, .group(
                .h2(.text(t("nav.labels"))),
                .ul(.forEach(desk.counts.labels.sorted { $0.key < $1.key }) { label, count in
                    item("#" + label, [("label", label)], count: count, id: "label-\(label)")
                }))),
            .if(!desk.savedViews.isEmpty, .group(
                .h2(.text(t("nav.saved_views"))),
                .ul(.forEach(desk.savedViews) { view in
                    .li(.class("saved"), .a(.href(inbox.path + "?" + view.query), .text(view.name)),
                        .form(.class("inline"), .method(.post), .action(SiteURL.deleteSavedView(desk.slug, view.id ?? UUID()).path),
                              .csrf(desk.csrf),
                              .button(.type(.submit), .class("link"), .aria("label", t("views.delete", view.name)), .text("×"))))
                }))),
            .h2(.text(t("nav.more"))),
            .ul(
                .li(.a(.href(SiteURL.contacts(desk.slug).path), .text(t("nav.contacts")))),
                .li(.a(.href(SiteURL.canned(desk.slug).path), .text(t("canned.title")))),
                .li(.a(.href(SiteURL.macros(desk.slug).path), .text(t("macros.title")))),
                .if(desk.role >= .supervisor, .li(.a(.href(SiteURL.availability(desk.slug).path), .text(t("board.title"))))),
                .if(desk.role >= .supervisor, .li(.a(.href(SiteURL.reports(desk.slug).path), .text(t("reports.title"))))),
                .if(desk.role >= .supervisor, .li(.a(.href(SiteURL.atRisk(desk.slug).path), .text(t("at_risk.title"))))),
                .if(desk.role >= .admin, .group(
                    .li(.a(.href(SiteURL.settings(desk.slug, .inboxes).path), .text(t("settings.inboxes")))),
                    .li(.a(.href(SiteURL.settings(desk.slug, .users).path), .text(t("settings.users")))),
                    .li(.a(.href(SiteURL.settings(desk.slug, .teams).path), .text(t("settings.teams")))),
                    .li(.a(.href(SiteURL.settings(desk.slug, .service).path), .text(t("settings.service")))),
                    .li(.a(.href(SiteURL.settings(desk.slug, .rules).path), .text(t("settings.rules")))),
                    .li(.a(.href(SiteURL.settings(desk.slug, .workspace).path), .text(t("settings.workspace")))),
                    .li(.a(.href(SiteURL.imports(desk.slug).path), .text(t("import.title")))),
                    .li(.a(.href(SiteURL.auditLog(desk.slug).path), .text(t("audit.title"))))
                ))
            ))
    }

    static func help(_ t: Localizer) -> Node<HTML.BodyContext> {
        let keys: [(String, String)] = [("j / k", "help.move"), ("Enter", "help.open"), ("r", "help.reply"), ("n", "help.note"),
                                        ("e", "help.resolve"), ("a", "help.assign"), ("/", "help.search"), ("?", "help.help")]
        return .element(named: "dialog", nodes: [
            .id("help"), .aria("labelledby", "help-title"),
            .h2(.id("help-title"), .text(t("help.title"))),
            .element(named: "dl", nodes: keys.map { key, label in
                .group(.element(named: "dt", nodes: [.element(named: "kbd", text: key)]), .element(named: "dd", text: t(label)))
            }),
            .form(.attribute(named: "method", value: "dialog"), .button(.type(.submit), .text(t("common.close")))),
        ])
    }

    /// Texts the browser code shows, in the page's language.
    static func strings(_ t: Localizer) -> Node<HTML.BodyContext> {
        let keys = ["macros.confirm", "rules.preview_found", "rules.preview_none", "bulk.none_picked", "canned.gaps", "canned.picker", "live.reconnecting", "live.new_message", "live.assigned", "live.mentioned", "live.notice", "presence.viewing", "presence.typing", "presence.visitor_typing",
                    "common.saved", "common.error", "bulk.done", "delivery.queued", "notifications.enable", "time.now",
                    "time.minutes", "time.hours", "time.days", "sla.due_in", "sla.overdue"]
        var table: [String: String] = [:]
        for key in keys { table[key] = t(key) }
        let json = (try? String(data: JSONSerialization.data(withJSONObject: table, options: [.sortedKeys]), encoding: .utf8)) ?? "{}"
        return .element(named: "template", nodes: [.id("strings"), .data("json", json)])
    }
}

enum ChannelBadge {
    /// The channel's badge: its descriptor's icon, its translated name for screen readers and on hover.
    static func node(_ channel: ChannelKind, t: Localizer, icon: ChannelIcon) -> Node<HTML.BodyContext> {
        .span(.class("channel"), .attribute(named: "title", value: t("channel.\(channel.rawValue)")),
              .aria("label", t("channel.\(channel.rawValue)")), .role("img"), .raw(svg(icon)))
    }

    /// The icon as inline SVG; its path and colour come from a descriptor, and are escaped all the same.
    static func svg(_ icon: ChannelIcon) -> String {
        let color = icon.color.allSatisfy({ $0 == "#" || $0.isHexDigit }) ? icon.color : ChannelIcon.unknown.color
        let path = icon.path.filter { $0.isLetter || $0.isNumber || " .,-".contains($0) }
        return #"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="\#(color)" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="\#(path)"/></svg>"#
    }
}

/// A person's initials in a circle, customers and colleagues apart at a glance.
enum Avatar {
    static func initials(_ name: String) -> String {
        let words = name.split(whereSeparator: { $0.isWhitespace || $0 == "@" || $0 == "." }).prefix(2)
        let letters = words.compactMap(\.first).map { String($0).uppercased() }.joined()
        return letters.isEmpty ? "?" : letters
    }

    static func node(_ name: String, customer: Bool) -> Node<HTML.BodyContext> {
        .span(.class(customer ? "avatar contact" : "avatar"), .aria("hidden", "true"), .text(initials(name)))
    }
}

/// Icons drawn as SVG, so they never depend on the reader's emoji font.
enum Icon {
    static let bell = #"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"/></svg>"#
}
