import FluentKit
import Foundation
import SQLKit

/// A person's rights over what a workspace holds about them (GDPR articles 15 and 17, Chile's Ley 21.719): a copy of all
/// of it, and its erasure.
///
/// Erasure keeps the conversations and messages as anonymous rows — their times, channels, inboxes, agents, teams,
/// contact reasons and scores — so every count and metric stays what it was, and takes away every word and address: the
/// contact's profile and identities (and those of the contacts merged into it), the text of every message of their
/// conversations on both sides, subjects, participants and thread ids, survey comments, compensation reasons and
/// messages, follow-up texts, at-risk details and notes, notification excerpts, the same fields inside the event log's
/// payloads, pending work that would still write to them, and the attachments — their files too, once no other message
/// holds the same bytes. On SQLite the search indexes delete for good (FTS5 `secure-delete`), freed pages are zeroed
/// (the build's `SQLITE_SECURE_DELETE`) and the write-ahead log is checkpointed, so the words leave the file itself.
public struct PrivacyService: Sendable {
    public let store: Store
    public let files: FileStore

    public init(store: Store, files: FileStore) {
        self.store = store
        self.files = files
    }

    /// How much a workspace holds about a contact: what an export contains and what an erasure takes away.
    public struct Tally: Codable, Sendable, Equatable {
        public var contacts = 0
        public var identities = 0
        public var conversations = 0
        public var messages = 0
        public var attachments = 0
        public var attachmentBytes = 0
        public var surveys = 0
        public var compensations = 0

        enum CodingKeys: String, CodingKey {
            case contacts, identities, conversations, messages, attachments, surveys, compensations
            case attachmentBytes = "attachment_bytes"
        }
    }

    /// Everything held about a contact: its record, the records merged into it, and what hangs from their conversations.
    public struct Holding: Sendable {
        public var contact: Contact
        public var merged: [Contact]
        public var identities: [ContactIdentity]
        public var conversations: [Conversation]
        /// With their attachments loaded, oldest first.
        public var messages: [Message]
        public var surveys: [Survey]
        public var compensations: [Compensation]

        public var contactIDs: [UUID] { ([contact] + merged).compactMap(\.id) }

        public var tally: Tally {
            let attachments = messages.flatMap { $0.$attachments.value ?? [] }
            return Tally(contacts: 1 + merged.count, identities: identities.count, conversations: conversations.count,
                         messages: messages.count, attachments: attachments.count, attachmentBytes: attachments.reduce(0) { $0 + $1.size },
                         surveys: surveys.count, compensations: compensations.count)
        }
    }

