import Foundation
import SQLKit

/// The rows an import writes, each batch in one transaction with the keys that say it is there.
extension Importer {
    /// A phone is also a WhatsApp number: the customer who wrote from it is the same person.
    static func whatsapp(_ identity: IdentitySnapshot) -> IdentitySnapshot? {
        identity.kind == .phone ? IdentitySnapshot(kind: .whatsapp, value: identity.value) : nil
    }

    /// People as contacts: joined to the contact who already has one of their addresses, otherwise new. Returns their keys.
    func writeContacts(_ people: [ImportedHistory.Person], source: String, workspace: UUID, country: String?,
                       dryRun: Bool) async throws -> (keys: Keys, created: Int, matched: Int) {
        let identities = people.map { person in
            [(IdentityKind.email, person.email), (.phone, person.phone)].compactMap { kind, raw in
                raw.flatMap { IdentityNormalizer.normalize(kind, $0, defaultCountryCode: country) }.map { IdentitySnapshot(kind: kind, value: $0) }
            }
        }
        let plan: @Sendable (any SQLDatabase) async throws -> [IdentitySnapshot: UUID] = { sql in
            let all = Set(identities.flatMap { $0 + $0.compactMap(Self.whatsapp) })
            guard !all.isEmpty else { return [:] }
            var owners: [IdentitySnapshot: UUID] = [:]
            for part in Array(all).chunked(400) {
                let rows = try await sql.raw("""
                    SELECT kind, value, contact_id FROM contact_identities WHERE workspace_id = \(bind: workspace) AND (\(IngestBatch.or(
                        Dictionary(grouping: part, by: \.kind).map { kind, list in
                            "(kind = \(bind: kind.rawValue) AND value IN (\(IngestBatch.list(list.map(\.value)))))" as SQLQueryString
                        })))
                    """).all()
                for row in rows {
                    guard let kind = IdentityKind(rawValue: try row.decode(column: "kind", as: String.self)) else { continue }
                    owners[IdentitySnapshot(kind: kind, value: try row.decode(column: "value", as: String.self))]
                        = try row.decode(column: "contact_id", as: UUID.self)
                }
            }
            return owners
        }
        if dryRun {
            var owners = try await plan(store.sql)
            var matched = 0
            for list in identities {
                if list.contains(where: { owners[$0] ?? Self.whatsapp($0).flatMap { owners[$0] } != nil }) { matched += 1 }
                else { for identity in list { owners[identity] = UUID() } }
            }
            return ([:], people.count - matched, matched)
        }
        return try await store.write { tx in
            var owners = try await plan(tx.sql)
            let now = tx.now
            var keys: Keys = [:], contacts: [SQLQueryString] = [], rows: [SQLQueryString] = [], records: [SQLQueryString] = []
            var matched = 0
            for (person, list) in zip(people, identities) {
                let id: UUID
                if let owner = list.lazy.compactMap({ owners[$0] ?? Self.whatsapp($0).flatMap { owners[$0] } }).first {
                    id = owner
                    matched += 1
                    // What the source knows and the contact lacks: a name, an address.
                    if let name = person.name { try await IngestSQL.nameContact(owner, name: String(name.prefix(255)), in: tx) }
                    try await IngestSQL.fillContact(owner, email: list.first { $0.kind == .email }?.value, phone: list.first { $0.kind == .phone }?.value, in: tx)
                } else {
                    id = UUID.ordered()
                    let created = person.createdAt ?? now
                    let attributes = person.organization.map { try? EventLog.json(["organization": $0]) } ?? nil
                    let json: SQLQueryString = attributes.map { tx.store.dialect == .postgres ? "\(bind: $0)::jsonb" : "\(bind: $0)" }
                        ?? "\(unsafeRaw: tx.emptyObjectLiteral)"
                    contacts.append("(\(bind: id), \(bind: workspace), \(bind: person.name.map { String($0.prefix(255)) }), "
                                    + "\(bind: list.first { $0.kind == .email }?.value), \(bind: list.first { $0.kind == .phone }?.value), " + json
                                    + ", \(unsafeRaw: tx.emptyArrayLiteral), \(bind: created), \(bind: created))")
                    for identity in list {
                        owners[identity] = id
                        rows.append("(\(bind: UUID.ordered()), \(bind: workspace), \(bind: id), \(bind: identity.kind.rawValue), \(bind: identity.value), \(bind: created))")
                    }
                }
                keys["contact:\(person.sourceID)"] = id
                records.append(Self.record("contact", person.sourceID, id, source: source, workspace: workspace, now: now))
            }
            try await IngestSQL.insertRows("INSERT INTO contacts (id, workspace_id, name, email, phone, attributes, labels, created_at, updated_at) VALUES ",
                                              contacts, on: tx.sql)
            try await IngestSQL.insertRows("INSERT INTO contact_identities (id, workspace_id, contact_id, kind, value, created_at) VALUES ",
                                              rows, on: tx.sql)
            try await Self.insertRecords(records, on: tx.sql)
            return (keys, people.count - matched, matched)
        }
    }

