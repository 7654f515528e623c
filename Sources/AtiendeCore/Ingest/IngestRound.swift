import FluentKit
import Foundation
import SQLKit

/// One round of `IngestBatch`, step by step. Every step is a fixed number of statements for the whole round; each
/// leaves what the next ones need in the round's state.
struct IngestRound {
    struct Plan {
        var index: Int
        var item: IngestItem
        var contactID: UUID
        var newContact: Bool
        var others: [UUID]
        var nameless: Bool
        var newIdentities: [IdentitySnapshot]
    }

    let tx: WriteTransaction
    let sql: any SQLDatabase
    let now: Date
    /// Replays, answered with what was stored the first time.
    var results: [(Int, IngestResult)] = []
    var fresh: [(index: Int, item: IngestItem)] = []
    var plans: [Plan] = []
    /// Messages whose contact already has one in this round: the next round takes them.
    var postponed: [Int] = []
    var contactEvents: [Int: ContactSnapshot] = [:]
    /// Per plan: its conversation as it is after this message, whether the message opened it, what it reopened.
    var conversations: [ConversationSnapshot] = []
    var opened: [Bool] = []
    var reactivated: [Int: ConversationStatus] = [:]
    var newConversationsByWorkspace: [UUID: Int] = [:]
    var messages: [MessageSnapshot] = []
    /// Per plan: the survey its message answers (a number on the survey's scale, sent to a customer who was asked).
    var surveyAnswers: [Int: (survey: UUID, score: Int, comment: String?)] = [:]

    /// Joins its conversation without making anyone wait: a machine's message, or a survey's answer.
    func quiet(_ n: Int) -> Bool { plans[n].item.automatic || surveyAnswers[n] != nil }

    init(tx: WriteTransaction) {
        self.tx = tx
        sql = tx.sql
        now = tx.now
    }

    /// Replays: the same (inbox, provider id) was stored before.
    mutating func skipReplays(_ round: [(index: Int, item: IngestItem)]) async throws {
        let duplicates = try await sql.raw("""
            SELECT m.inbox_id AS inbox_id, m.provider_message_id AS provider_id, m.id AS message_id,
                   c.id AS conversation_id, c.number AS number, c.contact_id AS contact_id
            FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE \(IngestBatch.or(Dictionary(grouping: round, by: \.item.inboxID).map { inbox, entries in
                "(m.inbox_id = \(bind: inbox) AND m.provider_message_id IN (\(IngestBatch.list(entries.map(\.item.providerID)))))"
            }))
            """).all()
        var seen: [String: IngestResult] = [:]
        for row in duplicates {
            let key = "\(try row.decode(column: "inbox_id", as: UUID.self)):\(try row.decode(column: "provider_id", as: String.self))"
            seen[key] = IngestResult(conversationID: try row.decode(column: "conversation_id", as: UUID.self),
                                     conversationNumber: try row.decode(column: "number", as: Int.self),
                                     messageID: try row.decode(column: "message_id", as: UUID.self),
                                     contactID: try row.decode(column: "contact_id", as: UUID.self),
                                     duplicate: true, openedConversation: false)
        }

        for entry in round {
            if let result = seen["\(entry.item.inboxID):\(entry.item.providerID)"] { results.append((entry.index, result)) }
            else { fresh.append(entry) }
        }
    }

