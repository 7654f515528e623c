import FluentKit

/// The team's tools at the reply box: canned responses and macros.
struct CreateCannedResponses: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("canned_responses")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("owner_id", .uuid, .references("users", "id", onDelete: .cascade))
            .field("shortcut", .string, .required)
            .field("title", .string, .required)
            .field("variants", .dictionary(of: .string), .required)
            .field("use_count", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await db.createIndex("canned_responses_shortcut", on: "canned_responses", "workspace_id", "shortcut")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("canned_responses").delete()
    }
}

struct CreateMacros: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("macros")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("owner_id", .uuid, .references("users", "id", onDelete: .cascade))
            .field("name", .string, .required)
            .field("actions", .string, .required)
            .field("use_count", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await db.createIndex("macros_workspace", on: "macros", "workspace_id", "name")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("macros").delete()
    }
}
