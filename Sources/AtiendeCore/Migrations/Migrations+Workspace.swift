import FluentKit
import SQLKit

/// Browser sessions, invitations, notifications and saved inbox views (the agent workspace).
struct CreateAgentWorkspace: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("sessions")
            .id()
            .field("user_id", .uuid, .required, .references("users", .id, onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("csrf_token", .string, .required)
            .field("workspace_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await db.createIndex("sessions_user", on: "sessions", "user_id")
        try await db.schema("invitations")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("email", .string, .required)
            .field("role", .string, .required)
            .field("token_hash", .string, .required)
            .field("invited_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("accepted_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await db.schema("notifications")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("users", .id, onDelete: .cascade))
            .field("kind", .string, .required)
            .field("conversation_number", .int, .required)
            .field("actor_id", .uuid)
            .field("excerpt", .string, .required)
            .field("created_at", .datetime, .required)
            .field("read_at", .datetime)
            .create()
        try await db.createIndex("notifications_user", on: "notifications", "workspace_id", "user_id", "created_at")
        try await db.schema("saved_views")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("users", .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("query", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        // The inbox's views: by status and by assignee, newest activity first.
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.drop(index: "conversations_workspace_status").run()
        try await db.createIndex("conversations_workspace_status_activity", on: "conversations", "workspace_id", "status", "last_message_at")
        try await db.createIndex("conversations_workspace_assignee", on: "conversations", "workspace_id", "assignee_id", "status", "last_message_at")
        try await db.createIndex("conversations_workspace_priority", on: "conversations", "workspace_id", "priority_rank", "last_message_at")
        // The inbox's live counts read only this index (no table rows).
        try await db.createIndex("conversations_workspace_routing", on: "conversations", "workspace_id", "status", "inbox_id", "team_id", "assignee_id")
        // The customer panel: a contact's conversations, newest first.
        try await db.createIndex("conversations_contact_activity", on: "conversations", "contact_id", "last_message_at")
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.drop(index: "conversations_contact_activity").run()
        try await sql.drop(index: "conversations_workspace_routing").run()
        try await sql.drop(index: "conversations_workspace_priority").run()
        try await sql.drop(index: "conversations_workspace_assignee").run()
        try await sql.drop(index: "conversations_workspace_status_activity").run()
        try await db.createIndex("conversations_workspace_status", on: "conversations", "workspace_id", "status")
        for schema in ["saved_views", "notifications", "invitations", "sessions"] {
            try await db.schema(schema).delete()
        }
    }
}

/// Accent-insensitive full-text search over messages and contacts: FTS5 kept by triggers on SQLite,
/// expression GIN indexes with an `unaccent` text-search configuration on PostgreSQL.
struct CreateSearchIndex: AsyncMigration {
    /// The contact document the PostgreSQL index holds; `SearchSQL.contactDocument()` must read the same.
    static let contactDocument = "to_tsvector('atiende_search', coalesce(name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '') || ' ' || coalesce(document_id, ''))"

    static func statements(postgres: Bool) -> [String] {
        if postgres {
            return [
                "CREATE EXTENSION IF NOT EXISTS unaccent",
                "CREATE TEXT SEARCH CONFIGURATION atiende_search (COPY = simple)",
                "ALTER TEXT SEARCH CONFIGURATION atiende_search ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, simple",
                "CREATE INDEX messages_search ON messages USING GIN (to_tsvector('atiende_search', text))",
                "CREATE INDEX contacts_search ON contacts USING GIN ((\(contactDocument)))",
            ]
        }
        let tokenizer = "tokenize = 'unicode61 remove_diacritics 2'"
        return [
            "CREATE VIRTUAL TABLE message_search USING fts5(text, content = 'messages', content_rowid = 'rowid', \(tokenizer))",
            "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN INSERT INTO message_search(rowid, text) VALUES (new.rowid, new.text); END",
            "CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN INSERT INTO message_search(message_search, rowid, text) VALUES ('delete', old.rowid, old.text); END",
            "CREATE TRIGGER messages_search_update AFTER UPDATE OF text ON messages BEGIN INSERT INTO message_search(message_search, rowid, text) VALUES ('delete', old.rowid, old.text); INSERT INTO message_search(rowid, text) VALUES (new.rowid, new.text); END",
            "INSERT INTO message_search(message_search) VALUES ('rebuild')",
            "CREATE VIRTUAL TABLE contact_search USING fts5(name, email, phone, document_id, content = 'contacts', content_rowid = 'rowid', \(tokenizer))",
            "CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN INSERT INTO contact_search(rowid, name, email, phone, document_id) VALUES (new.rowid, new.name, new.email, new.phone, new.document_id); END",
            "CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN INSERT INTO contact_search(contact_search, rowid, name, email, phone, document_id) VALUES ('delete', old.rowid, old.name, old.email, old.phone, old.document_id); END",
            "CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, email, phone, document_id ON contacts BEGIN INSERT INTO contact_search(contact_search, rowid, name, email, phone, document_id) VALUES ('delete', old.rowid, old.name, old.email, old.phone, old.document_id); INSERT INTO contact_search(rowid, name, email, phone, document_id) VALUES (new.rowid, new.name, new.email, new.phone, new.document_id); END",
            "INSERT INTO contact_search(contact_search) VALUES ('rebuild')",
        ]
    }

    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        for statement in Self.statements(postgres: sql.dialect.name == "postgresql") {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        let statements = sql.dialect.name == "postgresql"
            ? ["DROP INDEX contacts_search", "DROP INDEX messages_search", "DROP TEXT SEARCH CONFIGURATION atiende_search"]
            : ["messages_search_insert", "messages_search_delete", "messages_search_update",
               "contacts_search_insert", "contacts_search_delete", "contacts_search_update"].map { "DROP TRIGGER \($0)" }
                + ["DROP TABLE message_search", "DROP TABLE contact_search"]
        for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
    }
}

/// Business hours, service-level policies and clocks, automatic answers.
struct CreateServiceLevels: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("sla_policies")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", .id, onDelete: .cascade))
            .field("name", .string, .required)
            .field("is_default", .bool, .required)
            .field("rules", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        // SQLite adds one column per ALTER TABLE.
        for (name, type) in [("business_hours", DatabaseSchema.DataType.string), ("sla_policy_id", .uuid), ("auto_replies", .string)] {
            try await db.schema("inboxes").field(FieldKey(stringLiteral: name), type).update()
        }
        for (name, type) in [("sla_policy_id", DatabaseSchema.DataType.uuid), ("sla_clocks", .string), ("first_response_due_at", .datetime),
                             ("next_response_due_at", .datetime), ("resolution_due_at", .datetime), ("sla_due_at", .datetime),
                             ("sla_next_alert_at", .datetime)] {
            try await db.schema("conversations").field(FieldKey(stringLiteral: name), type).update()
        }
        // "SLA at risk" (soonest deadline first) and the deadline scan.
        try await db.createIndex("conversations_workspace_sla_due", on: "conversations", "workspace_id", "sla_due_at")
        try await db.createIndex("conversations_sla_next_alert", on: "conversations", "sla_next_alert_at")
        // Recomputing a workspace's active conversations chunk by chunk.
        try await db.createIndex("conversations_workspace_status_id", on: "conversations", "workspace_id", "status", "id")
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.drop(index: "conversations_workspace_status_id").run()
        try await sql.drop(index: "conversations_sla_next_alert").run()
        try await sql.drop(index: "conversations_workspace_sla_due").run()
        for name in ["sla_policy_id", "sla_clocks", "first_response_due_at", "next_response_due_at", "resolution_due_at", "sla_due_at", "sla_next_alert_at"] {
            try await db.schema("conversations").deleteField(FieldKey(stringLiteral: name)).update()
        }
        for name in ["business_hours", "sla_policy_id", "auto_replies"] {
            try await db.schema("inboxes").deleteField(FieldKey(stringLiteral: name)).update()
        }
        try await db.schema("sla_policies").delete()
    }
}

/// Messaging channels: an approved template a WhatsApp message was sent as.
struct CreateMessagingChannels: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("messages").field("template", .string).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("messages").deleteField("template").update()
    }
}

