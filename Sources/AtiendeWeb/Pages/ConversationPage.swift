import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// `/app/{workspace}/conversations/{number}`: the timeline, the reply box, the actions and the customer panel.
enum ConversationPage {
    struct Model {
        var conversation: Conversation
        var contact: Contact
        var identities: [ContactIdentity]
        var messages: [Message]
        var history: [Conversation]
        var duplicates: [(suggestion: DuplicateSuggestion, other: Contact)]
        /// When the page was read, by the store's clock (for the reply window).
        var now: Date
        /// The canned responses the agent may insert (the whole page only; the live regions have no composer).
        var canned: [CannedResponse] = []
        /// The macros the agent may run (the whole page only).
        var macros: [Macro] = []
        /// Reminders and follow-up messages still to come (the whole page only).
        var followUps: [FollowUp] = []
        /// The conversation's surveys, newest first, and whether its channel can carry one (the whole page only).
        var surveys: [Survey] = []
        var canSurvey = false
        /// The customer's compensations and survey answers (the customer panel).
        var care = CustomerPanel.Care()
    }

    static let timelineLimit = 500

    /// What the page shows; a live region reads only its part (`timeline`, `customer`; the head needs neither).
    static func model(_ req: Request, desk: Desk, timeline: Bool = true, customer: Bool = true) async throws -> Model {
        guard let raw = req.parameters.get("number"), let number = Int(raw),
              let conversation = try await desk.scope.query(Conversation.self, on: req.db).filter(\.$number == number).first()
        else { throw AtiendeError.notFound("conversation") }
        let conversationID = try conversation.requireID()
        let recent = timeline ? try await desk.scope.query(Message.self, on: req.db).filter(\.$conversation.$id == conversationID)
            .sort(\.$createdAt, .descending).sort(\.$id, .descending).with(\.$attachments).limit(timelineLimit).all() : []
        let now = req.atiende.store.clock.now()
        guard customer else {
            let contact = try await desk.scope.find(Contact.self, conversation.$contact.id, on: req.db)
            return Model(conversation: conversation, contact: contact, identities: [], messages: recent.reversed(), history: [], duplicates: [], now: now)
        }
        let (contact, identities, history, duplicates) = try await CustomerPanel.load(conversation.$contact.id, desk: desk, on: req.db)
        var model = Model(conversation: conversation, contact: contact, identities: identities, messages: recent.reversed(),
                          history: history, duplicates: duplicates, now: now)
        model.care = try await CustomerPanel.care(conversation.$contact.id, desk: desk, on: req.db)
        return model
    }

    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk()
        // The list beside the conversation: the view the agent last had open in the inbox.
        let listFilter = InboxPage.rememberedFilter(req)
        let number = req.parameters.get("number").flatMap(Int.init)
        if let region = try await InboxPage.listRegion(req, desk: desk, filter: listFilter, current: number) { return region }
        if let region = req.liveRegion {
            let model = try await model(req, desk: desk, timeline: region == "timeline", customer: region == "customer")
            switch region {
            case "conversation-head": return LiveRegion.fragment(head(desk, model))
            case "timeline": return LiveRegion.fragment(timeline(desk, model))
            case "customer": return LiveRegion.fragment(customer(desk, model))
            default: throw LiveRegion.unknown(region)
            }
        }
        var model = try await model(req, desk: desk)
        model.canned = try await req.atiende.canned.usable(workspace: desk.workspaceID, user: desk.userID, on: req.db)
        model.macros = try await req.atiende.macros.usable(workspace: desk.workspaceID, user: desk.userID, on: req.db)
        model.followUps = try await desk.scope.query(FollowUp.self, on: req.db).filter(\.$conversationID == (try model.conversation.requireID()))
            .filter(\.$doneAt == nil).sort(\.$dueAt).all()
        model.surveys = try await req.atiende.surveys.surveys(conversation: try model.conversation.requireID(), workspace: desk.workspaceID)
        model.canSurvey = req.atiende.channels[model.conversation.channel]?.sender != nil
        let rows = try await req.atiende.inbox.rows(workspace: desk.workspaceID, user: desk.userID, filter: listFilter)
        let title = "#\(model.conversation.number) · \(model.contact.name ?? desk.t("contact.unnamed"))"
        let pane = Node<HTML.BodyContext>.element(named: "nav", nodes: [
            .class("pane-list"), .aria("label", InboxPage.title(listFilter, desk: desk)),
            .h2(.a(.href(SiteURL.inbox(desk.slug).path + "?" + InboxPage.canonicalQuery(listFilter)), .text(InboxPage.title(listFilter, desk: desk)))),
            InboxPage.list(desk, filter: listFilter, rows: rows, query: InboxPage.canonicalQuery(listFilter), current: model.conversation.number),
        ])
        return HTMLPage(html: Layout.desk(desk, title: title, page: "conversation", .div(.class("desk3"), pane, view(desk, model))))
    }

    static func apiPath(_ desk: Desk, _ number: Int) -> String {
        "/api/v1/workspaces/\(desk.workspaceID.uuidString.lowercased())/conversations/\(number)"
    }

    static func view(_ desk: Desk, _ model: Model) -> Node<HTML.BodyContext> {
        let t = desk.t
        let c = model.conversation
        return .div(.class("conversation"), .data("number", String(c.number)), .data("conversation-id", c.id?.uuidString.lowercased() ?? ""),
            .section(.class("thread"), .aria("label", t("conversation.thread")),
                head(desk, model),
                .p(.id("presence"), .class("presence"), .aria("live", "polite")),
                .p(.id("visitor-typing"), .class("presence"), .aria("live", "polite")),
                timeline(desk, model),
                templateForm(desk, c, now: model.now),
                MacrosPage.runner(desk, model.macros, conversation: c.number),
                composer(desk, c, through: replyInboxes(desk, model), canned: model.canned, reachable: reachable(desk, model)),
                FollowUpsPart.view(desk, c, model.followUps),
                SurveysPart.view(desk, c, model.surveys, canSend: model.canSurvey),
                CompensationsPart.view(desk, c, model.care.compensations.filter { $0.conversationID == c.id })),
            customer(desk, model))
    }

    // The page's live regions: each is re-read alone when an event concerns it.

    static func head(_ desk: Desk, _ model: Model) -> Node<HTML.BodyContext> {
        .div(.id("conversation-head"), .data("live", "conversation-head"), header(desk, model))
    }

    static func timeline(_ desk: Desk, _ model: Model) -> Node<HTML.BodyContext> {
        .div(.id("timeline"), .class("timeline"), .data("live", "timeline"), .role("log"), .aria("label", desk.t("conversation.timeline")),
             .forEach(model.messages) { message(desk, $0, contact: model.contact, number: model.conversation.number) })
    }

    static func customer(_ desk: Desk, _ model: Model) -> Node<HTML.BodyContext> {
        .aside(.id("customer"), .class("customer"), .data("live", "customer"), .aria("label", desk.t("customer.panel")),
               CustomerPanel.view(desk, contact: model.contact, identities: model.identities, history: model.history,
                                  duplicates: model.duplicates, current: model.conversation.number, care: model.care))
    }

    static func header(_ desk: Desk, _ model: Model) -> Node<HTML.BodyContext> {
        let t = desk.t
        let c = model.conversation
        let api = apiPath(desk, c.number)
        func patch(_ field: String, _ value: String, _ label: String, shortcut: String? = nil) -> Node<HTML.BodyContext> {
            .form(.class("inline"), .data("api", api), .data("method", "PATCH"),
                  .field(.type(.hidden), .name(field), .value(value)),
                  .button(.type(.submit), .if(shortcut != nil, .data("shortcut", shortcut ?? "")), .text(label)))
        }
        return .group(
            .h1(desk.badge(c.channel), .text(" #\(c.number) · \(model.contact.name ?? t("contact.unnamed"))"),
                .span(.class("badge status"), .id("status-badge"), .text(t("status.\(c.status.rawValue)")
                      + (c.status == .snoozed ? c.snoozedUntil.map { " · " + t("conversation.until", desk.format.dateTime($0)) } ?? "" : "")))),
            .if(c.subject != nil, .p(.class("subject"), .text(c.subject ?? ""))),
            .p(.class("sla-line"),
               .unwrap(c.firstResponseDueAt) { SLABadge.node($0, desk: desk, label: t("sla.first_response")) },
               .unwrap(c.nextResponseDueAt) { SLABadge.node($0, desk: desk, label: t("sla.next_response")) },
               .unwrap(c.resolutionDueAt) { SLABadge.node($0, desk: desk, label: t("sla.resolution")) }),
            .div(.class("actions"), .role("toolbar"), .aria("label", t("conversation.actions")),
                 .if(c.$assignee.id == nil, .form(.class("inline"), .data("api", api + "/claim"), .data("method", "POST"),
                                                  .button(.type(.submit), .class("primary"), .id("claim"), .text(t("action.claim"))))),
                 c.status == .resolved || c.status == .closed
                    ? patch("status", "open", t("action.reopen"))
                    : patch("status", "resolved", t("action.resolve"), shortcut: "e"),
                 .if(c.status == .snoozed, patch("status", "open", t("action.unsnooze"))),
                 .if(c.status != .pending, patch("status", "pending", t("action.pending"))),
                 .form(.class("inline"), .data("api", api), .data("method", "PATCH"),
                       .field(.type(.hidden), .name("status"), .value("snoozed")),
                       .label(.for("snooze-until"), .text(t("action.snooze_until") + " ")),
                       .field(.type(.init(rawValue: "datetime-local") ?? .text), .id("snooze-until"), .name("snoozed_until"),
                              .data("type", "datetime"), .required(true)),
                       .button(.type(.submit), .text(t("action.snooze"))),
                       // Presets in the agent's own clock; each says until when.
                       .span(.class("presets"),
                             .button(.type(.button), .data("snooze", "hour"), .text(t("snooze.hour"))),
                             .button(.type(.button), .data("snooze", "tomorrow"), .text(t("snooze.tomorrow"))),
                             .button(.type(.button), .data("snooze", "week"), .text(t("snooze.week")))))),
            .div(.class("properties"),
                 .form(.class("inline"), .data("api", api), .data("method", "PATCH"), .data("autosubmit", "1"),
                       .label(.for("assignee"), .text(t("conversation.assignee") + " ")),
                       .dropdown(.id("assignee"), .name("assignee_id"), .data("type", "nullable"), .data("shortcut", "a"),
                               .option(.value(""), .text(t("conversation.unassigned")), .selected(c.$assignee.id == nil)),
                               .forEach(desk.members) { m in
                                   .option(.value(m.user.id?.uuidString.lowercased() ?? ""), .text(m.user.name), .selected(m.user.id == c.$assignee.id))
                               })),
                 .form(.class("inline"), .data("api", api), .data("method", "PATCH"), .data("autosubmit", "1"),
                       .label(.for("team"), .text(t("conversation.team") + " ")),
                       .dropdown(.id("team"), .name("team_id"), .data("type", "nullable"),
                               .option(.value(""), .text(t("conversation.no_team")), .selected(c.$team.id == nil)),
                               .forEach(desk.teams) { team in
                                   .option(.value(team.id?.uuidString.lowercased() ?? ""), .text(team.name), .selected(team.id == c.$team.id))
                               })),
                 .form(.class("inline"), .data("api", api), .data("method", "PATCH"), .data("autosubmit", "1"),
                       .label(.for("priority"), .text(t("conversation.priority") + " ")),
                       .dropdown(.id("priority"), .name("priority"),
                               .forEach(Priority.allCases) { p in .option(.value(p.rawValue), .text(t("priority.\(p.rawValue)")), .selected(p == c.priority)) })),
                 labelsEditor(desk, c, api: api),
                 .form(.class("inline"), .data("api", api), .data("method", "PATCH"),
                       .label(.for("reason"), .text(t("conversation.contact_reason") + " ")),
                       .field(.type(.text), .id("reason"), .name("contact_reason"), .data("type", "nullable"), .value(c.contactReason ?? ""),
                              .attribute(named: "maxlength", value: "120")),
                       .button(.type(.submit), .text(t("common.save"))))))
    }

    /// Labels as chips, each removable; a new one picked from the workspace's labels as it is typed.
    static func labelsEditor(_ desk: Desk, _ c: Conversation, api: String) -> Node<HTML.BodyContext> {
        let t = desk.t
        let known: [Node<HTML.DataListContext>] = desk.counts.labels.keys.sorted().map { .option(.value(escapeAttribute($0))) }
        let chips: Node<HTML.BodyContext> = .forEach(c.labels) { label in
            let rest = c.labels.filter { $0 != label }.joined(separator: ", ")
            return .form(.class("inline chip-form"), .data("api", api), .data("method", "PATCH"),
                         .field(.type(.hidden), .name("labels"), .data("type", "list"), .value(rest)),
                         .span(.class("chip"), .text("#" + label),
                               .button(.type(.submit), .class("chip-remove"), .aria("label", t("labels.remove", label)), .text("×"))))
        }
        let add: Node<HTML.BodyContext> = .form(.class("inline"), .data("api", api), .data("method", "PATCH"), .data("then", "reset"),
            .label(.for("labels"), .class("sr"), .text(t("labels.add"))),
            .field(.type(.text), .id("labels"), .name("labels"), .data("type", "list-add"), .data("current", c.labels.joined(separator: ",")),
                   .placeholder(t("labels.add")), .attribute(named: "list", value: "known-labels"), .attribute(named: "autocomplete", value: "off")),
            .button(.type(.submit), .text(t("labels.add_button"))),
            .element(named: "datalist", nodes: [.id("known-labels")] + known))
        return .div(.class("labels"), .role("group"), .aria("label", t("conversation.labels")), .span(.text(t("conversation.labels") + " ")), chips, add)
    }

    static func author(_ desk: Desk, _ message: Message, contact: Contact) -> String {
        switch message.senderType {
        case .contact: contact.name ?? desk.t("contact.unnamed")
        case .agent: desk.memberName(message.senderID) ?? desk.t("message.agent")
        case .bot: desk.t("message.bot")
        case .system: desk.t("message.system")
        }
    }

    static func message(_ desk: Desk, _ message: Message, contact: Contact, number: Int) -> Node<HTML.BodyContext> {
        let t = desk.t
        if message.kind == .activity {
            return .p(.class("activity"), .text(activityText(desk, message)), .text(" · "),
                      .element(named: "time", nodes: [.attribute(named: "datetime", value: Formatting.iso(message.createdAt)),
                                                      .text(desk.format.dateTime(message.createdAt))]))
        }
        let workspace = desk.workspaceID.uuidString.lowercased()
        return .article(.class("msg \(message.kind.rawValue)"), .data("message-id", message.id?.uuidString.lowercased() ?? ""),
            .header(Avatar.node(author(desk, message, contact: contact), customer: message.senderType == .contact),
                    .strong(.text(author(desk, message, contact: contact))),
                    .if(message.kind == .note, .span(.class("badge note"), .text(t("message.private_note")))),
                    .element(named: "time", nodes: [.attribute(named: "datetime", value: Formatting.iso(message.createdAt)),
                                                    .text(desk.format.dateTime(message.createdAt))])),
            .div(.class("text"), .text(message.text)),
            .if(!(message.$attachments.value ?? []).isEmpty, .ul(.class("files"), .forEach(message.$attachments.value ?? []) { file in
                file.contentType == "message/rfc822" && file.filename == "original.eml"
                    ? .li(.a(.class("mail-original"), .href(SiteURL.mailView(desk.slug, file.id ?? UUID()).path), .text("✉️ " + t("mail.view"))))
                    : .li(.a(.href("/api/v1/workspaces/\(workspace)/attachments/\(file.id?.uuidString.lowercased() ?? "")"),
                       .text("📎 \(file.filename)"), .span(.class("size"), .text(" (\(ByteCountFormatter.string(fromByteCount: Int64(file.size), countStyle: .file)))"))))
            })),
            .if(message.kind == .outgoing, delivery(desk, message, number: number)))
    }

    /// Where a reply is: sent, delivered, read; being tried again ("retrying — try 2 of 8") and why; or failed, why in the
    /// reader's language and the provider's own words beside it.
    static func delivery(_ desk: Desk, _ message: Message, number: Int) -> Node<HTML.BodyContext> {
        let t = desk.t
        let status = message.deliveryStatus ?? .queued
        let code = message.deliveryErrorCode.flatMap(DeliveryFailure.Code.init(rawValue:))
        let why = [code.map { t("delivery_error.\($0.rawValue)") }, message.deliveryError].compactMap { $0 }.joined(separator: " — ")
        let retrying = status == .queued && message.deliveryAttempt != nil
        return .p(.class("delivery \(status.rawValue)" + (retrying ? " retrying" : "")), .data("delivery", status.rawValue),
                  .if(status == .failed, .attribute(named: "role", value: "alert")),
                  .text(retrying ? t("delivery.retrying", message.deliveryAttempt ?? 2, JobQueue.defaultMaxAttempts) : t("delivery.\(status.rawValue)")),
                  .if(status == .failed || retrying, .span(.class("error"), .text(": " + (why.isEmpty ? t("delivery.unknown_error") : why)))),
                  .if(status == .failed, .form(.class("inline resend"),
                      .data("api", apiPath(desk, number) + "/messages/\(message.id?.uuidString.lowercased() ?? "")/resend"),
                      .data("method", "POST"), .button(.type(.submit), .text(t("delivery.resend"))))))
    }

    static func activityText(_ desk: Desk, _ message: Message) -> String {
        let t = desk.t
        if let change = JSON.decode(ConversationActivity.self, from: message.text) { return changeText(desk, change, actor: message.senderID) }
        guard let activity = JSON.decode(ConversationService.LoggedActivity.self, from: message.text) else {
            return message.text
        }
        var parts = [t("activity.\(activity.activity).\(activity.direction)")]
        if let seconds = activity.durationSeconds { parts.append(t("activity.duration", seconds / 60, String(format: "%02d", seconds % 60))) }
        if let outcome = activity.outcome { parts.append(outcome) }
        return parts.joined(separator: " · ")
    }

    /// "Camila resolved the conversation", "Diego assigned it to Sarah", "Atiende set the priority to Urgent".
    static func changeText(_ desk: Desk, _ change: ConversationActivity, actor: UUID?) -> String {
        let t = desk.t
        let who = desk.memberName(actor) ?? t("message.system")
        switch change.change {
        case .status:
            let status = change.value ?? "open"
            if status == "snoozed", let until = change.until { return t("activity.status.snoozed", who, desk.format.dateTime(until)) }
            return t("activity.status.\(status)", who)
        case .assignee:
            guard let name = desk.memberName(change.value.flatMap(UUID.init(uuidString:))) else { return t("activity.unassigned", who) }
            return name == who ? t("activity.took", who) : t("activity.assigned", who, name)
        case .team:
            guard let id = change.value.flatMap(UUID.init(uuidString:)), let team = desk.teams.first(where: { $0.id == id }) else {
                return t("activity.no_team", who)
            }
            return t("activity.team", who, team.name)
        case .priority: return t("activity.priority", who, t("priority.\(change.value ?? "none")"))
        case .labelAdded: return t("activity.label_added", who, change.value ?? "")
        case .labelRemoved: return t("activity.label_removed", who, change.value ?? "")
        case .macro: return t("activity.macro", who, change.value ?? "")
        case .rule: return t("activity.rule", change.value ?? "")
        case .ruleFailed: return t("activity.rule_failed", change.value ?? "")
        case .rulesPaused: return t("activity.rules_paused", change.value ?? "")
        case .reminder: return t("activity.reminder", desk.memberName(change.value.flatMap(UUID.init(uuidString:))) ?? t("message.system"))
        case .followUpSkipped: return t("activity.follow_up_skipped")
        case .followUpFailed: return t("activity.follow_up_failed", change.value ?? "")
        case .resurfaced: return t("activity.resurfaced", change.value ?? "")
        case .compensationGiven: return t("activity.compensation_given", who, change.value ?? "")
        case .compensationRequested: return t("activity.compensation_requested", who, change.value ?? "")
        case .compensationRejected: return t("activity.compensation_rejected", who, change.value ?? "")
        case .compensationNotTold: return t("activity.compensation_not_told", change.value ?? "")
        case .surveySent: return t("activity.survey_sent", t("survey.kind.\(change.value ?? "csat")"))
        case .surveyAnswered:
            let parts = (change.value ?? "").split(separator: ":").map(String.init)
            guard parts.count == 2, let kind = Survey.Kind(rawValue: parts[0]) else { return t("activity.survey_answered", "?", "") }
            return t("activity.survey_answered", "\(parts[1])/\(kind.scale.upperBound)", t("survey.kind.\(kind.rawValue)"))
        case .requeued, .handedOn:
            let agent = desk.memberName(change.value.flatMap(UUID.init(uuidString:))) ?? t("conversation.unassigned")
            return t("activity.\(change.change.rawValue)", agent)
        }
    }

    /// The workspace's other inboxes that can answer this customer: active, carrying replies, reaching an identity they
    /// have (an email inbox for a form's email, WhatsApp or SMS for a call's phone).
    static func replyInboxes(_ desk: Desk, _ model: Model) -> [Inbox] {
        let kinds = Set(model.identities.map(\.kind))
        return desk.inboxes.filter { inbox in
            let rules = desk.channels.replyRules(inbox.channel)
            return inbox.isActive && inbox.id != model.conversation.$inbox.id && rules.sends && rules.reaches.contains(where: kinds.contains)
        }
    }

    /// The colleagues an `@` in a note can name: their handle (the name without spaces) and name, as JSON.
    static func mentionList(_ desk: Desk) -> String {
        let people = desk.members.filter { $0.user.id != desk.userID }.map { ["handle": $0.user.name.replacingOccurrences(of: " ", with: ""), "name": $0.user.name] }
        return (try? String(data: JSONSerialization.data(withJSONObject: people, options: [.sortedKeys]), encoding: .utf8)) ?? "[]"
    }

    /// The canned responses the `/` picker offers: id, shortcut and title, as JSON; the text is filled in when one is chosen.
    static func cannedList(_ responses: [CannedResponse]) -> String {
        let items = responses.map { ["id": $0.id?.uuidString.lowercased() ?? "", "shortcut": $0.shortcut, "title": $0.title] }
        return (try? String(data: JSONSerialization.data(withJSONObject: items, options: [.sortedKeys]), encoding: .utf8)) ?? "[]"
    }

    /// The channels Atiende has that could reach this customer (email for an address, WhatsApp or SMS for a phone),
    /// connected here or not.
    static func reachable(_ desk: Desk, _ model: Model) -> [ChannelKind] {
        let kinds = Set(model.identities.map(\.kind))
        return desk.channels.all.filter { $0.replyRules.sends && $0.replyRules.reaches.contains(where: kinds.contains) }.map(\.kind)
    }

    static func composer(_ desk: Desk, _ c: Conversation, through: [Inbox], canned: [CannedResponse] = [],
                         reachable: [ChannelKind] = []) -> Node<HTML.BodyContext> {
        let t = desk.t
        let own = desk.channels.replyRules(c.channel).sends
        return .form(.id("composer"), .class("composer"), .data("api", apiPath(desk, c.number) + "/messages"), .data("method", "POST"),
                     .data("then", "reset"),
            // A form or a call is answered through a channel that reaches the customer; the others may be, too.
            .if(!own && through.isEmpty, .p(.class("notice"), .id("no-channel"),
                .text(reachable.isEmpty ? t("composer.no_channel", t("channel.\(c.channel.rawValue)"))
                      : t("composer.no_inbox", t("channel.\(c.channel.rawValue)"), reachable.map { t("channel.\($0.rawValue)") }.joined(separator: " · "))))),
            .if(!through.isEmpty, .label(.class("via"), .span(.text(t("composer.via") + " ")),
                .dropdown(.id("reply-via"), .name("via_inbox_id"), .data("type", "omit-empty"),
                          .if(own, .option(.value(""), .text(t("composer.via_own", t("channel.\(c.channel.rawValue)"))))),
                          .forEach(through) { inbox in
                              .option(.value(inbox.id?.uuidString.lowercased() ?? ""), .text("\(inbox.name) · \(t("channel.\(inbox.channel.rawValue)"))"))
                          }))),
            .label(.for("reply-text"), .class("sr"), .text(t("composer.label"))),
            .textBox(.id("reply-text"), .name("text"), .data("shortcut", "r"), .attribute(named: "rows", value: "4"),
                      .placeholder(t("composer.placeholder")), .data("members", mentionList(desk)),
                      .data("canned", cannedList(canned)), .data("canned-url", apiPath(desk, c.number) + "/canned-responses/"),
                      .data("reply-placeholder", t("composer.placeholder")), .data("note-placeholder", t("composer.note_placeholder")),
                      .attribute(named: "aria-autocomplete", value: "list"), .aria("controls", "mentions")),
            .ul(.id("mentions"), .class("mentions"), .role("listbox"), .attribute(named: "hidden", value: "hidden"), .aria("label", t("composer.mention_list"))),
            .field(.type(.hidden), .id("reply-canned"), .name("canned_response_id"), .data("type", "omit-empty")),
            .p(.id("canned-gaps"), .class("notice gaps"), .role("status"), .attribute(named: "hidden", value: "hidden")),
            .div(.class("composer-tools"),
                 .label(.field(.type(.checkbox), .id("note-toggle"), .name("private"), .data("type", "bool"), .data("shortcut", "n")),
                        .text(" " + t("composer.private_note"))),
                 .label(.for("reply-files"), .text(t("composer.attach") + " ")),
                 .field(.type(.file), .id("reply-files"), .name("attachments"), .attribute(named: "multiple", value: "multiple"), .data("type", "files")),
                 .span(.class("hint"), .text(t("composer.mention_hint"))),
                 .button(.type(.submit), .class("primary"), .id("composer-send"), .data("reply", t("composer.send")),
                         .data("note", t("composer.add_note")), .text(t("composer.send")))),
            .p(.class("form-error"), .role("alert")))
    }

    /// A channel with templates (WhatsApp) after its window without a customer message: only an approved template is
    /// delivered, so the agent is told and gets a form for one (notes still go through the composer).
    static func templateForm(_ desk: Desk, _ c: Conversation, now: Date) -> Node<HTML.BodyContext> {
        let rules = desk.channels.replyRules(c.channel)
        guard rules.templates, let window = rules.window,
              now.timeIntervalSince(c.lastIncomingAt ?? c.createdAt) > window else { return .empty }
        let t = desk.t
        return .div(.id("window-closed"), .class("notice"),
            .p(.text(t("conversation.window_closed", Int(window / 3600), t("channel.\(c.channel.rawValue)")))),
            .form(.class("stack"), .data("api", apiPath(desk, c.number) + "/messages"), .data("method", "POST"), .data("then", "reload"),
                  .h3(.text(t("conversation.template"))),
                  .label(.span(.text(t("conversation.template_name"))), .field(.type(.text), .name("template.name"), .required(true))),
                  .label(.span(.text(t("conversation.template_language"))), .field(.type(.text), .name("template.language"), .value(desk.t.language.rawValue),
                                                                                  .required(true))),
                  .label(.span(.text(t("conversation.template_parameters"))), .field(.type(.text), .name("template.parameters"), .data("type", "list"))),
                  .button(.type(.submit), .class("primary"), .text(t("composer.send"))),
                  .p(.class("form-error"), .role("alert"))))
    }
}