    /// Contacts by identity, never by name.
    mutating func planContacts() async throws {
        let identityRows = try await sql.raw("""
            SELECT ci.workspace_id AS workspace_id, ci.kind AS kind, ci.value AS value, ci.contact_id AS contact_id,
                   CASE WHEN c.name IS NULL THEN 1 ELSE 0 END AS nameless
            FROM contact_identities ci JOIN contacts c ON c.id = ci.contact_id
            WHERE \(IngestBatch.or(Dictionary(grouping: fresh.flatMap { entry in entry.item.identities.map { (entry.item.workspaceID, $0) } },
                                  by: { "\($0.0):\($0.1.kind.rawValue)" }).values.map { group in
                "(ci.workspace_id = \(bind: group[0].0) AND ci.kind = \(bind: group[0].1.kind.rawValue) AND ci.value IN (\(IngestBatch.list(group.map(\.1.value)))))"
            }))
            """).all()
        var owners: [String: (contact: UUID, nameless: Bool)] = [:]
        for row in identityRows {
            let key = "\(try row.decode(column: "workspace_id", as: UUID.self)):\(try row.decode(column: "kind", as: String.self)):\(try row.decode(column: "value", as: String.self))"
            owners[key] = (try row.decode(column: "contact_id", as: UUID.self), try row.decode(column: "nameless", as: Int.self) == 1)
        }



        var contactsInRound = Set<UUID>()
        for entry in fresh {
            let item = entry.item
            var contactIDs: [UUID] = []
            var nameless = false
            var newIdentities: [IdentitySnapshot] = []
            for identity in item.identities {
                if let owner = owners["\(item.workspaceID):\(identity.kind.rawValue):\(identity.value)"] {
                    if !contactIDs.contains(owner.contact) { contactIDs.append(owner.contact) }
                    if owner.contact == contactIDs.first { nameless = owner.nameless }
                } else {
                    newIdentities.append(identity)
                }
            }
            if let existing = contactIDs.first, !contactsInRound.insert(existing).inserted {
                postponed.append(entry.index)   // this contact already has a message in this round
                continue
            }
            plans.append(Plan(index: entry.index, item: item, contactID: contactIDs.first ?? .ordered(), newContact: contactIDs.isEmpty,
                              others: Array(contactIDs.dropFirst()), nameless: nameless, newIdentities: newIdentities))
        }
    }

    /// New contacts and the identities nobody had.
    mutating func storeNewContacts() async throws {
        let cleanNames = plans.map { plan in
            plan.item.name.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(255)) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        var newContacts: [SQLQueryString] = []
        var identityRowsToInsert: [SQLQueryString] = []

        for (n, plan) in plans.enumerated() {
            let item = plan.item
            if plan.newContact {
                let email = item.identities.first { $0.kind == .email }?.value
                let phone = item.identities.first { $0.kind == .phone || $0.kind == .whatsapp }?.value
                newContacts.append(IngestBatch.sqlRow("""
                    (\(bind: plan.contactID), \(bind: item.workspaceID), \(bind: cleanNames[n]), \(bind: email), \(bind: phone),
                     \(unsafeRaw: tx.emptyObjectLiteral), \(unsafeRaw: tx.emptyArrayLiteral), \(bind: now), \(bind: now))
                    """))
                contactEvents[n] = ContactSnapshot(id: plan.contactID, name: cleanNames[n], email: email, phone: phone, documentID: nil,
                                                   attributes: [:], labels: [], identities: item.identities, createdAt: now)
            } else {
                if plan.nameless, let name = cleanNames[n] { try await IngestSQL.nameContact(plan.contactID, name: name, in: tx) }
                let email = plan.newIdentities.first { $0.kind == .email }?.value
                let phone = plan.newIdentities.first { $0.kind == .phone || $0.kind == .whatsapp }?.value
                if email != nil || phone != nil { try await IngestSQL.fillContact(plan.contactID, email: email, phone: phone, in: tx) }
            }
            for identity in plan.newIdentities {
                identityRowsToInsert.append(IngestBatch.sqlRow("""
                    (\(bind: UUID.ordered()), \(bind: item.workspaceID), \(bind: plan.contactID), \(bind: identity.kind.rawValue),
                     \(bind: identity.value), \(bind: now))
                    """))
            }
        }
        if !newContacts.isEmpty {
            try await sql.raw("""
                INSERT INTO contacts (id, workspace_id, name, email, phone, attributes, labels, created_at, updated_at)
                VALUES \(newContacts.joined(separator: ", "))
                """).run()
        }
        if !identityRowsToInsert.isEmpty {
            try await sql.raw("""
                INSERT INTO contact_identities (id, workspace_id, contact_id, kind, value, created_at)
                VALUES \(identityRowsToInsert.joined(separator: ", "))
                """).run()
        }
        for plan in plans {
            for other in plan.others {
                try await ContactService.suggestDuplicate(contact: plan.contactID, other: other, workspace: plan.item.workspaceID,
                                                           reason: "shared identity", in: tx)
            }
        }
    }

