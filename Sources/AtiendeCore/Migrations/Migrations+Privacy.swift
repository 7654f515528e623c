import FluentKit
import SQLKit

/// Erasure and retention: when a contact's data was erased, each inbox's retention policy and when it anonymised a
/// conversation, and on SQLite search indexes that forget deleted words for good (FTS5's `secure-delete`: without it a
/// deleted row's terms stay in the index's older segments until they are merged), and the events of a conversation by
/// an index.
struct AddPrivacy: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("contacts").field("erased_at", .datetime).update()
        try await db.schema("inboxes").field("retention", .string).update()
        try await db.schema("conversations").field("anonymised_at", .datetime).update()
        // A conversation's events, found without reading the whole log: what erasure and retention blank.
        try await db.createIndex("events_conversation", on: "events", "conversation_id")
        guard let sql = db as? any SQLDatabase, sql.dialect.name == "sqlite" else { return }
        for table in ["message_search", "contact_search"] {
            try await sql.raw("INSERT INTO \(unsafeRaw: table)(\(unsafeRaw: table), rank) VALUES ('secure-delete', 1)").run()
        }
    }

    func revert(on db: any Database) async throws {
        if let sql = db as? any SQLDatabase { try await sql.raw("DROP INDEX events_conversation").run() }
        try await db.schema("contacts").deleteField("erased_at").update()
        try await db.schema("inboxes").deleteField("retention").update()
        try await db.schema("conversations").deleteField("anonymised_at").update()
    }
}
