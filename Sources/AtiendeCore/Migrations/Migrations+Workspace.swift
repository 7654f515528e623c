import FluentKit
import SQLKit

/// Browser sessions, invitations, notifications and saved inbox views (the agent workspace).
struct CreateAgentWorkspace: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(AgentSession.schema)
            .id()
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("csrf_token", .string, .required)
            .field("workspace_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await db.createIndex("sessions_user", on: AgentSession.schema, "user_id")
        try await db.schema(Invitation.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("email", .string, .required)
            .field("role", .string, .required)
            .field("token_hash", .string, .required)
            .field("invited_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("accepted_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await db.schema(AgentNotification.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("kind", .string, .required)
            .field("conversation_number", .int, .required)
            .field("actor_id", .uuid)
            .field("excerpt", .string, .required)
            .field("created_at", .datetime, .required)
            .field("read_at", .datetime)
            .create()
        try await db.createIndex("notifications_user", on: AgentNotification.schema, "workspace_id", "user_id", "created_at")
        try await db.schema(SavedView.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("query", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        // The inbox's views: by status and by assignee, newest activity first.
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.drop(index: "conversations_workspace_status").run()
        try await db.createIndex("conversations_workspace_status_activity", on: Conversation.schema, "workspace_id", "status", "last_message_at")
        try await db.createIndex("conversations_workspace_assignee", on: Conversation.schema, "workspace_id", "assignee_id", "status", "last_message_at")
        try await db.createIndex("conversations_workspace_priority", on: Conversation.schema, "workspace_id", "priority_rank", "last_message_at")
        // The inbox's live counts read only this index (no table rows).
        try await db.createIndex("conversations_workspace_routing", on: Conversation.schema, "workspace_id", "status", "inbox_id", "team_id", "assignee_id")
        // The customer panel: a contact's conversations, newest first.
        try await db.createIndex("conversations_contact_activity", on: Conversation.schema, "contact_id", "last_message_at")
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.drop(index: "conversations_contact_activity").run()
        try await sql.drop(index: "conversations_workspace_routing").run()
        try await sql.drop(index: "conversations_workspace_priority").run()
        try await sql.drop(index: "conversations_workspace_assignee").run()
        try await sql.drop(index: "conversations_workspace_status_activity").run()
        try await db.createIndex("conversations_workspace_status", on: Conversation.schema, "workspace_id", "status")
        for schema in [SavedView.schema, AgentNotification.schema, Invitation.schema, AgentSession.schema] {
            try await db.schema(schema).delete()
        }
    }
}

/// Accent-insensitive full-text search over messages and contacts: FTS5 kept by triggers on SQLite,
/// expression GIN indexes with an `unaccent` text-search configuration on PostgreSQL.
struct CreateSearchIndex: AsyncMigration {
    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        for statement in SearchSQL.create(dialect: sql.dialect.name == "postgresql" ? .postgres : .sqlite) {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        for statement in SearchSQL.drop(dialect: sql.dialect.name == "postgresql" ? .postgres : .sqlite) {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }
}