    /// Threading: the candidates of every (inbox, contact) in one query, chosen by the single-message rules.
    mutating func thread() async throws {
        let existing = plans.filter { !$0.newContact }
        var candidates: [String: [ConversationSnapshot]] = [:]
        if !existing.isEmpty {
            let oldestWindow = now.addingTimeInterval(-(existing.map(\.item.reopenWindow).max() ?? 0))
            let rows = try await sql.raw("""
                SELECT \(unsafeRaw: IngestSQL.conversationColumns) FROM conversations
                WHERE (\(IngestBatch.or(Dictionary(grouping: existing, by: \.item.inboxID).map { inbox, plans in
                    "(inbox_id = \(bind: inbox) AND contact_id IN (\(IngestBatch.list(plans.map(\.contactID)))))"
                })))
                  AND (status IN ('open', 'pending', 'snoozed') OR (status = 'resolved' AND resolved_at >= \(bind: oldestWindow))
                       OR provider_thread_id IS NOT NULL AND status <> 'closed')
                """).all()
            for row in rows {
                let conversation = try IngestSQL.conversation(row, dialect: tx.store.dialect)
                candidates["\(conversation.inboxID):\(conversation.contactID)", default: []].append(conversation)
            }
        }

        // Conversations named by the channel (a participant's reply), whoever their customer is.
        // A conversation answered through another of the workspace's inboxes (a form answered by email) takes the answer too.
        var targets: [UUID: (conversation: ConversationSnapshot, workspaceID: UUID)] = [:]
        let targetIDs = plans.compactMap(\.item.conversationID)
        if !targetIDs.isEmpty {
            let rows = try await sql.raw("""
                SELECT \(unsafeRaw: IngestSQL.conversationColumns), workspace_id FROM conversations
                WHERE id IN (\(IngestBatch.list(targetIDs))) AND status <> 'closed'
                """).all()
            for row in rows {
                let conversation = try IngestSQL.conversation(row, dialect: tx.store.dialect)
                targets[conversation.id] = (conversation, try row.decode(column: "workspace_id", as: UUID.self))
            }
        }

        let asked = try await surveysAwaiting()
        for (n, plan) in plans.enumerated() {
            let target = plan.item.conversationID.flatMap { targets[$0] }.flatMap { $0.workspaceID == plan.item.workspaceID ? $0.conversation : nil }
            var found = target ?? IngestBatch.choose(candidates["\(plan.item.inboxID):\(plan.contactID)"] ?? [], hint: plan.item.threadHint,
                                                     reopenAfter: now.addingTimeInterval(-plan.item.reopenWindow))
            // A number on the scale of the survey the customer was just sent answers it, in the survey's conversation.
            if let survey = asked["\(plan.item.inboxID):\(plan.contactID)"], target == nil || target?.id == survey.conversation.id,
               let answer = SurveyAnswerText.parse(plan.item.text, kind: survey.kind) {
                found = survey.conversation
                surveyAnswers[n] = (survey.id, answer.score, answer.comment)
            }
            if var conversation = found {
                // Automatic mail (an out-of-office) joins the thread but is no answer of the customer's: it neither
                // reopens the conversation nor makes the customer wait. Nor does a survey's answer.
                if !quiet(n) {
                    if conversation.status != .open { reactivated[n] = conversation.status }
                    conversation.status = .open
                    conversation.snoozedUntil = nil
                    conversation.resolvedAt = nil
                    if conversation.waitingSince == nil { conversation.waitingSince = now }
                }
                conversation.lastMessageAt = now
                conversation.updatedAt = now
                conversation.messageCount += 1
                conversations.append(conversation)
                opened.append(false)
            } else {
                newConversationsByWorkspace[plan.item.workspaceID, default: 0] += 1
                conversations.append(ConversationSnapshot(
                    id: .ordered(), number: 0, inboxID: plan.item.inboxID, contactID: plan.contactID, channel: plan.item.channel,
                    status: .open, priority: .none, assigneeID: nil, teamID: plan.item.teamID, labels: [], contactReason: nil,
                    subject: plan.item.subject.map { String($0.prefix(255)) }, threadID: plan.item.threadHint, snoozedUntil: nil,
                    createdAt: now, updatedAt: now, lastMessageAt: now, waitingSince: now, firstResponseAt: nil, resolvedAt: nil,
                    messageCount: 1))
                opened.append(true)
            }
        }
    }

