import Foundation
import SQLKit

/// One validated inbound message waiting for the batch that stores it.
struct IngestItem: Sendable {
    var workspaceID: UUID
    var inboxID: UUID
    var channel: ChannelKind
    var teamID: UUID?
    var reopenWindow: TimeInterval
    var providerID: String
    var identities: [IdentitySnapshot]
    var name: String?
    var text: String
    var sentAt: Date?
    var threadHint: String?
    var subject: String?
    var attachments: [AttachmentSnapshot]
    /// Sent by a machine (an auto-reply, a bounce): never answered automatically.
    var automatic: Bool = false
    /// A conversation of this inbox the channel has established the message belongs to although its sender is not the
    /// conversation's customer (a CC'd participant answering an email thread).
    var conversationID: UUID? = nil
}

/// Stores many inbound messages in a fixed number of statements, set-wise, instead of ten statements each.
///
/// Messages are taken in rounds: a round holds messages that share no (inbox, provider id), no identity and, once
/// contacts are known, no contact; the rest wait for the next round. Within a round every message is independent,
/// so dedupe, identity lookup, threading, inserts and the conversation update are one statement each for the round.
/// The rules are exactly those of a single message (see `Ingest`).
enum IngestBatch {
    static let maxRound = 100

    static func run(_ items: [IngestItem], in tx: WriteTransaction) async throws -> [IngestResult] {
        var results = [IngestResult?](repeating: nil, count: items.count)
        for workspace in Set(items.map(\.workspaceID)).sorted(by: { $0.uuidString < $1.uuidString }) {
            try await tx.lockWorkspace(workspace)
        }
        var remaining = Array(items.indices)
        while !remaining.isEmpty {
            var round: [Int] = []
            var deferred: [Int] = []
            var keys = Set<String>()
            var exclusive = false
            for index in remaining {
                let item = items[index]
                // A message aimed at a conversation of another customer has a round of its own: nothing else in it can
                // touch that conversation.
                if exclusive || (item.conversationID != nil && !round.isEmpty) {
                    deferred.append(index)
                    continue
                }
                if item.conversationID != nil { exclusive = true }
                let itemKeys = ["m:\(item.inboxID):\(item.providerID)"]
                    + item.identities.map { "i:\(item.workspaceID):\($0.kind.rawValue):\($0.value)" }
                if round.count < maxRound && keys.isDisjoint(with: itemKeys) {
                    round.append(index)
                    keys.formUnion(itemKeys)
                } else {
                    deferred.append(index)
                }
            }
            let (done, postponed) = try await runRound(round.map { (index: $0, item: items[$0]) }, in: tx)
            for (index, result) in done { results[index] = result }
            remaining = (postponed + deferred).sorted()
        }
        return results.map { $0! }
    }

