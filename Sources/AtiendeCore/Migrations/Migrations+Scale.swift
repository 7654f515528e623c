import FluentKit
import SQLKit

/// The inbox's live counts, kept by the database in the transaction that changes a conversation (`InboxCounts`).
struct CreateInboxCounts: AsyncMigration {
    func prepare(on db: any Database) async throws {
        // One transaction, so that no conversation changed between the count and the triggers goes uncounted (another
        // instance may still be serving on PostgreSQL), and a failure leaves nothing behind.
        try await db.transaction { tx in
            guard let sql = tx as? any SQLDatabase else { return }
            try await InboxCounts.create(on: sql)
            try await InboxCounts.rebuild(on: sql)
        }
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await InboxCounts.drop(on: sql)
    }
}

/// The sorts that put rows without a value last, read in index order: "waiting longest" (those waiting first, the
/// longest wait first) and "SLA due" (soonest deadline first) — `InboxQuery.Sort`.
struct CreateSortIndexes: AsyncMigration {
    static let indexes = [("conversations_workspace_waiting", "waiting_since"), ("conversations_workspace_sla_order", "sla_due_at")]

    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        for (name, column) in Self.indexes {
            try await sql.raw("""
                CREATE INDEX \(unsafeRaw: name) ON conversations (workspace_id, status, (\(unsafeRaw: column) IS NULL), \(unsafeRaw: column), number)
                """).run()
        }
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        for (name, _) in Self.indexes { try await sql.raw("DROP INDEX \(unsafeRaw: name)").run() }
    }
}
