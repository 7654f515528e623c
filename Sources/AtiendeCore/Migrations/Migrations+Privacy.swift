import FluentKit
import SQLKit

/// When a contact's data was erased (`PrivacyService`).
struct AddContactErasedAt: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("contacts").field("erased_at", .datetime).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("contacts").deleteField("erased_at").update()
    }
}

/// Each inbox's retention policy (`RetentionPolicy`, as JSON), and when it (or an erasure) took a conversation's words.
struct AddRetention: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("inboxes").field("retention", .string).update()
        try await db.schema("conversations").field("anonymised_at", .datetime).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("inboxes").deleteField("retention").update()
        try await db.schema("conversations").deleteField("anonymised_at").update()
    }
}

/// A conversation's events, found without reading the whole log: what erasure and retention blank.
struct CreateEventsConversationIndex: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.createIndex("events_conversation", on: "events", "conversation_id")
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw("DROP INDEX events_conversation").run()
    }
}

/// On SQLite, search indexes that forget deleted words for good (FTS5's `secure-delete`): without it a deleted row's
/// terms stay in the index's older segments until they are merged, and so in the database file.
struct EnableSearchSecureDelete: AsyncMigration {
    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase, sql.dialect.name == "sqlite" else { return }
        for table in ["message_search", "contact_search"] {
            try await sql.raw("INSERT INTO \(unsafeRaw: table)(\(unsafeRaw: table), rank) VALUES ('secure-delete', 1)").run()
        }
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase, sql.dialect.name == "sqlite" else { return }
        for table in ["message_search", "contact_search"] {
            try await sql.raw("INSERT INTO \(unsafeRaw: table)(\(unsafeRaw: table), rank) VALUES ('secure-delete', 0)").run()
        }
    }
}

