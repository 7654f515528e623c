import Foundation
import SQLKit

/// The ingest path's statements, in plain SQL for both dialects. Ingest is the hottest write in the product and
/// runs inside SQLite's single writer, where Fluent's per-model reflection cost ten times the query itself.
enum IngestSQL {
    struct Duplicate { var messageID: UUID; var conversationID: UUID; var number: Int; var contactID: UUID }

    static func duplicate(inbox: UUID, providerID: String, in tx: WriteTransaction) async throws -> Duplicate? {
        guard let row = try await tx.sql.raw("""
            SELECT m.id AS message_id, c.id AS conversation_id, c.number AS number, c.contact_id AS contact_id
            FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.inbox_id = \(bind: inbox) AND m.provider_message_id = \(bind: providerID)
            """).first() else { return nil }
        return Duplicate(messageID: try row.decode(column: "message_id", as: UUID.self),
                         conversationID: try row.decode(column: "conversation_id", as: UUID.self),
                         number: try row.decode(column: "number", as: Int.self),
                         contactID: try row.decode(column: "contact_id", as: UUID.self))
    }

    struct IdentityMatch { var kind: IdentityKind; var value: String; var contactID: UUID; var nameless: Bool }

    static func identities(_ identities: [IdentitySnapshot], workspace: UUID, in tx: WriteTransaction) async throws -> [IdentityMatch] {
        var alternatives: [SQLQueryString] = []
        for identity in identities {
            alternatives.append("(ci.kind = \(bind: identity.kind.rawValue) AND ci.value = \(bind: identity.value))")
        }
        let rows = try await tx.sql.raw("""
            SELECT ci.kind AS kind, ci.value AS value, ci.contact_id AS contact_id,
                   CASE WHEN c.name IS NULL THEN 1 ELSE 0 END AS nameless
            FROM contact_identities ci JOIN contacts c ON c.id = ci.contact_id
            WHERE ci.workspace_id = \(bind: workspace) AND (\(alternatives.joined(separator: " OR ")))
            """).all()
        return try rows.map { row in
            IdentityMatch(kind: IdentityKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .external,
                          value: try row.decode(column: "value", as: String.self),
                          contactID: try row.decode(column: "contact_id", as: UUID.self),
                          nameless: try row.decode(column: "nameless", as: Int.self) == 1)
        }
    }

