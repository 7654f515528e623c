import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/app/{workspace}/search?q=&status=&channel=&inbox=`: messages, conversations and contacts, matches marked.
enum SearchPage {
    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk()
        let t = desk.t
        let q = (req.query[String.self, at: "q"] ?? "").trimmingCharacters(in: .whitespaces)
        guard q.count <= 200 else { throw AtiendeError.invalid("the search is longer than 200 characters", code: "invalid_q") }
        var filters = SearchService.Filters()
        if let raw = req.query[String.self, at: "status"], !raw.isEmpty {
            guard let status = ConversationStatus(rawValue: raw) else { throw AtiendeError.invalid("unknown status '\(raw)'", code: "invalid_filter") }
            filters.status = status
        }
        if let raw = req.query[String.self, at: "channel"], !raw.isEmpty {
            guard let channel = ChannelKind(rawValue: raw), req.atiende.channels[channel] != nil else { throw AtiendeError.invalid("unknown channel '\(raw)'", code: "invalid_filter") }
            filters.channel = channel
        }
        if let raw = req.query[String.self, at: "inbox"], !raw.isEmpty {
            guard let inbox = UUID(uuidString: raw) else { throw AtiendeError.invalid("unknown inbox '\(raw)'", code: "invalid_filter") }
            filters.inboxID = inbox
        }
        let results = q.isEmpty ? nil : try await req.atiende.search.search(q, workspace: desk.workspaceID, filters: filters)
        let terms = results?.terms ?? []
        let statusOptions = [("", t("filter.any"))] + ConversationStatus.allCases.map { ($0.rawValue, t("status.\($0.rawValue)")) }
        let channelOptions = [("", t("filter.any"))] + desk.channels.kinds.map { ($0.rawValue, t("channel.\($0.rawValue)")) }
        let inboxOptions = [("", t("filter.any"))] + desk.inboxes.map { ($0.id?.uuidString.lowercased() ?? "", $0.name) }
        let content: Node<HTML.BodyContext> = .div(.class("search-page"),
            .h1(.text(t("search.title"))),
            .form(.method(.get), .action(SiteURL.search(desk.slug).path), .class("filters"), .role("search"),
                  .label(.for("search-q"), .class("sr"), .text(t("search.label"))),
                  .field(.type(.search), .id("search-q"), .name("q"), .value(q), .placeholder(t("search.placeholder"))),
                  InboxPage.filterSelect("status", label: t("filter.status"), selected: filters.status?.rawValue ?? "",
                                   options: statusOptions),
                  InboxPage.filterSelect("channel", label: t("filter.channel"), selected: filters.channel?.rawValue ?? "",
                                   options: channelOptions),
                  InboxPage.filterSelect("inbox", label: t("filter.inbox"), selected: filters.inboxID?.uuidString.lowercased() ?? "",
                                   options: inboxOptions),
                  .button(.type(.submit), .text(t("search.button")))),
            .unwrap(results) { results in
                .div(.id("search-results"),
                    .unwrap(results.conversationNumber) { number in
                        .p(.class("jump"), .a(.href(SiteURL.conversation(desk.slug, number).path), .text(t("search.open_conversation", number))))
                    },
                    .h2(.text(t("search.messages", results.messages.count))),
                    results.messages.isEmpty ? .p(.class("empty"), .text(t("search.no_messages"))) :
                    .ul(.class("hits"), .forEach(results.messages) { hit(desk, $0, terms: terms) }),
                    .h2(.text(t("search.contacts", results.contacts.count))),
                    results.contacts.isEmpty ? .p(.class("empty"), .text(t("search.no_contacts"))) :
                    .ul(.class("hits"), .forEach(results.contacts) { contact in
                        .li(.a(.href(SiteURL.contact(desk.slug, contact.id).path),
                               .highlighted(contact.name ?? t("contact.unnamed"), terms: terms)),
                            .text(" "), .highlighted([contact.email, contact.phone].compactMap { $0 }.joined(separator: " · "), terms: terms))
                    }))
            })
        return HTMLPage(html: Layout.desk(desk, title: q.isEmpty ? t("search.title") : q, page: "search", content))
    }

    static func hit(_ desk: Desk, _ hit: SearchService.MessageHit, terms: [String]) -> Node<HTML.ListContext> {
        let t = desk.t
        let title = " #\(hit.conversationNumber) · \(hit.contactName ?? t("contact.unnamed"))"
        let snippet = Highlight.excerpt(hit.text, terms: terms)
        return .li(.class("hit"),
            desk.badge(hit.channel),
            .a(.href(SiteURL.conversation(desk.slug, hit.conversationNumber).path), .text(title)),
            .span(.class("badge status"), .text(t("status.\(hit.status.rawValue)"))),
            .if(hit.kind == .note, .span(.class("badge note"), .text(t("message.private_note")))),
            .text(" " + desk.format.dateTime(hit.createdAt)),
            .p(.class("snippet"), .highlighted(snippet, terms: terms)))
    }
}
