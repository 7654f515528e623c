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
        try await db.schema(Workspace.schema)
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
        try await db.schema(WorkspaceCounter.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("value", .int64, .required)
            .unique(on: "workspace_id", "name")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(WorkspaceCounter.schema).delete()
        try await db.schema(Workspace.schema).delete()
    }
}

struct CreateUser: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(User.schema)
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
        try await db.schema(Membership.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("role", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "user_id")
            .create()
        try await db.schema(APIToken.schema)
            .id()
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
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
        try await db.schema(APIToken.schema).delete()
        try await db.schema(Membership.schema).delete()
        try await db.schema(User.schema).delete()
    }
}

struct CreateTeam: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Team.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "name")
            .create()
        try await db.schema(TeamMember.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("team_id", .uuid, .required, .references(Team.schema, .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .unique(on: "team_id", "user_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(TeamMember.schema).delete()
        try await db.schema(Team.schema).delete()
    }
}

struct CreateInbox: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Inbox.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("channel", .string, .required)
            .field("settings", .json, .required)
            .field("secrets", .data)
            .field("team_id", .uuid, .references(Team.schema, .id, onDelete: .setNull))
            .field("reopen_window_seconds", .int, .required)
            .field("is_active", .bool, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await db.createIndex("inboxes_workspace", on: Inbox.schema, "workspace_id")
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Inbox.schema).delete()
    }
}

struct CreateContact: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Contact.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
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
        try await db.createIndex("contacts_workspace_created", on: Contact.schema, "workspace_id", "created_at")
        try await db.schema(ContactIdentity.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("contact_id", .uuid, .required, .references(Contact.schema, .id, onDelete: .cascade))
            .field("kind", .string, .required)
            .field("value", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "kind", "value")
            .create()
        try await db.createIndex("contact_identities_contact", on: ContactIdentity.schema, "contact_id")
        try await db.schema(DuplicateSuggestion.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("contact_id", .uuid, .required)
            .field("other_contact_id", .uuid, .required)
            .field("reason", .string, .required)
            .field("state", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "workspace_id", "contact_id", "other_contact_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(DuplicateSuggestion.schema).delete()
        try await db.schema(ContactIdentity.schema).delete()
        try await db.schema(Contact.schema).delete()
    }
}

struct CreateConversation: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Conversation.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("number", .int, .required)
            .field("inbox_id", .uuid, .required, .references(Inbox.schema, .id, onDelete: .cascade))
            .field("contact_id", .uuid, .required, .references(Contact.schema, .id))
            .field("channel", .string, .required)
            .field("status", .string, .required)
            .field("priority", .string, .required)
            .field("priority_rank", .int, .required)
            .field("assignee_id", .uuid, .references(User.schema, .id, onDelete: .setNull))
            .field("team_id", .uuid, .references(Team.schema, .id, onDelete: .setNull))
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
        try await db.createIndex("conversations_contact_inbox", on: Conversation.schema, "contact_id", "inbox_id", "status")
        try await db.createIndex("conversations_inbox_thread", on: Conversation.schema, "inbox_id", "provider_thread_id")
        try await db.createIndex("conversations_workspace_activity", on: Conversation.schema, "workspace_id", "last_message_at")
        try await db.createIndex("conversations_workspace_status", on: Conversation.schema, "workspace_id", "status")
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Conversation.schema).delete()
    }
}

struct CreateMessage: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Message.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("conversation_id", .uuid, .required, .references(Conversation.schema, .id, onDelete: .cascade))
            .field("inbox_id", .uuid, .required, .references(Inbox.schema, .id, onDelete: .cascade))
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
        try await db.createIndex("messages_conversation_created", on: Message.schema, "conversation_id", "created_at")
        try await db.schema(Attachment.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
            .field("message_id", .uuid, .required, .references(Message.schema, .id, onDelete: .cascade))
            .field("filename", .string, .required)
            .field("content_type", .string, .required)
            .field("size", .int, .required)
            .field("sha256", .string, .required)
            .field("created_at", .datetime)
            .create()
        try await db.createIndex("attachments_message", on: Attachment.schema, "message_id")
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Attachment.schema).delete()
        try await db.schema(Message.schema).delete()
    }
}

struct CreateEvent: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Event.schema)
            .id()
            .field("workspace_id", .uuid, .required, .references(Workspace.schema, .id, onDelete: .cascade))
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
        try await db.schema(Event.schema).delete()
    }
}

struct CreateJob: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Job.schema)
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
        try await db.createIndex("jobs_due", on: Job.schema, "dead_at", "run_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Job.schema).delete()
    }
}
