import FluentKit
import SQLKit

/// Every schema change, in the order it must run. One migration per change, each with a revert.
public enum AtiendeMigrations {
    public static let all: [any AsyncMigration] = [
        CreateWorkspace(),
        CreateUser(),
        CreateTeam(),
        CreateInbox(),
        CreateContact(),
        CreateConversation(),
        CreateMessage(),
        CreateEvent(),
        CreateJob(),
        CreateAgentWorkspace(),
        CreateSearchIndex(),
        CreateServiceLevels(),
        CreateMessagingChannels(),
        CreateWorkingHours(),
        CreateMailboxCursors(),
        CreateAgentSignatures(),
        CreateEmailParticipants(),
        CreateEmailNotificationPreferences(),
        CreateSharedState(),
        AddServiceLevelWarnAt(),
        AddDeliveryFailureCode(),
        CreateCannedResponses(),
        CreateMacros(),
        CreateRouting(),
        CreateAutomation(),
        CreateFollowUps(),
        AddAlwaysAnswerRule(),
        AddConversationRelease(),
        CreateSurveys(),
        CreateMetricRollups(),
        CreateAtRisk(),
        CreateCompensations(),
        AddWeeklyReports(),
        CreateMetricFacts(),
        AddAccessDetails(),
        CreatePasswordResets(),
        AddTwoFactor(),
        AddTwoFactorRequirement(),
        CreateAuditIndex(),
        AddContactErasedAt(),
        AddRetention(),
        CreateEventsConversationIndex(),
        EnableSearchSecureDelete(),
        CreateImportRecords(),
        AddConversationImportedAt(),
        CreateImportRuns(),
        CreateInboxCounts(),
        CreateSortIndexes(),
    ]
}

extension Database {
    /// Creates a plain (non-unique) index on both SQLite and PostgreSQL.
    func createIndex(_ name: String, on table: String, _ columns: String...) async throws {
        guard let sql = self as? any SQLDatabase else { return }
        var builder = sql.create(index: name).on(table)
        for column in columns { builder = builder.column(column) }
        try await builder.run()
    }
}

struct CreateWorkspace: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("workspaces")
            .id()
            .field("name", .string, .required)
            .field("slug", .string, .required)
            .field("default_language", .string, .required)
            .field("time_zone", .string, .required)
            .field("default_country_code", .string)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "slug")
            .create()
        try await db.schema("workspace_counters")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("value", .int64, .required)
            .unique(on: "workspace_id", "name")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("workspace_counters").delete()
        try await db.schema("workspaces").delete()
    }
}

struct CreateUser: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("users")
            .id()
            .field("email", .string, .required)
            .field("name", .string, .required)
            .field("password_hash", .string, .required)
            .field("language", .string, .required)
            .field("time_zone", .string, .required)
            .field("is_active", .bool, .required)
            .field("password_changed_at", .datetime)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "email")
            .create()
        try await db.schema("memberships")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("users", .id, onDelete: .cascade))
            .field("role", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "user_id")
            .create()
        try await db.schema("api_tokens")
            .id()
            .field("user_id", .uuid, .required, .references("users", .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("token_hash", .string, .required)
            .field("prefix", .string, .required)
            .field("last_used_at", .datetime)
            .field("revoked_at", .datetime)
            .field("created_at", .datetime)
            .unique(on: "token_hash")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("api_tokens").delete()
        try await db.schema("memberships").delete()
        try await db.schema("users").delete()
    }
}

struct CreateTeam: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("teams")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "name")
            .create()
        try await db.schema("team_members")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("team_id", .uuid, .required, .references("teams", .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("users", .id, onDelete: .cascade))
            .unique(on: "team_id", "user_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("team_members").delete()
        try await db.schema("teams").delete()
    }
}

struct CreateInbox: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("inboxes")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("channel", .string, .required)
            .field("settings", .json, .required)
            .field("secrets", .data)
            .field("team_id", .uuid, .references("teams", .id, onDelete: .setNull))
            .field("reopen_window_seconds", .int, .required)
            .field("is_active", .bool, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await db.createIndex("inboxes_workspace", on: "inboxes", "workspace_id")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("inboxes").delete()
    }
}