    /// What the workspace holds about a contact that has not been merged away.
    public static func holding(_ contactID: UUID, workspace: UUID, on db: any Database) async throws -> Holding {
        guard let contact = try await ContactService.find(contactID, workspace: workspace, on: db) else {
            throw AtiendeError.notFound("contact")
        }
        // Merges chain (A into B, then B into C): every record that leads here.
        var merged: [Contact] = []
        var frontier = [contactID]
        while !frontier.isEmpty {
            let found = try await Contact.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$mergedIntoID ~~ frontier).all()
            merged += found
            frontier = found.compactMap(\.id)
        }
        let ids = ([contact] + merged).compactMap(\.id)
        let identities = try await ContactIdentity.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$contact.$id ~~ ids).all()
        let conversations = try await Conversation.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$contact.$id ~~ ids)
            .sort(\.$createdAt).all()
        let conversationIDs = conversations.compactMap(\.id)
        let messages = conversationIDs.isEmpty ? [] : try await Message.query(on: db).filter(\.$workspace.$id == workspace)
            .filter(\.$conversation.$id ~~ conversationIDs).with(\.$attachments).sort(\.$createdAt).all()
        let surveys = try await Survey.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$contactID ~~ ids).sort(\.$createdAt).all()
        let compensations = try await Compensation.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$contactID ~~ ids)
            .sort(\.$createdAt).all()
        return Holding(contact: contact, merged: merged, identities: identities, conversations: conversations, messages: messages,
                       surveys: surveys, compensations: compensations)
    }

    /// The export's document: everything held, in the shapes the API uses.
    public struct Export: Encodable, Sendable {
        public struct ExportedConversation: Encodable, Sendable {
            var conversation: ConversationSnapshot
            var messages: [MessageSnapshot]
        }

        var exportedAt: Date
        var workspace: UUID
        var contact: ContactSnapshot
        var mergedContacts: [ContactSnapshot]
        var conversations: [ExportedConversation]
        var surveys: [SurveySnapshot]
        var compensations: [CompensationSnapshot]
        var counts: Tally

        enum CodingKeys: String, CodingKey {
            case workspace, contact, conversations, surveys, compensations, counts
            case exportedAt = "exported_at", mergedContacts = "merged_contacts"
        }
    }

    /// A file of the export: where it goes in the archive and the stored bytes it is.
    public struct ExportFile: Sendable, Equatable {
        public var path: String
        public var sha256: String
    }

    /// The document and the files of a contact's export, and the export's entry in the audit log.
    public func export(_ contactID: UUID, workspace: UUID, actor: UUID) async throws -> (document: Data, files: [ExportFile]) {
        let holding = try await Self.holding(contactID, workspace: workspace, on: store.db)
        let identities = Dictionary(grouping: holding.identities, by: { $0.$contact.id })
        let byConversation = Dictionary(grouping: holding.messages, by: { $0.$conversation.id })
        let document = Export(
            exportedAt: store.clock.now(), workspace: workspace,
            contact: holding.contact.snapshot(identities: identities[contactID] ?? []),
            mergedContacts: holding.merged.map { $0.snapshot(identities: identities[$0.id ?? UUID()] ?? []) },
            conversations: holding.conversations.map { c in
                .init(conversation: c.snapshot, messages: (byConversation[c.id ?? UUID()] ?? []).map { $0.snapshot() })
            },
            surveys: try holding.surveys.map { try $0.snapshot }, compensations: holding.compensations.map(\.snapshot), counts: holding.tally)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(document)
        let files = holding.messages.flatMap { $0.$attachments.value ?? [] }.map { file in
            ExportFile(path: "files/\((file.id ?? UUID()).uuidString.lowercased())/\(Self.safeName(file.filename))", sha256: file.sha256)
        }
        try await store.write { tx in
            try await EventLog.append(.contactExported, workspace: workspace, actor: actor, payload: RecordEventPayload(id: contactID), in: tx)
        }
        return (data, files)
    }

    /// A file name that stays one entry of a ZIP on every system: no folders, no control characters, not too long.
    static func safeName(_ name: String) -> String {
        let kept = name.unicodeScalars.map { scalar -> Character in
            CharacterSet.controlCharacters.contains(scalar) || "/\\:*?\"<>|".unicodeScalars.contains(scalar) ? "_" : Character(scalar)
        }
        let trimmed = String(String(kept).trimmingCharacters(in: CharacterSet(charactersIn: ". ")).prefix(120))
        return trimmed.isEmpty ? "file" : trimmed
    }

    /// Erases a contact (and the contacts merged into it) as the type explains, in one transaction with its audit entry;
    /// returns what went. The attachments' files are removed after the commit.
    @discardableResult
    public func erase(_ contactID: UUID, workspace: UUID, actor: UUID?) async throws -> Tally {
        // The contact's own events (created, updated, merged, duplicate suggested) name it only in their payload: they are
        // looked for before the write, so the log is read outside the writer; the write looks again only past `seen`.
        let ids = try await Self.holding(contactID, workspace: workspace, on: store.db).contactIDs
        let seen = try await EventLog.lastID(workspace: workspace, on: store.sql)
        let mentions = ids.map { "payload LIKE \(bind: "%" + $0.uuidString + "%")" as SQLQueryString }.joined(separator: " OR ")
        let named = try await store.sql.raw("""
            SELECT id FROM events WHERE workspace_id = \(bind: workspace) AND type LIKE 'contact.%' AND (\(mentions))
            """).all().map { try $0.decode(column: "id", as: UUID.self) }
        let (tally, hashes) = try await store.write { tx -> (Tally, [String]) in
            try await tx.lockWorkspace(workspace)
            let holding = try await Self.holding(contactID, workspace: workspace, on: tx.db)
            let hashes = try await Self.anonymise(conversations: holding.conversations, workspace: workspace, in: tx)
            // Rate limits name addresses for a few minutes (`form:contact:<email>`): those go now.
            let addresses = Set(holding.identities.map(\.value) + ([holding.contact] + holding.merged).flatMap { [$0.email, $0.phone].compactMap { $0 } })
            for address in addresses {
                try await tx.sql.raw("DELETE FROM rate_events WHERE LOWER(key) LIKE \(bind: "%:" + address.lowercased())").run()
            }
            for contact in [holding.contact] + holding.merged {
                contact.name = nil
                contact.email = nil
                contact.phone = nil
                contact.documentID = nil
                contact.attributes = [:]
                contact.labels = []
                contact.erasedAt = tx.now
                contact.updatedAt = tx.now
                try await contact.save(on: tx.db)
            }
            let list = Self.list(holding.contactIDs)
            for statement: SQLQueryString in [
                "DELETE FROM contact_identities WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
                "DELETE FROM duplicate_suggestions WHERE workspace_id = \(bind: workspace) AND (contact_id IN (\(list)) OR other_contact_id IN (\(list)))",
                "UPDATE surveys SET comment = NULL WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
                "UPDATE compensations SET reason = '', message = NULL, decision_note = NULL WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
                "UPDATE at_risk SET detail = '', note = NULL WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
            ] {
                try await tx.sql.raw(statement).run()
            }
            let found: SQLQueryString = named.isEmpty ? "1 = 0" : "id IN (\(Self.list(named)))"
            let mentions = holding.contactIDs.map { "payload LIKE \(bind: "%" + $0.uuidString + "%")" as SQLQueryString }.joined(separator: " OR ")
            try await Self.scrubEvents(where: "(\(found) OR (seq > \(bind: seen) AND type LIKE 'contact.%' AND (\(mentions))))",
                                       workspace: workspace, in: tx)
            try await EventLog.append(.contactErased, workspace: workspace, actor: actor, payload: RecordEventPayload(id: contactID), in: tx)
            return (holding.tally, hashes)
        }
        try await removeUnreferenced(hashes)
        try await checkpoint()
        return tally
    }

    /// Blanks what was said in these conversations, keeping them and their messages as anonymous rows; deletes their
    /// attachments' rows and returns the files' hashes (removed after commit when nothing else holds them).
    static func anonymise(conversations: [Conversation], workspace: UUID, in tx: WriteTransaction) async throws -> [String] {
        var hashes: [String] = []
        var named: Set<String> = []
        for chunk in conversations.chunked(400) {
            let ids = Self.list(chunk.compactMap(\.id))
            let numbers = chunk.map { "\(bind: $0.number)" as SQLQueryString }.joined(separator: ", ")
            let messages = "SELECT id FROM messages WHERE conversation_id IN (\(ids))" as SQLQueryString
            hashes += try await tx.sql.raw("SELECT sha256 FROM attachments WHERE message_id IN (\(messages))").all()
                .map { try $0.decode(column: "sha256", as: String.self) }
            for statement: SQLQueryString in [
                "DELETE FROM attachments WHERE message_id IN (\(messages))",
                """
                UPDATE messages SET text = '', provider_message_id = NULL, delivery_error = NULL, template = NULL
                WHERE workspace_id = \(bind: workspace) AND conversation_id IN (\(ids))
                """,
                """
                UPDATE conversations SET subject = NULL, participants = NULL, provider_thread_id = NULL
                WHERE workspace_id = \(bind: workspace) AND id IN (\(ids))
                """,
                "UPDATE surveys SET comment = NULL WHERE workspace_id = \(bind: workspace) AND conversation_id IN (\(ids))",
                """
                UPDATE compensations SET reason = '', message = NULL, decision_note = NULL
                WHERE workspace_id = \(bind: workspace) AND conversation_id IN (\(ids))
                """,
                "UPDATE at_risk SET detail = '', note = NULL WHERE workspace_id = \(bind: workspace) AND conversation_id IN (\(ids))",
                // A reminder or a message still to go would speak of (or to) someone who is no longer there.
                "DELETE FROM follow_ups WHERE workspace_id = \(bind: workspace) AND conversation_id IN (\(ids)) AND done_at IS NULL",
                "UPDATE follow_ups SET text = NULL WHERE workspace_id = \(bind: workspace) AND conversation_id IN (\(ids))",
                "UPDATE notifications SET excerpt = '' WHERE workspace_id = \(bind: workspace) AND conversation_number IN (\(numbers))",
            ] {
                try await tx.sql.raw(statement).run()
            }
            try await scrubEvents(where: "conversation_id IN (\(ids))", workspace: workspace, in: tx)
            let messageIDs = try await tx.sql.raw(messages).all().map { try $0.decode(column: "id", as: UUID.self) }
            named.formUnion((chunk.compactMap(\.id) + messageIDs).map { $0.uuidString.lowercased() })
        }
        // Sends, webhooks and timers still queued for these conversations or their messages.
        guard !named.isEmpty else { return hashes }
        let queued = try await tx.sql.raw("SELECT id, payload FROM jobs WHERE workspace_id = \(bind: workspace)").all()
        let doomed = try queued.filter { row in
            let payload = try row.decode(column: "payload", as: String.self).lowercased()
            return named.contains { payload.contains($0) }
        }.map { try $0.decode(column: "id", as: UUID.self) }
        if !doomed.isEmpty { try await tx.sql.raw("DELETE FROM jobs WHERE id IN (\(list(doomed)))").run() }
        return hashes
    }

    /// Fields of event payloads that hold what a person said or how to reach them, as text: they become empty strings.
    static let personalText: Set<String> = ["text", "subject", "name", "email", "phone", "document_id", "comment", "excerpt", "thread_id",
                                            "provider_message_id", "delivery_error", "filename", "message", "note", "decision_note", "detail"]
    /// …and as lists or objects: they become empty ones. A payload still decodes, so a metrics rebuild still counts it.
    static let personalCollections: Set<String> = ["attributes", "identities", "participants", "parameters"]

    static func scrubEvents(where condition: SQLQueryString, workspace: UUID, in tx: WriteTransaction) async throws {
        let rows = try await tx.sql.raw("SELECT id, payload FROM events WHERE workspace_id = \(bind: workspace) AND \(condition)").all()
        for row in rows {
            let payload = try row.decode(column: "payload", as: String.self)
            guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) else { continue }
            var changed = false
            let blanked = blank(object, changed: &changed)
            guard changed else { continue }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: blanked, options: [.withoutEscapingSlashes]), as: UTF8.self)
            try await tx.sql.raw("UPDATE events SET payload = \(bind: json) WHERE id = \(bind: try row.decode(column: "id", as: UUID.self))").run()
        }
    }

    /// The JSON value with its personal fields emptied; `changed` tells whether any was not empty already.
    static func blank(_ value: Any, changed: inout Bool) -> Any {
        if let array = value as? [Any] { return array.map { blank($0, changed: &changed) } }
        guard let object = value as? [String: Any] else { return value }
        var result: [String: Any] = [:]
        for (key, field) in object {
            if personalText.contains(key), let text = field as? String {
                if !text.isEmpty { changed = true }
                result[key] = ""
            } else if personalCollections.contains(key), let list = field as? [Any] {
                if !list.isEmpty { changed = true }
                result[key] = [Any]()
            } else if personalCollections.contains(key), let map = field as? [String: Any] {
                if !map.isEmpty { changed = true }
                result[key] = [String: Any]()
            } else {
                result[key] = blank(field, changed: &changed)
            }
        }
        return result
    }

    /// Removes the files no attachment row holds any more (another message may hold the same bytes).
    func removeUnreferenced(_ hashes: [String]) async throws {
        for hash in Set(hashes) {
            let held = try await store.sql.raw("SELECT 1 AS held FROM attachments WHERE sha256 = \(bind: hash) LIMIT 1").first()
            if held == nil { try? FileManager.default.removeItem(at: files.path(for: hash)) }
        }
    }

    /// On SQLite, writes the log back into the database file and empties it, so no older page with the words survives.
    func checkpoint() async throws {
        guard store.dialect == .sqlite else { return }
        _ = try? await store.sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").all()
    }

    static func list(_ ids: [UUID]) -> SQLQueryString {
        ids.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")
    }
}