    enum Written {
        case written(Keys)
        /// Imported before and deleted here since (by hand, by retention).
        case gone
        /// Its customer was erased here (or the conversation anonymised): nothing of theirs comes back.
        case erased
    }

    /// One conversation: new (with its original times and no service-level clocks), or the messages and files it lacks
    /// added to the one imported before — which, while it has not lived here, takes the source's status and times too.
    func writeConversation(_ conversation: ImportedHistory.Conversation, existing: UUID?, messages: [ImportedHistory.Message],
                           retried: [(message: UUID, file: ImportedHistory.File)], downloaded: [String: AttachmentSnapshot], contact keyed: UUID,
                           agents: [String: UUID?], inbox: Inbox, source: String) async throws -> Written {
        let workspace = inbox.$workspace.id
        let inboxID = try inbox.requireID()
        return try await store.write { tx in
            let now = tx.now
            var keys: Keys = [:], records: [SQLQueryString] = [], messageRows: [SQLQueryString] = [], files: [SQLQueryString] = []
            // The contact the key names, or the one it was merged into since.
            var contact = keyed
            for _ in 0..<10 {
                guard let row = try await tx.sql.raw("""
                    SELECT merged_into_id, erased_at FROM contacts WHERE id = \(bind: contact) AND workspace_id = \(bind: workspace)
                    """).first() else { return .erased }
                if try row.decode(column: "erased_at", as: Date?.self) != nil { return .erased }
                guard let next = try row.decode(column: "merged_into_id", as: UUID?.self) else { break }
                contact = next
            }
            let conversationID: UUID
            let snapshot = Self.snapshot(conversation, id: existing ?? .ordered(), number: 0, inbox: inbox, contact: contact, agents: agents)
            if let existing {
                guard let row = try await tx.sql.raw("""
                    SELECT anonymised_at, \(unsafeRaw: Importer.live()) AS live FROM conversations
                    WHERE id = \(bind: existing) AND workspace_id = \(bind: workspace)
                    """).first() else { return .gone }
                if try row.decode(column: "anonymised_at", as: Date?.self) != nil { return .erased }
                conversationID = existing
                if !messages.isEmpty {
                    try await Self.extend(existing, with: messages, as: snapshot, live: try row.decode(column: "live", as: Bool.self), now: now, in: tx)
                }
            } else {
                var fresh = snapshot
                fresh.number = Int(try await tx.advance(.conversation, by: 1, in: workspace))
                fresh.messageCount = messages.count
                conversationID = fresh.id
                try await IngestSQL.insertConversations([(fresh, workspace, messages.last { $0.author == .customer }?.createdAt)],
                                                        dialect: tx.store.dialect, on: tx.sql)
                try await tx.sql.raw("UPDATE conversations SET imported_at = \(bind: now) WHERE id = \(bind: conversationID)").run()
                keys["conversation:\(conversation.sourceID)"] = conversationID
                records.append(Self.record("conversation", conversation.sourceID, conversationID, source: source, workspace: workspace, now: now))
            }
            func attach(_ file: ImportedHistory.File, to message: UUID) {
                guard let stored = downloaded[file.sourceID] else { return }
                files.append("(\(bind: stored.id), \(bind: workspace), \(bind: message), \(bind: stored.filename), \(bind: stored.contentType), \(bind: stored.size), \(bind: stored.sha256), \(bind: now))")
                keys["file:\(file.sourceID)"] = stored.id
                records.append(Self.record("file", file.sourceID, stored.id, source: source, workspace: workspace, now: now))
            }
            for message in messages {
                let id = UUID.ordered()
                let (kind, sender, senderID, status): (MessageKind, SenderType, UUID?, DeliveryStatus?) = switch message.author {
                case .customer: (.incoming, .contact, contact, .received)
                // What became of an answer in the other desk is not known: it carries no delivery status.
                case .agent(let who): (message.note ? .note : .outgoing, .agent, who.flatMap { agents[$0] ?? nil }, nil)
                }
                messageRows.append("""
                    (\(bind: id), \(bind: workspace), \(bind: conversationID), \(bind: inboxID), \(bind: kind.rawValue), \(bind: sender.rawValue),
                     \(bind: senderID), \(bind: message.text.withoutNUL), \(bind: status?.rawValue), \(bind: message.createdAt), \(bind: message.createdAt))
                    """)
                keys["message:\(message.sourceID)"] = id
                records.append(Self.record("message", message.sourceID, id, source: source, workspace: workspace, now: now))
                for file in message.files { attach(file, to: id) }
            }
            for (message, file) in retried { attach(file, to: message) }
            try await IngestSQL.insertRows("""
                INSERT INTO messages (id, workspace_id, conversation_id, inbox_id, kind, sender_type, sender_id, text, delivery_status,
                    created_at, updated_at) VALUES
                """, messageRows, on: tx.sql)
            try await IngestSQL.insertRows("INSERT INTO attachments (id, workspace_id, message_id, filename, content_type, size, sha256, created_at) VALUES ",
                                           files, on: tx.sql)
            try await Self.insertRecords(records, on: tx.sql)
            return .written(keys)
        }
    }