struct CreateContact: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("contacts")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("name", .string)
            .field("email", .string)
            .field("phone", .string)
            .field("document_id", .string)
            .field("attributes", .dictionary(of: .string), .required)
            .field("labels", .array(of: .string), .required)
            .field("merged_into_id", .uuid)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await db.createIndex("contacts_workspace_created", on: "contacts", "workspace_id", "created_at")
        try await db.schema("contact_identities")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("contact_id", .uuid, .required, .references("contacts", .id, onDelete: .cascade))
            .field("kind", .string, .required)
            .field("value", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "kind", "value")
            .create()
        try await db.createIndex("contact_identities_contact", on: "contact_identities", "contact_id")
        try await db.schema("duplicate_suggestions")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("contact_id", .uuid, .required)
            .field("other_contact_id", .uuid, .required)
            .field("reason", .string, .required)
            .field("state", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "contact_id", "other_contact_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("duplicate_suggestions").delete()
        try await db.schema("contact_identities").delete()
        try await db.schema("contacts").delete()
    }
}

struct CreateConversation: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("conversations")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("number", .int, .required)
            .field("inbox_id", .uuid, .required, .references("inboxes", .id, onDelete: .cascade))
            .field("contact_id", .uuid, .required, .references("contacts", .id))
            .field("channel", .string, .required)
            .field("status", .string, .required)
            .field("priority", .string, .required)
            .field("priority_rank", .int, .required)
            .field("assignee_id", .uuid, .references("users", .id, onDelete: .setNull))
            .field("team_id", .uuid, .references("teams", .id, onDelete: .setNull))
            .field("labels", .array(of: .string), .required)
            .field("contact_reason", .string)
            .field("subject", .string)
            .field("provider_thread_id", .string)
            .field("snoozed_until", .datetime)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("last_message_at", .datetime, .required)
            .field("last_incoming_at", .datetime)
            .field("waiting_since", .datetime)
            .field("first_response_at", .datetime)
            .field("resolved_at", .datetime)
            .field("message_count", .int, .required)
            .unique(on: "workspace_id", "number")
            .create()
        try await db.createIndex("conversations_contact_inbox", on: "conversations", "contact_id", "inbox_id", "status")
        try await db.createIndex("conversations_inbox_thread", on: "conversations", "inbox_id", "provider_thread_id")
        try await db.createIndex("conversations_workspace_activity", on: "conversations", "workspace_id", "last_message_at")
        try await db.createIndex("conversations_workspace_status", on: "conversations", "workspace_id", "status")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("conversations").delete()
    }
}

struct CreateMessage: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("messages")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("conversation_id", .uuid, .required, .references("conversations", .id, onDelete: .cascade))
            .field("inbox_id", .uuid, .required, .references("inboxes", .id, onDelete: .cascade))
            .field("kind", .string, .required)
            .field("sender_type", .string, .required)
            .field("sender_id", .uuid)
            .field("text", .string, .required)
            .field("provider_message_id", .string)
            .field("delivery_status", .string)
            .field("delivery_error", .string)
            .field("sent_at", .datetime)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "inbox_id", "provider_message_id")
            .create()
        try await db.createIndex("messages_conversation_created", on: "messages", "conversation_id", "created_at")
        try await db.schema("attachments")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("message_id", .uuid, .required, .references("messages", .id, onDelete: .cascade))
            .field("filename", .string, .required)
            .field("content_type", .string, .required)
            .field("size", .int, .required)
            .field("sha256", .string, .required)
            .field("created_at", .datetime)
            .create()
        try await db.createIndex("attachments_message", on: "attachments", "message_id")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("attachments").delete()
        try await db.schema("messages").delete()
    }
}

struct CreateEvent: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("events")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("seq", .int64, .required)
            .field("type", .string, .required)
            .field("conversation_id", .uuid)
            .field("actor_id", .uuid)
            .field("payload", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "workspace_id", "seq")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("events").delete()
    }
}

struct CreateJob: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("jobs")
            .id()
            .field("workspace_id", .uuid)
            .field("kind", .string, .required)
            .field("payload", .string, .required)
            .field("run_at", .datetime, .required)
            .field("attempts", .int, .required)
            .field("max_attempts", .int, .required)
            .field("locked_until", .datetime)
            .field("last_error", .string)
            .field("dead_at", .datetime)
            .field("created_at", .datetime, .required)
            .create()
        try await db.createIndex("jobs_due", on: "jobs", "dead_at", "run_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("jobs").delete()
    }
}
