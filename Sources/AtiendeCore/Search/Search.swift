import Foundation
import SQLKit

/// Full-text search over a workspace's messages and contacts, accent- and case-insensitive on both
/// databases ("accion" finds "acción"). Words typed by people are reduced to letters and digits before
/// they reach either engine's query syntax, so nothing typed can change the query.
public struct SearchService: Sendable {
    public static let maxTerms = 8

    public struct Filters: Sendable {
        public var status: ConversationStatus?
        public var channel: ChannelKind?
        public var inboxID: UUID?
        public init(status: ConversationStatus? = nil, channel: ChannelKind? = nil, inboxID: UUID? = nil) {
            self.status = status
            self.channel = channel
            self.inboxID = inboxID
        }
    }

    public struct MessageHit: Sendable {
        public var messageID: UUID
        public var text: String
        public var kind: MessageKind
        public var createdAt: Date
        public var conversationNumber: Int
        public var status: ConversationStatus
        public var channel: ChannelKind
        public var contactName: String?
    }

    public struct ContactHit: Sendable {
        public var id: UUID
        public var name: String?
        public var email: String?
        public var phone: String?
    }

    public struct Results: Sendable {
        public var terms: [String]
        public var conversationNumber: Int?
        public var messages: [MessageHit]
        public var contacts: [ContactHit]
    }

    let store: Store

    public init(store: Store) { self.store = store }

