import FluentKit
import SQLKit

/// What an import wrote, by source and source id (`Importer`): a rerun skips it.
struct CreateImportRecords: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("import_records")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("source", .string, .required)
            .field("kind", .string, .required)
            .field("source_id", .string, .required)
            .field("target_id", .uuid, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "workspace_id", "source", "kind", "source_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("import_records").delete()
    }
}

/// When a conversation was imported: it stays out of the service-level clocks and routing until it lives again.
struct AddConversationImportedAt: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("conversations").field("imported_at", .datetime).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("conversations").deleteField("imported_at").update()
    }
}

/// The imports started from the admin pages (`ImportRuns`), with their reports; `slices` counts the slices done, so
/// that only one chain of slices goes on.
struct CreateImportRuns: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("import_runs")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("format", .string, .required)
            .field("inbox_id", .uuid, .required)
            .field("dry_run", .bool, .required)
            .field("status", .string, .required)
            .field("slices", .int, .required)
            .field("report", .string)
            .field("error", .string)
            .field("actor_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("finished_at", .datetime)
            .create()
        try await db.createIndex("import_runs_workspace", on: "import_runs", "workspace_id", "created_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("import_runs").delete()
    }
}