    /// Stores a round; returns the results and the messages that must wait (they share a contact with an earlier one).
    private static func runRound(_ round: [(index: Int, item: IngestItem)], in tx: WriteTransaction) async throws
        -> ([(Int, IngestResult)], [Int]) {
        let sql = tx.sql
        let now = tx.now
        var results: [(Int, IngestResult)] = []

        let t1 = DispatchTime.now().uptimeNanoseconds
        // 1. Replays: the same (inbox, provider id) was stored before.
        let duplicates = try await sql.raw("""
            SELECT m.inbox_id AS inbox_id, m.provider_message_id AS provider_id, m.id AS message_id,
                   c.id AS conversation_id, c.number AS number, c.contact_id AS contact_id
            FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE \(or(Dictionary(grouping: round, by: \.item.inboxID).map { inbox, entries in
                "(m.inbox_id = \(bind: inbox) AND m.provider_message_id IN (\(list(entries.map(\.item.providerID)))))"
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
        var fresh: [(index: Int, item: IngestItem)] = []
        for entry in round {
            if let result = seen["\(entry.item.inboxID):\(entry.item.providerID)"] { results.append((entry.index, result)) }
            else { fresh.append(entry) }
        }
        guard !fresh.isEmpty else { return (results, []) }

        let t2 = DispatchTime.now().uptimeNanoseconds
        // 2. Contacts by identity, never by name.
        let identityRows = try await sql.raw("""
            SELECT ci.workspace_id AS workspace_id, ci.kind AS kind, ci.value AS value, ci.contact_id AS contact_id,
                   CASE WHEN c.name IS NULL THEN 1 ELSE 0 END AS nameless
            FROM contact_identities ci JOIN contacts c ON c.id = ci.contact_id
            WHERE \(or(Dictionary(grouping: fresh.flatMap { entry in entry.item.identities.map { (entry.item.workspaceID, $0) } },
                                  by: { "\($0.0):\($0.1.kind.rawValue)" }).values.map { group in
                "(ci.workspace_id = \(bind: group[0].0) AND ci.kind = \(bind: group[0].1.kind.rawValue) AND ci.value IN (\(list(group.map(\.1.value)))))"
            }))
            """).all()
        var owners: [String: (contact: UUID, nameless: Bool)] = [:]
        for row in identityRows {
            let key = "\(try row.decode(column: "workspace_id", as: UUID.self)):\(try row.decode(column: "kind", as: String.self)):\(try row.decode(column: "value", as: String.self))"
            owners[key] = (try row.decode(column: "contact_id", as: UUID.self), try row.decode(column: "nameless", as: Int.self) == 1)
        }

        struct Plan {
            var index: Int
            var item: IngestItem
            var contactID: UUID
            var newContact: Bool
            var others: [UUID]
            var nameless: Bool
            var newIdentities: [IdentitySnapshot]
        }
        var plans: [Plan] = []
        var postponed: [Int] = []
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
            plans.append(Plan(index: entry.index, item: item, contactID: contactIDs.first ?? UUID(), newContact: contactIDs.isEmpty,
                              others: Array(contactIDs.dropFirst()), nameless: nameless, newIdentities: newIdentities))
        }
        guard !plans.isEmpty else { return (results, postponed) }

        let t3 = DispatchTime.now().uptimeNanoseconds
        // 3. New contacts and the identities nobody had.
        let cleanNames = plans.map { plan in
            plan.item.name.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(255)) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        var newContacts: [SQLQueryString] = []
        var identityRowsToInsert: [SQLQueryString] = []
        var contactEvents: [Int: ContactSnapshot] = [:]
        for (n, plan) in plans.enumerated() {
            let item = plan.item
            if plan.newContact {
                let email = item.identities.first { $0.kind == .email }?.value
                let phone = item.identities.first { $0.kind == .phone || $0.kind == .whatsapp }?.value
                newContacts.append(sqlRow("""
                    (\(bind: plan.contactID), \(bind: item.workspaceID), \(bind: cleanNames[n]), \(bind: email), \(bind: phone),
                     \(unsafeRaw: tx.emptyObjectLiteral), \(unsafeRaw: tx.emptyArrayLiteral), \(bind: now), \(bind: now))
                    """))
                contactEvents[n] = ContactSnapshot(id: plan.contactID, name: cleanNames[n], email: email, phone: phone, documentID: nil,
                                                   attributes: [:], labels: [], identities: item.identities, createdAt: now)
            } else if plan.nameless, let name = cleanNames[n] {
                try await IngestSQL.nameContact(plan.contactID, name: name, in: tx)
            }
            for identity in plan.newIdentities {
                identityRowsToInsert.append(sqlRow("""
                    (\(bind: UUID()), \(bind: item.workspaceID), \(bind: plan.contactID), \(bind: identity.kind.rawValue),
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

        let t4 = DispatchTime.now().uptimeNanoseconds
        // 4. Threading: the candidates of every (inbox, contact) in one query, chosen by the single-message rules.
        let existing = plans.filter { !$0.newContact }
        var candidates: [String: [ConversationSnapshot]] = [:]
        if !existing.isEmpty {
            let oldestWindow = now.addingTimeInterval(-(existing.map(\.item.reopenWindow).max() ?? 0))
            let rows = try await sql.raw("""
                SELECT \(unsafeRaw: IngestSQL.conversationColumns) FROM conversations
                WHERE (\(or(Dictionary(grouping: existing, by: \.item.inboxID).map { inbox, plans in
                    "(inbox_id = \(bind: inbox) AND contact_id IN (\(list(plans.map(\.contactID)))))"
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
        var targets: [UUID: ConversationSnapshot] = [:]
        let targetIDs = plans.compactMap(\.item.conversationID)
        if !targetIDs.isEmpty {
            let rows = try await sql.raw("""
                SELECT \(unsafeRaw: IngestSQL.conversationColumns) FROM conversations WHERE id IN (\(list(targetIDs))) AND status <> 'closed'
                """).all()
            for row in rows {
                let conversation = try IngestSQL.conversation(row, dialect: tx.store.dialect)
                targets[conversation.id] = conversation
            }
        }

        var conversations: [ConversationSnapshot] = []
        var opened: [Bool] = []
        var reactivated: [Int: ConversationStatus] = [:]
        var newConversationsByWorkspace: [UUID: Int] = [:]
        for (n, plan) in plans.enumerated() {
            let target = plan.item.conversationID.flatMap { targets[$0] }.flatMap { $0.inboxID == plan.item.inboxID ? $0 : nil }
            let found = target ?? choose(candidates["\(plan.item.inboxID):\(plan.contactID)"] ?? [], hint: plan.item.threadHint,
                                         reopenAfter: now.addingTimeInterval(-plan.item.reopenWindow))
            if var conversation = found {
                // Automatic mail (an out-of-office) joins the thread but is no answer of the customer's: it neither
                // reopens the conversation nor makes the customer wait.
                if !plan.item.automatic {
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
                    id: UUID(), number: 0, inboxID: plan.item.inboxID, contactID: plan.contactID, channel: plan.item.channel,
                    status: .open, priority: .none, assigneeID: nil, teamID: plan.item.teamID, labels: [], contactReason: nil,
                    subject: plan.item.subject.map { String($0.prefix(255)) }, threadID: plan.item.threadHint, snoozedUntil: nil,
                    createdAt: now, updatedAt: now, lastMessageAt: now, waitingSince: now, firstResponseAt: nil, resolvedAt: nil,
                    messageCount: 1))
                opened.append(true)
            }
        }

        let t5 = DispatchTime.now().uptimeNanoseconds
        // 5. Numbers for new conversations, gap-free: one counter step per workspace.
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

        let t6 = DispatchTime.now().uptimeNanoseconds
        // 6. Rows: new conversations, the update of existing ones, messages, attachments.
        let newRows: [SQLQueryString] = conversations.indices.filter { opened[$0] }.map { n in
            let c = conversations[n]
            return """
                (\(bind: c.id), \(bind: plans[n].item.workspaceID), \(bind: c.number), \(bind: c.inboxID), \(bind: c.contactID),
                 \(bind: c.channel.rawValue), 'open', 'none', \(bind: Priority.none.rank), \(bind: c.teamID), \(unsafeRaw: tx.emptyArrayLiteral),
                 \(bind: c.subject), \(bind: c.threadID), \(bind: now), \(bind: now), \(bind: now), \(bind: now), \(bind: now), 1)
                """
        }
        if !newRows.isEmpty {
            try await sql.raw("""
                INSERT INTO conversations (id, workspace_id, number, inbox_id, contact_id, channel, status, priority, priority_rank,
                    team_id, labels, subject, provider_thread_id, created_at, updated_at, last_message_at, last_incoming_at,
                    waiting_since, message_count)
                VALUES \(newRows.joined(separator: ", "))
                """).run()
        }
        let touched = conversations.indices.filter { !opened[$0] && !plans[$0].item.automatic }.map { conversations[$0].id }
        let touchedAutomatically = conversations.indices.filter { !opened[$0] && plans[$0].item.automatic }.map { conversations[$0].id }
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
        var messages: [MessageSnapshot] = []
        var messageRows: [SQLQueryString] = []
        var attachmentRows: [SQLQueryString] = []
        for (n, plan) in plans.enumerated() {
            let item = plan.item
            let message = MessageSnapshot(
                id: UUID(), conversationID: conversations[n].id, kind: .incoming, senderType: .contact, senderID: plan.contactID,
                text: item.text, providerMessageID: item.providerID, deliveryStatus: .received, deliveryError: nil,
                sentAt: item.sentAt, createdAt: now, attachments: item.attachments, template: nil)
            messages.append(message)
            messageRows.append(sqlRow("""
                (\(bind: message.id), \(bind: item.workspaceID), \(bind: message.conversationID), \(bind: item.inboxID), 'incoming',
                 'contact', \(bind: plan.contactID), \(bind: item.text), \(bind: item.providerID), 'received', \(bind: item.sentAt),
                 \(bind: now), \(bind: now))
                """))
            for attachment in item.attachments {
                attachmentRows.append(sqlRow("""
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

        // What arrived, for the reactions (clocks, automatic answers, …): one change for the whole round.
        try await tx.react(.messagesReceived(plans.indices.map { n in
            DomainChange.Arrival(conversationID: conversations[n].id, workspaceID: plans[n].item.workspaceID, inboxID: plans[n].item.inboxID,
                                 opened: opened[n], reopened: reactivated[n] != nil, automatic: plans[n].item.automatic)
        }))

        let t7 = DispatchTime.now().uptimeNanoseconds
        // 7. Events, in message order, with ids from one counter step per workspace.
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
        let t8 = DispatchTime.now().uptimeNanoseconds
        try await EventLog.appendAll(events, in: tx)
        let t9 = DispatchTime.now().uptimeNanoseconds
        tx.store.logger.trace("ingest round", metadata: [
            "n": "\(plans.count)", "dedupe_us": "\((t2 - t1) / 1000)", "identities_us": "\((t3 - t2) / 1000)",
            "contacts_us": "\((t4 - t3) / 1000)", "threading_us": "\((t5 - t4) / 1000)", "numbers_us": "\((t6 - t5) / 1000)",
            "rows_us": "\((t7 - t6) / 1000)", "payloads_us": "\((t8 - t7) / 1000)", "events_us": "\((t9 - t8) / 1000)"])

        for (n, plan) in plans.enumerated() {
            results.append((plan.index, IngestResult(conversationID: conversations[n].id, conversationNumber: conversations[n].number,
                                                     messageID: messages[n].id, contactID: plan.contactID, duplicate: false,
                                                     openedConversation: opened[n])))
        }
        return (results, postponed)
    }

    /// The single-message threading rule: the provider's thread when given; else the contact's active
    /// conversation, else the one resolved most recently within the reopen window.
    static func choose(_ candidates: [ConversationSnapshot], hint: String?, reopenAfter: Date) -> ConversationSnapshot? {
        if let hint {
            return candidates.filter { $0.threadID == hint && $0.status != .closed }.max { $0.lastMessageAt < $1.lastMessageAt }
        }
        if let active = candidates.filter({ ConversationStatus.active.contains($0.status) }).max(by: { $0.lastMessageAt < $1.lastMessageAt }) {
            return active
        }
        return candidates.filter { $0.status == .resolved && ($0.resolvedAt ?? .distantPast) >= reopenAfter }
            .max { ($0.resolvedAt ?? .distantPast) < ($1.resolvedAt ?? .distantPast) }
    }

    /// Gives a multi-line literal the SQL type, so its interpolations bind.
    static func sqlRow(_ row: SQLQueryString) -> SQLQueryString { row }

    /// `?, ?, …` binding each value once.
    static func list<T: Encodable & Sendable>(_ values: [T]) -> SQLQueryString {
        values.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")
    }

    static func or(_ parts: [SQLQueryString]) -> SQLQueryString {
        parts.isEmpty ? "1 = 0" : parts.joined(separator: " OR ")
    }
}