    /// The words of a query: runs of letters and digits, at most `maxTerms`, each at most 64 characters.
    public static func terms(_ query: String) -> [String] {
        var terms: [String] = []
        var current = ""
        for character in query.lowercased() + " " {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                terms.append(String(current.prefix(64)))
                current = ""
            }
        }
        return Array(terms.prefix(maxTerms))
    }

    /// The digits of a query that is a phone number (only digits, spaces, "+", "-", "(", ")", "."; 7 to 15 digits).
    static func phoneDigits(_ query: String) -> String? {
        guard query.allSatisfy({ $0.isASCII && ($0.isNumber || " +-().".contains($0)) }) else { return nil }
        let digits = query.filter(\.isNumber)
        return (7...15).contains(digits.count) ? digits : nil
    }

    public func search(_ query: String, workspace workspaceID: UUID, filters: Filters = .init(), limit: Int = 50) async throws -> Results {
        let terms = Self.terms(query)
        let trimmed = query.trimmingCharacters(in: .whitespaces)
        let number = Int(trimmed.hasPrefix("#") ? String(trimmed.dropFirst()) : trimmed)
        guard !terms.isEmpty else { return Results(terms: [], conversationNumber: nil, messages: [], contacts: []) }
        let sql = store.sql
        let dialect = store.dialect
        let match = SearchSQL.match(terms, dialect: dialect)

        var messageQuery: SQLQueryString
        switch dialect {
        case .sqlite:
            messageQuery = """
                SELECT m.id, m.text, m.kind, m.created_at, c.number, c.status, c.channel, ct.name AS contact_name
                FROM message_search JOIN messages m ON m.rowid = message_search.rowid
                JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
                WHERE message_search MATCH \(bind: match) AND m.workspace_id = \(bind: workspaceID) AND m.kind <> 'activity'
                """
        case .postgres:
            messageQuery = """
                SELECT m.id, m.text, m.kind, m.created_at, c.number, c.status, c.channel, ct.name AS contact_name
                FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
                WHERE to_tsvector('atiende_search', m.text) @@ to_tsquery('atiende_search', \(bind: match))
                  AND m.workspace_id = \(bind: workspaceID) AND m.kind <> 'activity'
                """
        }
        if let status = filters.status { messageQuery = messageQuery + " AND c.status = \(bind: status.rawValue)" }
        if let channel = filters.channel { messageQuery = messageQuery + " AND c.channel = \(bind: channel.rawValue)" }
        if let inbox = filters.inboxID { messageQuery = messageQuery + " AND c.inbox_id = \(bind: inbox)" }
        // Newest first. On SQLite the FTS index's own rowid order (the order messages were stored) avoids sorting every match.
        let order = dialect == .sqlite ? "message_search.rowid DESC" : "m.created_at DESC"
        messageQuery = messageQuery + " ORDER BY \(unsafeRaw: order) LIMIT \(unsafeRaw: String(limit))"
        let messages = try await sql.raw(messageQuery).all().map { row in
            MessageHit(
                messageID: try row.decode(column: "id", as: UUID.self), text: try row.decode(column: "text", as: String.self),
                kind: MessageKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .incoming,
                createdAt: try row.decode(column: "created_at", as: Date.self),
                conversationNumber: try row.decode(column: "number", as: Int.self),
                status: ConversationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                channel: ChannelKind(rawValue: try row.decode(column: "channel", as: String.self)) ?? .api,
                contactName: try row.decode(column: "contact_name", as: String?.self))
        }

        let contactQuery: SQLQueryString
        switch dialect {
        case .sqlite:
            contactQuery = """
                SELECT ct.id, ct.name, ct.email, ct.phone FROM contact_search JOIN contacts ct ON ct.rowid = contact_search.rowid
                WHERE contact_search MATCH \(bind: match) AND ct.workspace_id = \(bind: workspaceID) AND ct.merged_into_id IS NULL
                ORDER BY ct.created_at DESC LIMIT 20
                """
        case .postgres:
            // Materialized so the planner matches through the GIN index first; otherwise it may walk contacts newest-first,
            // computing every contact's document (0.5 s at 100,000 contacts for a word no contact has).
            contactQuery = """
                WITH hits AS MATERIALIZED (
                  SELECT ct.id, ct.name, ct.email, ct.phone, ct.created_at FROM contacts ct
                  WHERE \(unsafeRaw: SearchSQL.contactDocument("ct.")) @@ to_tsquery('atiende_search', \(bind: match))
                    AND ct.workspace_id = \(bind: workspaceID) AND ct.merged_into_id IS NULL)
                SELECT id, name, email, phone FROM hits ORDER BY created_at DESC LIMIT 20
                """
        }
        var contacts = try await sql.raw(contactQuery).all().map { row in
            ContactHit(id: try row.decode(column: "id", as: UUID.self), name: try row.decode(column: "name", as: String?.self),
                       email: try row.decode(column: "email", as: String?.self), phone: try row.decode(column: "phone", as: String?.self))
        }
        // A phone number however it is typed ("9 1234 5678", "912345678", "+56 9 1234 5678"): its digits end the stored
        // number (kept as +56912345678).
        if let digits = Self.phoneDigits(trimmed) {
            let rows = try await sql.raw("""
                SELECT id, name, email, phone FROM contacts
                WHERE workspace_id = \(bind: workspaceID) AND merged_into_id IS NULL AND phone LIKE \(bind: "%" + digits)
                ORDER BY created_at DESC LIMIT 20
                """).all()
            for row in rows {
                let hit = ContactHit(id: try row.decode(column: "id", as: UUID.self), name: try row.decode(column: "name", as: String?.self),
                                     email: try row.decode(column: "email", as: String?.self), phone: try row.decode(column: "phone", as: String?.self))
                if !contacts.contains(where: { $0.id == hit.id }) { contacts.insert(hit, at: 0) }
            }
        }
        var found: Int?
        if let number, number > 0 {
            let row = try await sql.raw("""
                SELECT number FROM conversations WHERE workspace_id = \(bind: workspaceID) AND number = \(bind: number)
                """).first()
            found = try row?.decode(column: "number", as: Int.self)
        }
        return Results(terms: terms, conversationNumber: found, messages: messages, contacts: contacts)
    }
}

/// The search schema and query syntax of each dialect.
enum SearchSQL {
    /// The indexed text of a contact on PostgreSQL; `table` qualifies the columns in queries (the index has none). Without
    /// `table` it must read exactly as the index `CreateSearchIndex` made, or PostgreSQL will not use the index.
    static func contactDocument(_ table: String = "") -> String {
        let columns = ["name", "email", "phone", "document_id"].map { "coalesce(\(table)\($0), '')" }.joined(separator: " || ' ' || ")
        return "to_tsvector('atiende_search', \(columns))"
    }

    /// Every term as a prefix, all required. Terms are letters and digits only (`SearchService.terms`).
    static func match(_ terms: [String], dialect: DatabaseDialect) -> String {
        switch dialect {
        case .sqlite: terms.map { "\"\($0)\"*" }.joined(separator: " ")
        case .postgres: terms.map { "\($0):*" }.joined(separator: " & ")
        }
    }

}
