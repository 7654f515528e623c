import Foundation
import SQLKit

/// Plain-SQL pieces of the ingest path, for both dialects. Ingest is the hottest write in the product and runs
/// inside SQLite's single writer, where Fluent's per-model reflection costs ten times the query itself.
enum IngestSQL {
    static func nameContact(_ id: UUID, name: String, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            UPDATE contacts SET name = \(bind: name), updated_at = \(bind: tx.now) WHERE id = \(bind: id) AND name IS NULL
            """).run()
    }

    /// A known contact writes from a new address or number: it becomes their email or phone when they had none, so the
    /// profile and search show it.
    static func fillContact(_ id: UUID, email: String?, phone: String?, in tx: WriteTransaction) async throws {
        for (column, value) in [("email", email), ("phone", phone)] {
            guard let value else { continue }
            try await tx.sql.raw("""
                UPDATE contacts SET \(unsafeRaw: column) = \(bind: value), updated_at = \(bind: tx.now)
                WHERE id = \(bind: id) AND \(unsafeRaw: column) IS NULL
                """).run()
        }
    }

    /// Rows given as `(…)` tuples, at most 1000 to a statement: with a dozen values a row that stays under SQLite's
    /// 32,766 bound values and PostgreSQL's 65,535. Nothing is run for no rows.
    static func insertRows(_ head: SQLQueryString, _ rows: [SQLQueryString], on sql: any SQLDatabase) async throws {
        for part in rows.chunked(1000) where !part.isEmpty {
            try await sql.raw(head + part.dropFirst().reduce(part[0]) { $0 + ", " + $1 }).run()
        }
    }

    static let conversationColumns = """
        id, number, inbox_id, contact_id, channel, status, priority, assignee_id, team_id, labels, contact_reason, subject,
        provider_thread_id, snoozed_until, created_at, updated_at, last_message_at, waiting_since, first_response_at,
        resolved_at, message_count
        """

    /// The conversation row, written out column by column in this one place (ingest's new conversations, the demo's
    /// history): the snapshot's columns, then those only the table keeps.
    static func insertConversations(_ rows: [(conversation: ConversationSnapshot, workspaceID: UUID, lastIncomingAt: Date?)],
                                    dialect: DatabaseDialect, on sql: any SQLDatabase) async throws {
        guard !rows.isEmpty else { return }
        let values: [SQLQueryString] = rows.map { row in
            let c = row.conversation
            let labels: SQLQueryString = dialect == .postgres
                ? "\(bind: c.labels)" : "\(bind: String(decoding: (try? JSONEncoder().encode(c.labels)) ?? Data("[]".utf8), as: UTF8.self))"
            return """
                (\(bind: c.id), \(bind: c.number), \(bind: c.inboxID), \(bind: c.contactID), \(bind: c.channel.rawValue), \(bind: c.status.rawValue),
                 \(bind: c.priority.rawValue), \(bind: c.assigneeID), \(bind: c.teamID),
                """ + labels + """
                , \(bind: c.contactReason), \(bind: c.subject), \(bind: c.threadID), \(bind: c.snoozedUntil), \(bind: c.createdAt),
                 \(bind: c.updatedAt), \(bind: c.lastMessageAt), \(bind: c.waitingSince), \(bind: c.firstResponseAt), \(bind: c.resolvedAt),
                 \(bind: c.messageCount), \(bind: row.workspaceID), \(bind: c.priority.rank), \(bind: row.lastIncomingAt))
                """
        }
        try await sql.raw("""
            INSERT INTO conversations (\(unsafeRaw: conversationColumns), workspace_id, priority_rank, last_incoming_at)
            VALUES \(values.joined(separator: ", "))
            """).run()
    }

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
}

extension WriteTransaction {
    /// Literals for an empty JSON object and an empty string array, as each dialect stores them.
    var emptyObjectLiteral: String { store.dialect == .postgres ? "'{}'::jsonb" : "'{}'" }
    var emptyArrayLiteral: String { store.dialect == .postgres ? "'{}'::text[]" : "'[]'" }
}

/// What a channel needs to accept a message for an inbox, read in one plain query (it runs on every webhook).
/// Answers are kept for `ttl` seconds: webhooks then skip the database read, which on SQLite competes with the
/// single writer for its two connections. Changes made through this instance invalidate at once; other
/// instances (PostgreSQL) see them within `ttl`.
public final class InboxLookup: @unchecked Sendable {
    /// An inbox ready to accept a message: the model, the workspace's country code and the opened secrets
    /// (decrypted once per cache entry, not on every webhook).
    public struct Found: Sendable {
        public let inbox: Inbox
        public let countryCode: String?
        public let secrets: [String: String]
    }

    public static let ttl: TimeInterval = 2
    private let store: Store
    private let box: SecretBox
    private let lock = NSLock()
    private var cache: [UUID: (found: Found, until: Date)] = [:]

    public init(store: Store, secrets: SecretBox) {
        self.store = store
        self.box = secrets
    }

    public func forIngest(_ id: UUID) async throws -> Found? {
        let now = Date()
        if let hit = lock.withLock({ cache[id] }), hit.until > now { return hit.found }
        guard let found = try await load(id) else { return nil }
        lock.withLock {
            if cache.count > 10_000 { cache.removeAll() }
            cache[id] = (found, now.addingTimeInterval(Self.ttl))
        }
        return found
    }

    public func invalidate(_ id: UUID) {
        _ = lock.withLock { cache.removeValue(forKey: id) }
    }

    private func load(_ id: UUID) async throws -> Found? {
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
        return Found(inbox: inbox, countryCode: try row.decode(column: "default_country_code", as: String?.self),
                     secrets: try inbox.secrets(with: box))
    }
}
