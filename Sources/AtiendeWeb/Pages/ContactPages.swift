import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// The customer beside every conversation: identities, editable data, every past conversation on every
/// channel, and possible duplicates with a one-click merge.
enum CustomerPanel {
    static func load(_ contactID: UUID, desk: Desk, on db: any Database) async throws
        -> (Contact, [ContactIdentity], [Conversation], [(suggestion: DuplicateSuggestion, other: Contact)]) {
        guard let contact = try await ContactService.find(contactID, workspace: desk.workspaceID, on: db) else {
            throw AtiendeError.notFound("contact")
        }
        let identities = try await contact.$identities.get(on: db)
        let history = try await desk.scope.query(Conversation.self, on: db).filter(\.$contact.$id == contactID)
            .sort(\.$lastMessageAt, .descending).limit(200).all()
        let suggestions = try await desk.scope.query(DuplicateSuggestion.self, on: db).filter(\.$state == .open)
            .group(.or) { $0.filter(\.$contactID == contactID).filter(\.$otherContactID == contactID) }.all()
        var duplicates: [(suggestion: DuplicateSuggestion, other: Contact)] = []
        for suggestion in suggestions {
            let otherID = suggestion.contactID == contactID ? suggestion.otherContactID : suggestion.contactID
            if let other = try await ContactService.find(otherID, workspace: desk.workspaceID, on: db), other.id != contactID {
                duplicates.append((suggestion, other))
            }
        }
        return (contact, identities, history, duplicates)
    }

    /// What was done for the customer and what they said of it: compensations and survey answers, newest first.
    struct Care {
        var compensations: [Compensation] = []
        var surveys: [Survey] = []
    }

    static func care(_ contactID: UUID, desk: Desk, on db: any Database) async throws -> Care {
        Care(compensations: try await desk.scope.query(Compensation.self, on: db).filter(\.$contactID == contactID)
                .sort(\.$createdAt, .descending).limit(50).all(),
             surveys: try await desk.scope.query(Survey.self, on: db).filter(\.$contactID == contactID).filter(\.$score != nil)
                .sort(\.$answeredAt, .descending).limit(20).all())
    }