/// A person's own working hours, for alerts that wait for them.
struct CreateWorkingHours: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("users").field("working_hours", .string).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("users").deleteField("working_hours").update()
    }
}

/// Where each polled mailbox is up to (UIDVALIDITY and the last imported UID), and which instance polls it.
struct CreateMailboxCursors: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("mailbox_cursors")
            .id()
            .field("uid_validity", .int64, .required)
            .field("last_uid", .int64, .required)
            .field("owner", .string)
            .field("lease_until", .datetime)
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("mailbox_cursors").delete()
    }
}

/// An agent's own email signature.
struct CreateAgentSignatures: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("users").field("signature", .string).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("users").deleteField("signature").update()
    }
}

/// The other people on an email thread (CC'd addresses), who stay on it.
struct CreateEmailParticipants: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("conversations").field("participants", .string).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("conversations").deleteField("participants").update()
    }
}

/// Which notifications each person also gets by email.
struct CreateEmailNotificationPreferences: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("users").field("email_notifications", .string).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("users").deleteField("email_notifications").update()
    }
}

/// What the instances of a deployment share: who is online (agents with the desk open, live chat visitors), each row
/// renewed by its instance; rate-limit counts; and leases of the recurring tasks one instance runs at a time.
struct CreateSharedState: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("agent_presence")
            .field("connection_id", .uuid, .identifier(auto: false))
            .field("instance_id", .uuid, .required)
            .field("workspace_id", .uuid, .required)
            .field("user_id", .uuid, .required)
            .field("seen_at", .datetime, .required)
            .create()
        try await db.createIndex("agent_presence_workspace", on: "agent_presence", "workspace_id", "seen_at")
        try await db.schema("visitor_presence")
            .field("connection_id", .uuid, .identifier(auto: false))
            .field("instance_id", .uuid, .required)
            .field("inbox_id", .uuid, .required)
            .field("thread", .string, .required)
            .field("seen_at", .datetime, .required)
            .create()
        try await db.createIndex("visitor_presence_thread", on: "visitor_presence", "inbox_id", "thread")
        try await db.schema("rate_events")
            .field("key", .string, .required)
            .field("at", .datetime, .required)
            .create()
        try await db.createIndex("rate_events_key", on: "rate_events", "key", "at")
        try await db.schema("task_leases")
            .field("name", .string, .identifier(auto: false))
            .field("owner", .uuid, .required)
            .field("lease_until", .datetime, .required)
            .create()
    }

    func revert(on db: any Database) async throws {
        for table in ["task_leases", "rate_events", "visitor_presence", "agent_presence"] { try await db.schema(table).delete() }
    }
}

/// When a conversation's service level comes at risk (its first running clock's warning point), for the "SLA at risk"
/// view. Rows from before have none; the view takes their deadline instead until their clocks next change.
struct AddServiceLevelWarnAt: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("conversations").field("sla_warn_at", .datetime).update()
        try await db.createIndex("conversations_sla_warn", on: "conversations", "workspace_id", "sla_warn_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("conversations").deleteField("sla_warn_at").update()
    }
}

/// Why a message failed, typed (`DeliveryFailure.Code`), and which try of its sending is under way.
struct AddDeliveryFailureCode: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("messages").field("delivery_error_code", .string).update()
        try await db.schema("messages").field("delivery_attempt", .int).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("messages").deleteField("delivery_attempt").update()
        try await db.schema("messages").deleteField("delivery_error_code").update()
    }
}