    static func nameContact(_ id: UUID, name: String, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            UPDATE contacts SET name = \(bind: name), updated_at = \(bind: tx.now) WHERE id = \(bind: id) AND name IS NULL
            """).run()
    }

    static func insertContact(_ id: UUID, workspace: UUID, name: String?, email: String?, phone: String?,
                              in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO contacts (id, workspace_id, name, email, phone, attributes, labels, created_at, updated_at)
            VALUES (\(bind: id), \(bind: workspace), \(bind: name), \(bind: email), \(bind: phone),
                    \(unsafeRaw: tx.emptyObjectLiteral), \(unsafeRaw: tx.emptyArrayLiteral), \(bind: tx.now), \(bind: tx.now))
            """).run()
    }

    static func insertIdentity(_ identity: IdentitySnapshot, contact: UUID, workspace: UUID, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO contact_identities (id, workspace_id, contact_id, kind, value, created_at)
            VALUES (\(bind: UUID()), \(bind: workspace), \(bind: contact), \(bind: identity.kind.rawValue),
                    \(bind: identity.value), \(bind: tx.now))
            """).run()
    }

    static let conversationColumns = """
        id, number, inbox_id, contact_id, channel, status, priority, assignee_id, team_id, labels, contact_reason, subject,
        provider_thread_id, snoozed_until, created_at, updated_at, last_message_at, waiting_since, first_response_at,
        resolved_at, message_count
        """

    static func conversation(_ row: any SQLRow, dialect: DatabaseDialect) throws -> ConversationSnapshot {
        let labels: [String]
        switch dialect {
        case .postgres: labels = try row.decode(column: "labels", as: [String].self)
        case .sqlite: labels = try JSONDecoder().decode([String].self, from: Data(try row.decode(column: "labels", as: String.self).utf8))
        }
        return ConversationSnapshot(
            id: try row.decode(column: "id", as: UUID.self), number: try row.decode(column: "number", as: Int.self),
            inboxID: try row.decode(column: "inbox_id", as: UUID.self), contactID: try row.decode(column: "contact_id", as: UUID.self),
            channel: ChannelKind(rawValue: try row.decode(column: "channel", as: String.self)) ?? .api,
            status: ConversationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
            priority: Priority(rawValue: try row.decode(column: "priority", as: String.self)) ?? .none,
            assigneeID: try row.decode(column: "assignee_id", as: UUID?.self), teamID: try row.decode(column: "team_id", as: UUID?.self),
            labels: labels, contactReason: try row.decode(column: "contact_reason", as: String?.self),
            subject: try row.decode(column: "subject", as: String?.self), threadID: try row.decode(column: "provider_thread_id", as: String?.self),
            snoozedUntil: try row.decode(column: "snoozed_until", as: Date?.self), createdAt: try row.decode(column: "created_at", as: Date.self),
            updatedAt: try row.decode(column: "updated_at", as: Date.self), lastMessageAt: try row.decode(column: "last_message_at", as: Date.self),
            waitingSince: try row.decode(column: "waiting_since", as: Date?.self),
            firstResponseAt: try row.decode(column: "first_response_at", as: Date?.self),
            resolvedAt: try row.decode(column: "resolved_at", as: Date?.self), messageCount: try row.decode(column: "message_count", as: Int.self))
    }

    /// The conversation a message without a usable thread joins: the contact's active one in the inbox, else the
    /// one resolved most recently within the reopen window.
    static func findConversation(inbox: UUID, contact: UUID, threadHint: String?, reopenAfter: Date,
                                 in tx: WriteTransaction) async throws -> ConversationSnapshot? {
        let query: SQLQueryString
        if let threadHint {
            query = """
                SELECT \(unsafeRaw: conversationColumns) FROM conversations
                WHERE inbox_id = \(bind: inbox) AND contact_id = \(bind: contact) AND provider_thread_id = \(bind: threadHint)
                  AND status <> 'closed'
                ORDER BY last_message_at DESC LIMIT 1
                """
        } else {
            query = """
                SELECT \(unsafeRaw: conversationColumns) FROM conversations
                WHERE inbox_id = \(bind: inbox) AND contact_id = \(bind: contact)
                  AND (status IN ('open', 'pending', 'snoozed') OR (status = 'resolved' AND resolved_at >= \(bind: reopenAfter)))
                ORDER BY CASE WHEN status = 'resolved' THEN 1 ELSE 0 END,
                         CASE WHEN status = 'resolved' THEN resolved_at ELSE last_message_at END DESC LIMIT 1
                """
        }
        return try await tx.sql.raw(query).first().map { try conversation($0, dialect: tx.store.dialect) }
    }

    static func insertConversation(_ c: ConversationSnapshot, workspace: UUID, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO conversations (id, workspace_id, number, inbox_id, contact_id, channel, status, priority, priority_rank,
                team_id, labels, subject, provider_thread_id, created_at, updated_at, last_message_at, message_count)
            VALUES (\(bind: c.id), \(bind: workspace), \(bind: c.number), \(bind: c.inboxID), \(bind: c.contactID),
                \(bind: c.channel.rawValue), \(bind: c.status.rawValue), \(bind: c.priority.rawValue), \(bind: c.priority.rank),
                \(bind: c.teamID), \(unsafeRaw: tx.emptyArrayLiteral), \(bind: c.subject), \(bind: c.threadID),
                \(bind: c.createdAt), \(bind: c.updatedAt), \(bind: c.lastMessageAt), \(bind: c.messageCount))
            """).run()
    }

    /// Records a new customer message on the conversation (and reopens it when it was waiting or resolved).
    static func touch(_ c: ConversationSnapshot, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            UPDATE conversations SET status = \(bind: c.status.rawValue), snoozed_until = \(bind: c.snoozedUntil),
                resolved_at = \(bind: c.resolvedAt), last_message_at = \(bind: c.lastMessageAt),
                last_incoming_at = \(bind: c.lastMessageAt), waiting_since = \(bind: c.waitingSince),
                updated_at = \(bind: c.updatedAt), message_count = \(bind: c.messageCount)
            WHERE id = \(bind: c.id)
            """).run()
    }

    static func insertMessage(_ m: MessageSnapshot, workspace: UUID, inbox: UUID, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO messages (id, workspace_id, conversation_id, inbox_id, kind, sender_type, sender_id, text,
                provider_message_id, delivery_status, sent_at, created_at, updated_at)
            VALUES (\(bind: m.id), \(bind: workspace), \(bind: m.conversationID), \(bind: inbox), \(bind: m.kind.rawValue),
                \(bind: m.senderType.rawValue), \(bind: m.senderID), \(bind: m.text), \(bind: m.providerMessageID),
                \(bind: m.deliveryStatus?.rawValue), \(bind: m.sentAt), \(bind: m.createdAt), \(bind: m.createdAt))
            """).run()
    }

    static func insertAttachment(_ a: AttachmentSnapshot, message: UUID, workspace: UUID, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO attachments (id, workspace_id, message_id, filename, content_type, size, sha256, created_at)
            VALUES (\(bind: a.id), \(bind: workspace), \(bind: message), \(bind: a.filename), \(bind: a.contentType),
                \(bind: a.size), \(bind: a.sha256), \(bind: tx.now))
            """).run()
    }
}

extension WriteTransaction {
    /// Literals for an empty JSON object and an empty string array, as each dialect stores them.
    var emptyObjectLiteral: String { store.dialect == .postgres ? "'{}'::jsonb" : "'{}'" }
    var emptyArrayLiteral: String { store.dialect == .postgres ? "'{}'::text[]" : "'[]'" }
}

/// What a channel needs to accept a message for an inbox, read in one plain query (it runs on every webhook).
public enum InboxLookup {
    public static func forIngest(_ id: UUID, store: Store) async throws -> (inbox: Inbox, countryCode: String?)? {
        guard let row = try await store.sql.raw("""
            SELECT i.id AS id, i.workspace_id AS workspace_id, i.name AS name, i.channel AS channel, i.secrets AS secrets,
                   i.team_id AS team_id, i.reopen_window_seconds AS reopen_window_seconds, i.is_active AS is_active,
                   w.default_country_code AS default_country_code
            FROM inboxes i JOIN workspaces w ON w.id = i.workspace_id WHERE i.id = \(bind: id)
            """).first(),
            let channel = ChannelKind(rawValue: try row.decode(column: "channel", as: String.self))
        else { return nil }
        let inbox = Inbox(id: try row.decode(column: "id", as: UUID.self),
                          workspaceID: try row.decode(column: "workspace_id", as: UUID.self),
                          name: try row.decode(column: "name", as: String.self), channel: channel,
                          reopenWindowSeconds: try row.decode(column: "reopen_window_seconds", as: Int.self))
        inbox.sealedSecrets = try row.decode(column: "secrets", as: Data?.self)
        inbox.$team.id = try row.decode(column: "team_id", as: UUID?.self)
        inbox.isActive = try row.decode(column: "is_active", as: Bool.self)
        return (inbox, try row.decode(column: "default_country_code", as: String?.self))
    }
}