    /// Every conversation of the contact, newest first, the one on screen marked.
    static func conversationList(_ desk: Desk, _ history: [Conversation], current: Int?) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .section(.class("history"),
            .h3(.text(t("customer.history", history.count))),
            .ul(.forEach(history) { c in
                .li(.class(c.number == current ? "current" : ""),
                    desk.badge(c.channel),
                    .a(.href(SiteURL.conversation(desk.slug, c.number).path), .text(" #\(c.number) ")),
                    .span(.class("badge status"), .text(t("status.\(c.status.rawValue)"))),
                    .text(" " + desk.format.dateTime(c.lastMessageAt)),
                    .if(c.contactReason != nil, .span(.class("reason"), .text(" · " + (c.contactReason ?? "")))))
            }))
    }

    static func apiPath(_ desk: Desk, _ contactID: UUID) -> String {
        "/api/v1/workspaces/\(desk.workspaceID.uuidString.lowercased())/contacts/\(contactID.uuidString.lowercased())"
    }

    static func view(_ desk: Desk, contact: Contact, identities: [ContactIdentity], history: [Conversation],
                     duplicates: [(suggestion: DuplicateSuggestion, other: Contact)], current: Int?, care: Care = Care()) -> Node<HTML.BodyContext> {
        let t = desk.t
        let contactID = contact.id ?? UUID()
        let field = { (name: String, label: String, value: String?) -> Node<HTML.FormContext> in
            .label(.span(.text(label)), .field(.type(.text), .name(name), .value(value ?? ""), .data("type", "nullable")))
        }
        if let erased = contact.erasedAt {
            return .group(
                .h2(.a(.href(SiteURL.contact(desk.slug, contactID).path), .text(t("contact.erased")))),
                .p(.class("erased-banner"), .id("erased-banner"), .text(t("privacy.erased_on", desk.format.dateTime(erased)))),
                conversationList(desk, history, current: current))
        }
        return .group(
            .h2(.a(.href(SiteURL.contact(desk.slug, contactID).path), .text(contact.name ?? t("contact.unnamed")))),
            .ul(.class("identities"), .aria("label", t("customer.identities")), .forEach(identities) { identity in
                .li(.span(.class("kind"), .text(t("identity.\(identity.kind.rawValue)"))), .text(" " + shown(identity, inboxes: desk.inboxes)))
            }, .forEach(typed(contact, identities: identities)) { label, value in
                .li(.class("typed"), .span(.class("kind"), .text(t(label))), .text(" " + value),
                    .span(.class("hint"), .text(" · " + t("customer.typed"))))
            }),
            .details(.summary(.text(t("customer.edit"))),
                .form(.class("stack"), .data("api", apiPath(desk, contactID)), .data("method", "PATCH"),
                      field("name", t("contact.name"), contact.name),
                      field("email", t("contact.email"), contact.email),
                      field("phone", t("contact.phone"), contact.phone),
                      field("document_id", t("contact.document"), contact.documentID),
                      .label(.span(.text(t("contact.labels"))),
                             .field(.type(.text), .name("labels"), .value(contact.labels.joined(separator: ", ")), .data("type", "list"))),
                      .button(.type(.submit), .text(t("common.save"))),
                      .p(.class("form-error"), .role("alert")))),
            .if(!contact.labels.isEmpty, .p(.forEach(contact.labels) { .span(.class("chip"), .text("#" + $0)) })),
            .if(!duplicates.isEmpty, .section(.class("duplicates"),
                .h3(.text(t("customer.duplicates"))),
                .ul(.forEach(duplicates) { duplicate in
                    .li(.a(.href(SiteURL.contact(desk.slug, duplicate.other.id ?? UUID()).path),
                           .text(duplicate.other.name ?? duplicate.other.email ?? duplicate.other.phone ?? t("contact.unnamed"))),
                        .text(" (" + ContactPages.duplicateReason(duplicate.suggestion.reason, t: t) + ") "),
                        .form(.class("inline"), .data("api", apiPath(desk, contactID) + "/merge"), .data("method", "POST"),
                              .data("confirm", t("customer.merge_confirm")),
                              .field(.type(.hidden), .name("source_id"), .value(duplicate.other.id?.uuidString.lowercased() ?? "")),
                              .button(.type(.submit), .text(t("customer.merge")))))
                }))),
            conversationList(desk, history, current: current),
            .if(!care.surveys.isEmpty, .section(.class("customer-surveys"),
                .h3(.text(t("customer.surveys"))),
                .ul(.forEach(care.surveys) { .li(.text(SurveysPart.line(desk, $0))) }))),
            .if(!care.compensations.isEmpty, .section(.class("customer-compensations"),
                .h3(.text(t("customer.compensations"))),
                .ul(.forEach(care.compensations) { .li(.text(CompensationsPart.line(desk, $0))) })))
        )
    }
}

