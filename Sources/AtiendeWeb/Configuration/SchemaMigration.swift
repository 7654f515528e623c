import AtiendeCore
import Fluent
import FluentPostgresDriver
import SQLKit
import Vapor

/// Brings the schema up to date. On PostgreSQL an advisory lock makes instances that start together take
/// turns, so each migration runs exactly once; SQLite has a single writer already.
public enum SchemaMigration {
    static let lockKey: Int64 = 0x4154_4945_4E44 // "ATIEND"

    public static func run(_ app: Application) async throws {
        guard app.atiende.store.dialect == .postgres else {
            try await app.autoMigrate()
            return
        }
        try await app.db.withConnection { conn in
            guard let sql = conn as? any SQLDatabase else { return }
            try await sql.raw("SELECT pg_advisory_lock(\(bind: lockKey))").run()
            do {
                try await app.autoMigrate()
            } catch {
                try? await sql.raw("SELECT pg_advisory_unlock(\(bind: lockKey))").run()
                throw error
            }
            try await sql.raw("SELECT pg_advisory_unlock(\(bind: lockKey))").run()
        }
    }
}