    /// New messages in a conversation imported before: its counts and times move on; while it has not lived here, it
    /// takes the source's status, waiting time and resolution as the export now tells them.
    static func extend(_ id: UUID, with messages: [ImportedHistory.Message], as source: ConversationSnapshot, live: Bool, now: Date,
                       in tx: WriteTransaction) async throws {
        let last = messages.map(\.createdAt).max() ?? source.lastMessageAt
        var set: SQLQueryString = """
            message_count = message_count + \(bind: messages.count), updated_at = \(bind: now),
            last_message_at = CASE WHEN last_message_at < \(bind: last) THEN \(bind: last) ELSE last_message_at END,
            first_response_at = COALESCE(first_response_at, \(bind: source.firstResponseAt))
            """
        if let incoming = messages.filter({ $0.author == .customer }).map(\.createdAt).max() {
            set = set + ", last_incoming_at = CASE WHEN last_incoming_at IS NULL OR last_incoming_at < \(bind: incoming) THEN \(bind: incoming) ELSE last_incoming_at END"
        }
        if !live {
            set = set + ", status = \(bind: source.status.rawValue), waiting_since = \(bind: source.waitingSince), resolved_at = \(bind: source.resolvedAt)"
        }
        try await tx.sql.raw("UPDATE conversations SET " + set + " WHERE id = \(bind: id)").run()
    }

    /// The conversation row as the source left it: its times from its messages, first response the first answer after
    /// the customer wrote, waiting since the customer's unanswered messages when it is still active.
    static func snapshot(_ c: ImportedHistory.Conversation, id: UUID, number: Int, inbox: Inbox, contact: UUID, agents: [String: UUID?]) -> ConversationSnapshot {
        let exchange = c.messages.filter { !$0.note }.sorted { $0.createdAt < $1.createdAt }
        let created = min(c.createdAt, c.messages.map(\.createdAt).min() ?? c.createdAt)
        let last = c.messages.map(\.createdAt).max() ?? created
        let firstIncoming = exchange.first { $0.author == .customer }?.createdAt
        let firstResponse = firstIncoming.flatMap { start in exchange.first { $0.author != .customer && $0.createdAt >= start }?.createdAt }
        let finished = c.status == .resolved || c.status == .closed
        let waiting = finished ? nil : exchange.reversed().prefix { $0.author == .customer }.last?.createdAt
        let labels = Array(c.labels.compactMap { (try? ConversationService.normalizeLabels([$0.withoutNUL]))?.first }.prefix(ConversationService.maxLabels))
        let updated = max(c.updatedAt ?? last, last)
        return ConversationSnapshot(
            id: id, number: number, inboxID: inbox.id ?? UUID(), contactID: contact, channel: inbox.channel, status: c.status, priority: c.priority,
            assigneeID: c.assignee.flatMap { agents[$0] ?? nil }, teamID: nil, labels: labels, contactReason: nil,
            subject: c.subject.map { String($0.withoutNUL.prefix(998)) }, threadID: nil, snoozedUntil: nil, createdAt: created, updatedAt: updated,
            lastMessageAt: last, waitingSince: waiting, firstResponseAt: firstResponse, resolvedAt: finished ? updated : nil, messageCount: c.messages.count)
    }
}