    /// The surveys waiting for an answer from the customers of this round's messages that read as a score, by
    /// "inbox:contact" (the latest sent each), with their conversations. No query unless a message is a number.
    func surveysAwaiting() async throws -> [String: (id: UUID, kind: Survey.Kind, conversation: ConversationSnapshot)] {
        let numeric = plans.filter { !$0.newContact && !$0.item.automatic && SurveyAnswerText.parse($0.item.text, kind: .nps) != nil }
        guard !numeric.isEmpty else { return [:] }
        let rows = try await sql.raw("""
            SELECT id, kind, inbox_id, contact_id, conversation_id, sent_at FROM surveys
            WHERE status = 'sent' AND sent_at >= \(bind: now.addingTimeInterval(-Survey.changeWindow))
              AND (\(IngestBatch.or(Dictionary(grouping: numeric, by: \.item.inboxID).map { inbox, plans in
                  "(inbox_id = \(bind: inbox) AND contact_id IN (\(IngestBatch.list(plans.map(\.contactID)))))"
              })))
            """).all()
        var latest: [String: (id: UUID, kind: Survey.Kind, conversation: UUID, sent: Date)] = [:]
        for row in rows {
            guard let kind = Survey.Kind(rawValue: try row.decode(column: "kind", as: String.self)) else { continue }
            let key = "\(try row.decode(column: "inbox_id", as: UUID.self)):\(try row.decode(column: "contact_id", as: UUID.self))"
            let sent = try row.decode(column: "sent_at", as: Date.self)
            if let earlier = latest[key], earlier.sent > sent { continue }
            latest[key] = (try row.decode(column: "id", as: UUID.self), kind, try row.decode(column: "conversation_id", as: UUID.self), sent)
        }
        guard !latest.isEmpty else { return [:] }
        var conversations: [UUID: ConversationSnapshot] = [:]
        for row in try await sql.raw("""
            SELECT \(unsafeRaw: IngestSQL.conversationColumns) FROM conversations WHERE id IN (\(IngestBatch.list(latest.values.map(\.conversation))))
            """).all() {
            let conversation = try IngestSQL.conversation(row, dialect: tx.store.dialect)
            conversations[conversation.id] = conversation
        }
        return latest.compactMapValues { survey in conversations[survey.conversation].map { (survey.id, survey.kind, $0) } }
    }

    /// Numbers for new conversations, gap-free: one counter step per workspace.
    mutating func number() async throws {
        var nextNumber: [UUID: Int] = [:]
        for (workspace, count) in newConversationsByWorkspace {
            let last = try await tx.advance(.conversation, by: count, in: workspace)
            nextNumber[workspace] = Int(last) - count + 1
        }
        for n in conversations.indices where opened[n] {
            let workspace = plans[n].item.workspaceID
            conversations[n].number = nextNumber[workspace]!
            nextNumber[workspace]! += 1
        }
    }