/// `/app/{workspace}/contacts` and `/app/{workspace}/contacts/{id}`.
enum ContactPages {
    static func list(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk()
        let t = desk.t
        let q = (req.query[String.self, at: "q"] ?? "").trimmingCharacters(in: .whitespaces)
        guard q.count <= 200 else { throw AtiendeError.invalid("the search is longer than 200 characters", code: "invalid_q") }
        let contacts: [(id: UUID, name: String?, email: String?, phone: String?)]
        if q.isEmpty {
            // Erased contacts are anonymous shells kept for the counts: nobody browses them.
            contacts = try await desk.scope.query(Contact.self, on: req.db).filter(\.$mergedIntoID == nil).filter(\.$erasedAt == nil)
                .sort(\.$createdAt, .descending).limit(100).all()
                .map { (id: $0.id ?? UUID(), name: $0.name, email: $0.email, phone: $0.phone) }
        } else {
            contacts = try await req.atiende.search.search(q, workspace: desk.workspaceID, limit: 1).contacts
                .map { (id: $0.id, name: $0.name, email: $0.email, phone: $0.phone) }
        }
        let content: Node<HTML.BodyContext> = .div(.class("contacts"),
            .h1(.text(t("nav.contacts"))),
            .form(.method(.get), .action(SiteURL.contacts(desk.slug).path), .class("filters"),
                  .label(.for("contact-q"), .class("sr"), .text(t("contacts.search"))),
                  .field(.type(.search), .id("contact-q"), .name("q"), .value(q), .placeholder(t("contacts.search"))),
                  .button(.type(.submit), .text(t("search.button")))),
            .details(.summary(.text(t("contacts.new"))),
                     .form(.class("stack"), .id("new-contact"), .data("api", "/api/v1/workspaces/\(desk.workspaceID.uuidString.lowercased())/contacts"),
                           .data("method", "POST"), .data("then", "reload"),
                           .label(.span(.text(t("contact.name"))), .field(.type(.text), .name("name"), .attribute(named: "maxlength", value: "255"))),
                           .label(.span(.text(t("contact.email"))), .field(.type(.email), .name("email"), .data("type", "omit-empty"))),
                           .label(.span(.text(t("contact.phone"))), .field(.type(.text), .name("phone"), .data("type", "omit-empty"))),
                           .button(.type(.submit), .class("primary"), .text(t("contacts.create"))),
                           .p(.class("form-error"), .role("alert")))),
            contacts.isEmpty ? .p(.class("empty"), .text(t("contacts.empty"))) :
            .table(.class("grid"),
                   .thead(.tr(.th(.text(t("contact.name"))), .th(.text(t("contact.email"))), .th(.text(t("contact.phone"))))),
                   .tbody(.forEach(contacts) { c in
                       .tr(.td(.a(.href(SiteURL.contact(desk.slug, c.id).path), .text(c.name ?? t("contact.unnamed")))),
                           .td(.text(c.email ?? "")), .td(.text(c.phone ?? "")))
                   })))
        return HTMLPage(html: Layout.desk(desk, title: t("nav.contacts"), page: "contacts", content))
    }

    static func show(_ req: Request) async throws -> Response {
        let desk = try await req.desk()
        let t = desk.t
        let id = try req.uuidParameter("contactId", "contact")
        guard try await ContactService.find(id, workspace: desk.workspaceID, on: req.db) != nil else {
            // A merged contact's old address leads to where it went.
            if let merged = try await desk.scope.query(Contact.self, on: req.db).filter(\.$id == id).first(), let target = merged.mergedIntoID {
                return req.redirect(to: SiteURL.contact(desk.slug, target).path)
            }
            throw AtiendeError.notFound("contact")
        }
        let (contact, identities, history, duplicates) = try await CustomerPanel.load(id, desk: desk, on: req.db)
        let care = try await CustomerPanel.care(id, desk: desk, on: req.db)
        let phoneInboxes = desk.inboxes.filter { ($0.channel == .phone || $0.channel == .inPerson) && $0.isActive }
        let content: Node<HTML.BodyContext> = .div(.class("contact-page"),
            .div(.class("customer wide"), .data("live", "customer"), .id("customer"),
                 CustomerPanel.view(desk, contact: contact, identities: identities, history: history, duplicates: duplicates, current: nil,
                                    care: care)),
            .if(contact.erasedAt == nil, .section(.class("log-contact"),
                .h2(.text(t("log.title"))),
                phoneInboxes.isEmpty ? .p(.class("hint"), .text(t("log.no_inbox"))) :
                .form(.class("stack"), .method(.post), .action(SiteURL.logContact(desk.slug, id).path),
                      .csrf(desk.csrf),
                      .label(.span(.text(t("log.inbox"))),
                             .dropdown(.name("inbox_id"), .forEach(phoneInboxes) { box in
                                 .option(.value(box.id?.uuidString.lowercased() ?? ""), .text("\(box.name) · \(desk.t("channel.\(box.channel.rawValue)"))"))
                             })),
                      .label(.span(.text(t("log.direction"))),
                             .dropdown(.name("direction"),
                                     .option(.value("incoming"), .text(t("log.incoming"))), .option(.value("outgoing"), .text(t("log.outgoing"))))),
                      .label(.span(.text(t("log.duration"))), .field(.type(.number), .name("duration_minutes"), .attribute(named: "min", value: "0"),
                                                                    .attribute(named: "max", value: "1440"))),
                      .label(.span(.text(t("log.outcome"))), .field(.type(.text), .name("outcome"), .attribute(named: "maxlength", value: "120"))),
                      .label(.span(.text(t("log.notes"))), .textBox(.name("notes"), .required(true), .attribute(named: "rows", value: "3"))),
                      .label(.field(.type(.checkbox), .name("resolve"), .value("1"), .attribute(named: "checked", value: "checked")),
                             .text(" " + t("log.resolve"))),
                      .button(.type(.submit), .class("primary"), .text(t("log.save")))))),
            .if(contact.erasedAt == nil, PrivacyPages.part(desk, contact: contact)))
        let title = contact.erasedAt == nil ? contact.name ?? t("contact.unnamed") : t("contact.erased")
        return try await HTMLPage(html: Layout.desk(desk, title: title, page: "contact", content)).encodeResponse(for: req)
    }

