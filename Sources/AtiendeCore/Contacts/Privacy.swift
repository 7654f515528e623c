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
        public var followUps: [FollowUp] = []
        public var atRisk: [AtRiskEntry] = []

        public var contactIDs: [UUID] { ([contact] + merged).compactMap(\.id) }

        /// Every email and phone by which the contact (or one merged into it) is known.
        public var addresses: [String] {
            Array(Set(identities.filter { $0.kind == .email || $0.kind == .phone }.map(\.value)
                      + ([contact] + merged).flatMap { [$0.email, $0.phone].compactMap { $0 } })).sorted()
        }

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
        let followUps = conversationIDs.isEmpty ? [] : try await FollowUp.query(on: db).filter(\.$workspace.$id == workspace)
            .filter(\.$conversationID ~~ conversationIDs).sort(\.$createdAt).all()
        let atRisk = try await AtRiskEntry.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$contactID ~~ ids).sort(\.$createdAt).all()
        return Holding(contact: contact, merged: merged, identities: identities, conversations: conversations, messages: messages,
                       surveys: surveys, compensations: compensations, followUps: followUps, atRisk: atRisk)
    }

    /// The export's document: everything held, in the shapes the API uses.
    public struct Export: Encodable, Sendable {
        public struct ExportedConversation: Encodable, Sendable {
            var conversation: ConversationSnapshot
            /// The other addresses of an email thread (its copies).
            var participants: [String]
            var messages: [MessageSnapshot]
        }

        /// A reminder or message an agent set on one of their conversations.
        public struct ExportedFollowUp: Encodable, Sendable {
            var conversationID: UUID
            var kind: String
            var dueAt: Date
            var text: String?
            var doneAt: Date?
            enum CodingKeys: String, CodingKey { case kind, text, conversationID = "conversation_id", dueAt = "due_at", doneAt = "done_at" }
        }

        /// Why the desk thought the customer was unhappy, and what was done.
        public struct ExportedAtRisk: Encodable, Sendable {
            var conversationID: UUID
            var kind: String
            var detail: String
            var note: String?
            var createdAt: Date
            enum CodingKeys: String, CodingKey { case kind, detail, note, conversationID = "conversation_id", createdAt = "created_at" }
        }

        var exportedAt: Date
        var workspace: UUID
        var contact: ContactSnapshot
        var mergedContacts: [ContactSnapshot]
        var conversations: [ExportedConversation]
        var surveys: [SurveySnapshot]
        var compensations: [CompensationSnapshot]
        var followUps: [ExportedFollowUp]
        var atRisk: [ExportedAtRisk]
        var counts: Tally

        enum CodingKeys: String, CodingKey {
            case workspace, contact, conversations, surveys, compensations, counts
            case followUps = "follow_ups", atRisk = "at_risk"
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
                .init(conversation: c.snapshot, participants: c.participants, messages: (byConversation[c.id ?? UUID()] ?? []).map { $0.snapshot() })
            },
            surveys: try holding.surveys.map { try $0.snapshot }, compensations: holding.compensations.map(\.snapshot),
            followUps: holding.followUps.map { .init(conversationID: $0.conversationID, kind: $0.kind.rawValue, dueAt: $0.dueAt, text: $0.text, doneAt: $0.doneAt) },
            atRisk: holding.atRisk.map { .init(conversationID: $0.conversationID, kind: $0.kind.rawValue, detail: $0.detail, note: $0.note, createdAt: $0.createdAt) },
            counts: holding.tally)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(document)
        let files = holding.messages.flatMap { $0.$attachments.value ?? [] }.map { file in
            ExportFile(path: "files/\((file.id ?? UUID()).uuidString.lowercased())/\(Ingest.safeFilename(file.filename))", sha256: file.sha256)
        }
        try await store.write { tx in
            try await EventLog.append(.contactExported, workspace: workspace, actor: actor, payload: RecordEventPayload(id: contactID), in: tx)
        }
        return (data, files)
    }

    /// Erases a contact (and the contacts merged into it) as the type explains, in one transaction with its audit entry;
    /// returns what went. The attachments' files are removed after the commit.
    @discardableResult
    public func erase(_ contactID: UUID, workspace: UUID, actor: UUID?) async throws -> Tally {
        // The contact's own events (created, updated, merged, duplicate suggested) name it only in their payload: they are
        // looked for before the write, so the log is read outside the writer; the write looks again only past `seen`.
        let before = try await Self.holding(contactID, workspace: workspace, on: store.db)
        let seen = try await EventLog.lastID(workspace: workspace, on: store.sql)
        let found = try await Self.events(naming: before, workspace: workspace, after: 0, on: store.sql)
        let (tally, hashes) = try await store.write { tx -> (Tally, [String]) in
            try await tx.lockWorkspace(workspace)
            let holding = try await Self.holding(contactID, workspace: workspace, on: tx.db)
            let hashes = try await Self.anonymise(conversations: holding.conversations, workspace: workspace, in: tx)
            let addresses = holding.addresses
            // The contact form's limit names the customer's email for ten minutes (`form:contact:<email>`): it goes now.
            // Only that key: the sign-in limits name members' accounts, which an erasure must not reset.
            let emails = addresses.filter { $0.contains("@") }
            if !emails.isEmpty {
                try await tx.sql.raw("DELETE FROM rate_events WHERE key IN (\(IngestBatch.list(emails.map { "form:contact:" + $0 })))").run()
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
            let list = IngestBatch.list(holding.contactIDs)
            for statement: SQLQueryString in [
                "DELETE FROM contact_identities WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
                "DELETE FROM duplicate_suggestions WHERE workspace_id = \(bind: workspace) AND (contact_id IN (\(list)) OR other_contact_id IN (\(list)))",
                "UPDATE surveys SET comment = NULL WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
                "UPDATE compensations SET reason = '', message = NULL, decision_note = NULL WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
                "UPDATE at_risk SET detail = '', note = NULL WHERE workspace_id = \(bind: workspace) AND contact_id IN (\(list))",
            ] {
                try await tx.sql.raw(statement).run()
            }
            let later = try await Self.events(naming: holding, workspace: workspace, after: seen, on: tx.sql)
            let own = found.own + later.own, mentioning = found.mentioning + later.mentioning
            if !own.isEmpty { try await Self.scrubEvents(where: "id IN (\(IngestBatch.list(own)))", workspace: workspace, in: tx) }
            // Her address where someone else's record holds it too (typed on another contact, a failed send's reason).
            let plain = addresses.filter { !$0.contains("\"") && !$0.contains("\\") }
            for row in mentioning.isEmpty ? [] : try await tx.sql.raw("SELECT id, payload FROM events WHERE id IN (\(IngestBatch.list(mentioning)))").all() {
                let payload = plain.reduce(try row.decode(column: "payload", as: String.self)) { $0.replacingOccurrences(of: $1, with: "") }
                try await tx.sql.raw("UPDATE events SET payload = \(bind: payload) WHERE id = \(bind: try row.decode(column: "id", as: UUID.self))").run()
            }
            for (column, values) in [("email", addresses.filter { $0.contains("@") }), ("phone", addresses.filter { !$0.contains("@") })]
            where !values.isEmpty {
                try await tx.sql.raw("""
                    UPDATE contacts SET \(ident: column) = NULL
                    WHERE workspace_id = \(bind: workspace) AND \(ident: column) IN (\(IngestBatch.list(values))) AND id NOT IN (\(list))
                    """).run()
            }
            try await EventLog.append(.contactErased, workspace: workspace, actor: actor, payload: RecordEventPayload(id: contactID), in: tx)
            return (holding.tally, hashes)
        }
        try await removeUnreferenced(hashes)
        try await checkpoint()
        return tally
    }

    /// The events outside the contact's conversations that hold their data, after `seq` (0: the whole log): their own
    /// (created, updated, merged, a duplicate suggested — when the snapshot in it is theirs), blanked like a conversation's;
    /// and any other that holds one of their addresses (another contact who typed it, a failed send's reason), from which
    /// only the address is taken.
    static func events(naming holding: Holding, workspace: UUID, after seq: Int64, on sql: any SQLDatabase) async throws
        -> (own: [UUID], mentioning: [UUID]) {
        let ids = Set(holding.contactIDs)
        let mentions = holding.contactIDs.map { "payload LIKE \(bind: "%" + $0.uuidString + "%")" as SQLQueryString }
        let named = holding.addresses.map { "payload LIKE \(bind: "%" + $0 + "%")" as SQLQueryString }
        let rows = try await sql.raw("""
            SELECT id, type, payload FROM events WHERE workspace_id = \(bind: workspace) AND seq > \(bind: seq)
              AND ((type LIKE 'contact.%' AND (\(IngestBatch.or(mentions)))) OR \(IngestBatch.or(named)))
            """).all()
        var own: [UUID] = [], mentioning: [UUID] = []
        for row in rows {
            let id = try row.decode(column: "id", as: UUID.self)
            let payload = try row.decode(column: "payload", as: String.self)
            if try row.decode(column: "type", as: String.self).hasPrefix("contact."),
               let contact = JSON.decode(ContactEventPayload.self, from: payload)?.contact, ids.contains(contact.id) {
                own.append(id)
            } else if holding.addresses.contains(where: { payload.contains($0) }) {
                mentioning.append(id)
            }
        }
        return (own, mentioning)
    }

    /// Blanks what was said in these conversations, keeping them and their messages as anonymous rows; deletes their
    /// attachments' rows and returns the files' hashes (removed after commit when nothing else holds them).
    static func anonymise(conversations: [Conversation], workspace: UUID, in tx: WriteTransaction) async throws -> [String] {
        var hashes: [String] = []
        var named: Set<String> = []
        for chunk in conversations.chunked(400) {
            let ids = IngestBatch.list(chunk.compactMap(\.id))
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
                UPDATE conversations SET subject = NULL, participants = NULL, provider_thread_id = NULL,
                    anonymised_at = COALESCE(anonymised_at, \(bind: tx.now))
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
            let surveyIDs = try await tx.sql.raw("SELECT id FROM surveys WHERE conversation_id IN (\(ids))").all()
                .map { try $0.decode(column: "id", as: UUID.self) }
            try await tx.sql.raw("UPDATE surveys SET status = 'skipped' WHERE conversation_id IN (\(ids)) AND status = 'scheduled'").run()
            named.formUnion((chunk.compactMap(\.id) + messageIDs + surveyIDs).map { $0.uuidString.lowercased() })
        }
        // What is still queued to go to the customer or out of the desk about these conversations: sends, follow-up
        // messages, automatic answers, surveys and webhooks carrying their words. Timers that only recompute (deadlines,
        // snoozes, notices) stay: they name no one, and one of them walks the whole workspace.
        guard !named.isEmpty else { return hashes }
        let speaking = [JobKind.send, .followUp, .autoReply, .surveySend, .ruleWebhook, .compensationWebhook].map(\.rawValue)
        let queued = try await tx.sql.raw("""
            SELECT id, payload FROM jobs WHERE workspace_id = \(bind: workspace) AND kind IN (\(IngestBatch.list(speaking)))
            """).all()
        let doomed = try queued.filter { row in
            let payload = try row.decode(column: "payload", as: String.self).lowercased()
            return named.contains { payload.contains($0) }
        }.map { try $0.decode(column: "id", as: UUID.self) }
        if !doomed.isEmpty { try await tx.sql.raw("DELETE FROM jobs WHERE id IN (\(IngestBatch.list(doomed)))").run() }
        return hashes
    }

    /// Fields of event payloads that hold what a person said or how to reach them, as text: they become empty strings.
    static let personalText: Set<String> = ["text", "subject", "name", "email", "phone", "document_id", "comment", "excerpt", "thread_id",
                                            "provider_message_id", "delivery_error", "filename", "message", "note", "decision_note", "detail",
                                            "reason"]
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
            } else if key == "contact", var snapshot = field as? [String: Any] {
                // A contact's labels are about them; a conversation's labels are the desk's, and feed the reports.
                if let labels = snapshot["labels"] as? [Any], !labels.isEmpty { changed = true }
                if snapshot["labels"] != nil { snapshot["labels"] = [Any]() }
                result[key] = blank(snapshot, changed: &changed)
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
}