    /// Rows: new conversations, the update of existing ones, messages, attachments.
    mutating func storeRows() async throws {
        try await IngestSQL.insertConversations(conversations.indices.filter { opened[$0] }.map { n in
            (conversations[n], plans[n].item.workspaceID, now)
        }, dialect: tx.store.dialect, on: sql)
        let touched = conversations.indices.filter { !opened[$0] && !quiet($0) }.map { conversations[$0].id }
        let touchedAutomatically = conversations.indices.filter { !opened[$0] && quiet($0) }.map { conversations[$0].id }
        if !touchedAutomatically.isEmpty {
            try await sql.raw("""
                UPDATE conversations SET last_message_at = \(bind: now), updated_at = \(bind: now), message_count = message_count + 1
                WHERE id IN (\(touchedAutomatically.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")))
                """).run()
        }
        if !touched.isEmpty {
            // No two messages of a round share a conversation, so each gains exactly one message.
            try await sql.raw("""
                UPDATE conversations SET status = 'open', snoozed_until = NULL, resolved_at = NULL, last_message_at = \(bind: now),
                    last_incoming_at = \(bind: now), updated_at = \(bind: now), waiting_since = COALESCE(waiting_since, \(bind: now)),
                    message_count = message_count + 1
                WHERE id IN (\(touched.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")))
                """).run()
        }

        var messageRows: [SQLQueryString] = []
        var attachmentRows: [SQLQueryString] = []
        for (n, plan) in plans.enumerated() {
            let item = plan.item
            let message = MessageSnapshot(
                id: .ordered(), conversationID: conversations[n].id, kind: .incoming, senderType: .contact, senderID: plan.contactID,
                text: item.text, providerMessageID: item.providerID, deliveryStatus: .received, deliveryError: nil, deliveryErrorCode: nil, deliveryAttempt: nil,
                sentAt: item.sentAt, createdAt: now, attachments: item.attachments, template: nil)
            messages.append(message)
            messageRows.append(IngestBatch.sqlRow("""
                (\(bind: message.id), \(bind: item.workspaceID), \(bind: message.conversationID), \(bind: item.inboxID), 'incoming',
                 'contact', \(bind: plan.contactID), \(bind: item.text), \(bind: item.providerID), 'received', \(bind: item.sentAt),
                 \(bind: now), \(bind: now))
                """))
            for attachment in item.attachments {
                attachmentRows.append(IngestBatch.sqlRow("""
                    (\(bind: attachment.id), \(bind: item.workspaceID), \(bind: message.id), \(bind: attachment.filename),
                     \(bind: attachment.contentType), \(bind: attachment.size), \(bind: attachment.sha256), \(bind: now))
                    """))
            }
        }
        try await sql.raw("""
            INSERT INTO messages (id, workspace_id, conversation_id, inbox_id, kind, sender_type, sender_id, text,
                provider_message_id, delivery_status, sent_at, created_at, updated_at)
            VALUES \(messageRows.joined(separator: ", "))
            """).run()
        if !attachmentRows.isEmpty {
            try await sql.raw("""
                INSERT INTO attachments (id, workspace_id, message_id, filename, content_type, size, sha256, created_at)
                VALUES \(attachmentRows.joined(separator: ", "))
                """).run()
        }
    }

    /// Events, in message order, with ids from one counter step per workspace.
    func appendEvents() async throws {
        var events: [EventLog.Pending] = []
        for (n, plan) in plans.enumerated() {
            let workspace = plan.item.workspaceID
            if let contact = contactEvents[n] {
                events.append(.init(workspace: workspace, type: .contactCreated, payload: try EventLog.json(ContactEventPayload(contact: contact))))
            }
            if opened[n] {
                var created = conversations[n]
                created.messageCount = 0
                created.waitingSince = nil
                events.append(.init(workspace: workspace, type: .conversationCreated, conversation: created.id,
                                    payload: try EventLog.json(ConversationEventPayload(conversation: created))))
            } else if let previous = reactivated[n] {
                events.append(.init(workspace: workspace, type: previous == .resolved ? .conversationReopened : .conversationStatusChanged,
                                    conversation: conversations[n].id,
                                    payload: try EventLog.json(ConversationEventPayload(conversation: conversations[n],
                                                                                        changes: ["status": previous.rawValue]))))
            }
            events.append(.init(workspace: workspace, type: .messageCreated, conversation: conversations[n].id,
                                payload: try EventLog.json(MessageEventPayload(conversation: conversations[n], message: messages[n]))))
        }
        try await EventLog.appendAll(events, in: tx)
    }

    /// The surveys this round's messages answered (few: one statement each is fine).
    func recordSurveyAnswers() async throws {
        for answer in surveyAnswers.values {
            guard let survey = try await Survey.find(answer.survey, on: tx.db) else { continue }
            try await SurveyService.record(survey, score: answer.score, comment: answer.comment, in: tx)
        }
    }

    /// What each stored message became.
    func finished() -> [(Int, IngestResult)] {
        var results: [(Int, IngestResult)] = []
        for (n, plan) in plans.enumerated() {
            results.append((plan.index, IngestResult(conversationID: conversations[n].id, conversationNumber: conversations[n].number,
                                                     messageID: messages[n].id, contactID: plan.contactID, duplicate: false,
                                                     openedConversation: opened[n])))
        }
        return results
    }
}
