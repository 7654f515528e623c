import FluentKit
import SQLKit

/// The audit log's index: only the events it shows (a person's, outside any conversation), so reading the newest
/// hundred of them never walks the messages' events, and the events it does not hold cost nothing more to write.
struct CreateAuditIndex: AsyncMigration {
    static let condition = "actor_id IS NOT NULL AND conversation_id IS NULL"

    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw("CREATE INDEX events_audit ON events (workspace_id, seq) WHERE \(unsafeRaw: Self.condition)").run()
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw("DROP INDEX events_audit").run()
    }
}
