import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// `/app/{workspace}/inbox`: one view of the conversations, filtered and sorted, updated live.
enum InboxPage {
    static func filter(from req: Request) throws -> InboxQuery.Filter {
        try filter(req) { req.query[String.self, at: $0] }
    }

    /// The view the agent last had open in the inbox (remembered by the page in the `atiende_view` cookie), for the list
    /// beside a conversation; anything unreadable is the default view.
    static func rememberedFilter(_ req: Request) -> InboxQuery.Filter {
        guard let raw = req.cookies["atiende_view"]?.string.removingPercentEncoding, raw.count <= 500,
              let items = URLComponents(string: "?" + raw.trimmingCharacters(in: CharacterSet(charactersIn: "?")))?.queryItems,
              var filter = try? filter(req, values: { name in items.first { $0.name == name }?.value }) else { return InboxQuery.Filter() }
        filter.page = 0
        return filter
    }

    static func filter(_ req: Request, values: (String) -> String?) throws -> InboxQuery.Filter {
        var filter = InboxQuery.Filter()
        func value(_ name: String) -> String? { values(name).flatMap { $0.isEmpty ? nil : $0 } }
        func invalid(_ name: String) -> AtiendeError { AtiendeError.invalid("'\(name)' has a value this page does not know", code: "invalid_filter") }
        if let raw = value("view") { guard let view = InboxQuery.View(rawValue: raw) else { throw invalid("view") }; filter.view = view }
        if let raw = value("status") {
            if raw == "active" { filter.statuses = ConversationStatus.active }
            else if raw == "any" { filter.statuses = [] }
            else { guard let status = ConversationStatus(rawValue: raw) else { throw invalid("status") }; filter.statuses = [status] }
        }
        if let raw = value("inbox") { guard let id = UUID(uuidString: raw) else { throw invalid("inbox") }; filter.inboxID = id }
        if let raw = value("team") { guard let id = UUID(uuidString: raw) else { throw invalid("team") }; filter.teamID = id }
        if let raw = value("label") { guard raw.count <= 64 else { throw invalid("label") }; filter.label = raw.lowercased() }
        if let raw = value("channel") { guard let channel = ChannelKind(rawValue: raw), req.atiende.channels[channel] != nil else { throw invalid("channel") }; filter.channel = channel }
        if let raw = value("priority") { guard let priority = Priority(rawValue: raw) else { throw invalid("priority") }; filter.priority = priority }
        if let raw = value("sort") { guard let sort = InboxQuery.Sort(rawValue: raw) else { throw invalid("sort") }; filter.sort = sort }
        if let raw = value("sla") { guard raw == "at_risk" else { throw invalid("sla") }; filter.atRisk = true }
        if let raw = value("page") { guard let page = Int(raw), (0...10_000).contains(page) else { throw invalid("page") }; filter.page = page }
        return filter
    }

    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk()
        let filter = try filter(from: req)
        if let region = try await listRegion(req, desk: desk, filter: filter) { return region }
        if let region = req.liveRegion { throw LiveRegion.unknown(region) }
        let rows = try await req.atiende.inbox.rows(workspace: desk.workspaceID, user: desk.userID, filter: filter)
        let query = canonicalQuery(filter)
        // The widget step is done once a chat really came in to a chat inbox (asked only of admins, who see the
        // checklist, and by the inbox's index).
        let chats = desk.inboxes.filter { $0.channel == .webchat }.compactMap(\.id)
        var chatTried = desk.role != .admin
        if !chatTried, !chats.isEmpty {
            chatTried = try await desk.scope.query(Conversation.self, on: req.db).filter(\Conversation.$inbox.$id ~~ chats).first() != nil
        }
        return HTMLPage(html: Layout.desk(desk, title: title(filter, desk: desk), page: "inbox",
                                          view(desk, filter: filter, rows: rows, query: query, chatTried: chatTried,
                                               macros: try await req.atiende.macros.usable(workspace: desk.workspaceID, user: desk.userID, on: req.db))))
    }

    /// The list's live regions (one row, the whole list), on the inbox and beside a conversation; nil for any other.
    static func listRegion(_ req: Request, desk: Desk, filter: InboxQuery.Filter, current: Int? = nil) async throws -> HTMLPage? {
        var filter = filter
        switch req.liveRegion {
        case "row":
            // One conversation's row, if it still belongs in this view (else nothing: the page drops it).
            guard let number = req.headers.first(name: "X-Live-Row").flatMap(Int.init) else {
                throw AtiendeError.invalid("X-Live-Row must be a conversation number", code: "invalid_region")
            }
            filter.number = number
            filter.page = 0
            let rows = try await req.atiende.inbox.rows(workspace: desk.workspaceID, user: desk.userID, filter: filter)
            return LiveRegion.fragment(.ul(.forEach(rows.prefix(1)) { row(desk, $0, current: current) }))
        case "inbox-list":
            let rows = try await req.atiende.inbox.rows(workspace: desk.workspaceID, user: desk.userID, filter: filter)
            return LiveRegion.fragment(list(desk, filter: filter, rows: rows, query: canonicalQuery(filter), current: current))
        default: return nil
        }
    }

    static func title(_ filter: InboxQuery.Filter, desk: Desk) -> String {
        if let id = filter.inboxID, let inbox = desk.inboxes.first(where: { $0.id == id }) { return inbox.name }
        if let id = filter.teamID, let team = desk.teams.first(where: { $0.id == id }) { return team.name }
        if let label = filter.label { return "#" + label }
        if filter.sort == .waitingLongest { return desk.t("view.waiting_longest") }
        if filter.atRisk { return desk.t("view.sla_at_risk") }
        return desk.t("view.\(filter.view.rawValue)")
    }

    static func view(_ desk: Desk, filter: InboxQuery.Filter, rows: [InboxQuery.Row], query: String, chatTried: Bool = true,
                     macros: [Macro] = []) -> Node<HTML.BodyContext> {
        let t = desk.t
        let statusValue = filter.statuses.count == 1 ? filter.statuses[0].rawValue : (filter.statuses.isEmpty ? "any" : "active")
        let statusOptions = (ConversationStatus.allCases.map(\.rawValue) + ["active", "any"]).map { ($0, t("status.\($0)")) }
        let sortOptions = InboxQuery.Sort.allCases.map { ($0.rawValue, t("sort.\($0.rawValue)")) }
        let channelOptions = [("", t("filter.any"))] + desk.channels.kinds.map { ($0.rawValue, t("channel.\($0.rawValue)")) }
        let priorityOptions = [("", t("filter.any"))] + Priority.allCases.map { ($0.rawValue, t("priority.\($0.rawValue)")) }
        return .div(.class("inbox"),
            .h1(.text(title(filter, desk: desk))),
            firstRun(desk, chatTried: chatTried),
            .form(.class("filters"), .method(.get), .action(SiteURL.inbox(desk.slug).path),
                  .field(.type(.hidden), .name("view"), .value(filter.view.rawValue)),
                  .if(filter.inboxID != nil, .field(.type(.hidden), .name("inbox"), .value(filter.inboxID?.uuidString.lowercased() ?? ""))),
                  .if(filter.teamID != nil, .field(.type(.hidden), .name("team"), .value(filter.teamID?.uuidString.lowercased() ?? ""))),
                  .if(filter.label != nil, .field(.type(.hidden), .name("label"), .value(filter.label ?? ""))),
                  .if(filter.atRisk, .field(.type(.hidden), .name("sla"), .value("at_risk"))),
                  filterSelect("status", label: t("filter.status"), selected: statusValue,
                         options: statusOptions),
                  filterSelect("sort", label: t("filter.sort"), selected: filter.sort.rawValue,
                         options: sortOptions),
                  filterSelect("channel", label: t("filter.channel"), selected: filter.channel?.rawValue ?? "",
                         options: channelOptions),
                  filterSelect("priority", label: t("filter.priority"), selected: filter.priority?.rawValue ?? "",
                         options: priorityOptions),
                  .button(.type(.submit), .text(t("filter.apply")))),
            .form(.class("save-view"), .method(.post), .action(SiteURL.savedViews(desk.slug).path),
                  .csrf(desk.csrf), .field(.type(.hidden), .name("query"), .value(query)),
                  .label(.for("view-name"), .class("sr"), .text(t("views.name"))),
                  .field(.type(.text), .id("view-name"), .name("name"), .placeholder(t("views.name")), .required(true), .attribute(named: "maxlength", value: "60")),
                  .button(.type(.submit), .text(t("views.save")))),
            .div(.class("bulk"), .id("bulk"), .data("bulk", "1"), .role("toolbar"), .aria("label", t("bulk.label")),
                 .label(.for("bulk-assignee"), .class("sr"), .text(t("conversation.assignee"))),
                 .dropdown(.id("bulk-assignee"), .data("bulk-assign", "1"),
                         .option(.value(""), .text(t("bulk.assign_to"))),
                         .option(.value("none"), .text(t("conversation.unassigned"))),
                         .forEach(desk.members) { member in .option(.value(member.user.id?.uuidString.lowercased() ?? ""), .text(member.user.name)) }),
                 .button(.type(.button), .data("bulk-action", "resolve"), .text(t("action.resolve"))),
                 .label(.for("bulk-label"), .class("sr"), .text(t("conversation.labels"))),
                 .field(.type(.text), .id("bulk-label"), .placeholder(t("bulk.label_placeholder"))),
                 .button(.type(.button), .data("bulk-action", "label"), .text(t("bulk.add_label"))),
                 .if(!macros.isEmpty, .group(
                    .label(.for("bulk-macro"), .class("sr"), .text(t("macros.apply"))),
                    .dropdown(.id("bulk-macro"), .data("bulk-macro", "1"),
                              .option(.value(""), .text(t("macros.apply"))),
                              .forEach(macros) { .option(.value($0.id?.uuidString.lowercased() ?? ""), .text($0.name)) })))),
            list(desk, filter: filter, rows: rows, query: query)
        )
    }

    /// A new workspace's first steps, for its admins, until each is done: connect a channel, invite the team, set
    /// business hours, try the chat widget.
    static func firstRun(_ desk: Desk, chatTried: Bool) -> Node<HTML.BodyContext> {
        guard desk.role == .admin else { return .empty }
        let t = desk.t
        let chat = desk.inboxes.first { $0.channel == .webchat }
        let steps: [(key: String, href: String, done: Bool)] = [
            ("setup.connect", SiteURL.settings(desk.slug, .inboxes).path, !desk.inboxes.isEmpty),
            ("setup.invite", SiteURL.settings(desk.slug, .users).path, desk.members.count > 1),
            ("setup.hours", SiteURL.settings(desk.slug, .service).path, desk.inboxes.contains { $0.businessHoursJSON != nil }),
            ("setup.widget", chat.map { "/widget/demo?inbox=\(($0.id ?? UUID()).uuidString.lowercased())" } ?? SiteURL.settings(desk.slug, .inboxes).path,
             chat != nil && chatTried),
        ]
        guard steps.contains(where: { !$0.done }) else { return .empty }
        return .element(named: "section", nodes: [.class("first-run card"), .aria("label", t("setup.title")),
            .h2(.text(t("setup.title"))),
            .ol(.forEach(steps) { step in
                .li(.class(step.done ? "done" : "todo"),
                    .a(.href(step.href), .text(t(step.key))),
                    .if(step.done, .span(.class("hint"), .text(" ✓ " + t("setup.done")))))
            }),
        ])
    }

    /// The conversations of the view: a live region, re-read when a conversation arrives that is not in it yet.
    static func list(_ desk: Desk, filter: InboxQuery.Filter, rows: [InboxQuery.Row], query: String, current: Int? = nil) -> Node<HTML.BodyContext> {
        let t = desk.t
        let more = rows.count > InboxQuery.pageSize
        return .div(.id("inbox-list"), .data("live", "inbox-list"),
             rows.isEmpty ? .p(.class("empty"), .text(t("inbox.empty"))) :
             .ul(.class("rows"), .role("list"), .forEach(rows.prefix(InboxQuery.pageSize)) { row(desk, $0, current: current) }),
             .if(more, .a(.class("more"), .href(SiteURL.inbox(desk.slug).path + "?" + replacingPage(query, with: filter.page + 1)),
                          .text(t("inbox.more")))))
    }

    /// The filter as a query string, rebuilt from what was understood (never the raw request).
    static func canonicalQuery(_ filter: InboxQuery.Filter, page: Int? = nil) -> String {
        let status = filter.statuses.count == 1 ? filter.statuses[0].rawValue : (filter.statuses.isEmpty ? "any" : "active")
        let items: [(String, String?)] = [
            ("view", filter.view.rawValue), ("status", status), ("inbox", filter.inboxID?.uuidString.lowercased()),
            ("team", filter.teamID?.uuidString.lowercased()), ("label", filter.label), ("channel", filter.channel?.rawValue),
            ("priority", filter.priority?.rawValue), ("sort", filter.sort.rawValue), ("sla", filter.atRisk ? "at_risk" : nil),
            ("page", page.map(String.init)),
        ]
        var components = URLComponents()
        components.queryItems = items.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        return components.percentEncodedQuery ?? ""
    }

    static func replacingPage(_ query: String, with page: Int) -> String { query + "&page=\(page)" }

    static func filterSelect<C: HTML.BodyContext>(_ name: String, label: String, selected: String, options: [(String, String)]) -> Node<C> {
        .label(.text(label + " "),
               .dropdown(.name(name), .forEach(options) { value, text in .option(.value(value), .text(text), .selected(value == selected)) }))
    }

    static func row(_ desk: Desk, _ row: InboxQuery.Row, current: Int? = nil) -> Node<HTML.ListContext> {
        let t = desk.t
        let c = row.conversation
        let url = SiteURL.conversation(desk.slug, c.number).path
        let open = c.number == current
        return .li(.class("row status-\(c.status.rawValue)" + (open ? " current cursor" : "")), .data("number", String(c.number)), .data("href", url),
            .if(open, .attribute(named: "aria-current", value: "page")),
            .field(.type(.checkbox), .class("pick"), .value(String(c.number)), .aria("label", t("bulk.pick", c.number))),
            .span(.class("face"), Avatar.node(row.contactName ?? t("contact.unnamed"), customer: true), desk.badge(c.channel)),
            .a(.class("who"), .href(url),
               .span(.class("num"), .text("#\(c.number)")), .strong(.text(row.contactName ?? t("contact.unnamed"))),
               .span(.class("preview"), .text(String((row.preview ?? c.subject ?? "").prefix(140))))),
            .div(.class("meta"),
                 .if(c.waitingSince != nil, .element(named: "time", nodes: [
                    .attribute(named: "datetime", value: Formatting.iso(c.waitingSince ?? c.lastMessageAt)), .class("waiting"), .data("elapsed", "1"),
                    .attribute(named: "title", value: t("inbox.waiting")),
                    .text(desk.format.elapsed(since: c.waitingSince ?? c.lastMessageAt))])),
                 .unwrap(row.slaDueAt) { SLABadge.node($0, desk: desk) },
                 .span(.class("badge status"), .text(t("status.\(c.status.rawValue)"))),
                 .if(c.priority != .none, .span(.class("badge priority-\(c.priority.rawValue)"), .text(t("priority.\(c.priority.rawValue)")))),
                 .span(.class("assignee"), .unwrap(desk.memberName(c.assigneeID)) { Avatar.node($0, customer: false) },
                       .text(desk.memberName(c.assigneeID) ?? t("conversation.unassigned"))),
                 .forEach(c.labels) { .span(.class("chip"), .text("#" + $0)) }))
    }
}

/// A service-level deadline as a badge that counts down in the browser ("SLA 12 min", "SLA overdue 5 min").
enum SLABadge {
    static func node(_ due: Date, desk: Desk, label: String? = nil) -> Node<HTML.BodyContext> {
        let t = desk.t
        let now = Date()
        // Counted in whole minutes: "overdue by now" says nothing.
        let span = desk.format.elapsed(since: .distantPast, now: Date.distantPast.addingTimeInterval(max(60, abs(due.timeIntervalSince(now)))))
        let text = due > now ? t("sla.due_in", span) : t("sla.overdue", span)
        return .element(named: "time", nodes: [
            .attribute(named: "datetime", value: Formatting.iso(due)), .class(due > now ? "badge sla" : "badge sla overdue"),
            .data("countdown", "1"), .data("label", label ?? ""), .attribute(named: "title", value: (label.map { $0 + " · " } ?? "") + desk.format.dateTime(due)),
            .text((label.map { $0 + ": " } ?? "") + text)])
    }
}