    struct LogForm: Content {
        var inbox_id: UUID
        var direction: String
        var duration_minutes: String?
        var outcome: String?
        var notes: String
        var resolve: String?
    }

    /// `POST …/contacts/{id}/log`: records a call or walk-in, then opens it.
    static func log(_ req: Request) async throws -> Response {
        let desk = try await req.desk()
        let id = try req.uuidParameter("contactId", "contact")
        let form: LogForm
        do { form = try req.content.decode(LogForm.self) } catch {
            throw AtiendeError.invalid("choose an inbox and write the notes", code: "invalid_form")
        }
        guard let direction = ConversationService.LoggedContact.Direction(rawValue: form.direction) else {
            throw AtiendeError.invalid("direction must be incoming or outgoing", code: "invalid_direction")
        }
        var seconds: Int?
        if let raw = form.duration_minutes, !raw.isEmpty {
            guard let minutes = Double(raw), minutes >= 0 else { throw AtiendeError.invalid("duration must be a number of minutes", code: "invalid_duration") }
            seconds = Int(minutes * 60)
        }
        let conversation = try await req.atiende.conversations.log(
            .init(inboxID: form.inbox_id, contactID: id, direction: direction, durationSeconds: seconds, outcome: form.outcome,
                  notes: form.notes, resolve: form.resolve != nil),
            workspace: desk.workspaceID, author: desk.userID)
        return req.redirect(to: SiteURL.conversation(desk.slug, conversation.number).path, redirectType: .normal)
    }
}

extension ContactPages {
    /// Why two contacts may be one person, in the reader's language ("same email", "shared identity", …).
    static func duplicateReason(_ reason: String, t: Localizer) -> String {
        let key = "duplicate.reason." + reason.lowercased().map { $0.isLetter ? String($0) : "_" }.joined()
            .split(separator: "_").joined(separator: "_")
        return t.has(key) ? t(key) : reason
    }
}

extension CustomerPanel {
    /// A live chat visitor's identity is a long token of no use to a person: its first characters tell visitors apart.
    /// The email and phone the customer gave (a chat visitor's pre-chat form, an agent's edit) that no identity proves:
    /// shown beside the identities, marked as given rather than verified.
    static func typed(_ contact: Contact, identities: [ContactIdentity]) -> [(String, String)] {
        let known = Set(identities.map { $0.value.lowercased() })
        return [("identity.email", contact.email), ("identity.phone", contact.phone)].compactMap { label, value in
            guard let value, !value.isEmpty, !known.contains(value.lowercased()) else { return nil }
            return (label, value)
        }
    }

    /// An identity as people read it: a visitor's long token shortened; an external id without the inbox it is scoped to
    /// (stored as `inbox-id:external-id`), which is named instead.
    static func shown(_ identity: ContactIdentity, inboxes: [Inbox] = []) -> String {
        if identity.kind == .visitor && identity.value.count > 12 { return String(identity.value.prefix(8)) + "…" }
        if identity.kind == .external, let colon = identity.value.firstIndex(of: ":"),
           let inbox = UUID(uuidString: String(identity.value[..<colon])) {
            let external = String(identity.value[identity.value.index(after: colon)...])
            return external + (inboxes.first { $0.id == inbox }.map { " · " + $0.name } ?? "")
        }
        return identity.value
    }
}
