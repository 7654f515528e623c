import FluentKit
import Foundation
import SQLKit

/// The team's tools: canned responses, macros, and who takes which conversation.
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

/// Routing: members' availability (chosen and last seen), capacity and languages; inboxes' assignment policies; the
/// no-reply deadline of assigned conversations (indexed, for the scan).
struct CreateRouting: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("memberships").field("availability", .string).update()
        try await db.schema("memberships").field("last_seen_at", .datetime).update()
        try await db.schema("memberships").field("last_assigned_at", .datetime).update()
        try await db.schema("memberships").field("routing", .string).update()
        try await db.schema("inboxes").field("assignment", .string).update()
        try await db.schema("conversations").field("reply_due_at", .datetime).update()
        try await db.createIndex("conversations_reply_due", on: "conversations", "reply_due_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("conversations").deleteField("reply_due_at").update()
        try await db.schema("inboxes").deleteField("assignment").update()
        for field in ["routing", "last_assigned_at", "last_seen_at", "availability"] {
            try await db.schema("memberships").deleteField(.string(field)).update()
        }
    }
}

/// Automation rules, and the due times of the time-based ones (one per rule and conversation, indexed by when).
struct CreateAutomation: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("automation_rules")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("name", .string, .required)
            .field("position", .int, .required)
            .field("is_active", .bool, .required)
            .field("trigger", .string, .required)
            .field("after_minutes", .int)
            .field("conditions", .string, .required)
            .field("actions", .string, .required)
            .field("stops", .bool, .required)
            .field("secret", .data)
            .field("run_count", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await db.createIndex("automation_rules_workspace", on: "automation_rules", "workspace_id", "position")
        try await db.schema("rule_timers")
            .id()
            .field("workspace_id", .uuid, .required)
            .field("rule_id", .uuid, .required, .references("automation_rules", "id", onDelete: .cascade))
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("due_at", .datetime, .required)
            .unique(on: "rule_id", "conversation_id")
            .create()
        try await db.createIndex("rule_timers_due", on: "rule_timers", "due_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("rule_timers").delete()
        try await db.schema("automation_rules").delete()
    }
}

/// Reminders and scheduled follow-up messages, due at a time (indexed, for the scan).
struct CreateFollowUps: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("follow_ups")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("user_id", .uuid, .required)
            .field("kind", .string, .required)
            .field("due_at", .datetime, .required)
            .field("text", .string)
            .field("created_at", .datetime, .required)
            .field("done_at", .datetime)
            .field("outcome", .string)
            .create()
        try await db.createIndex("follow_ups_due", on: "follow_ups", "done_at", "due_at")
        try await db.createIndex("follow_ups_conversation", on: "follow_ups", "conversation_id")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("follow_ups").delete()
    }
}

/// Workspaces made before rules existed get the "always answer" rule new ones start with.
struct AddAlwaysAnswerRule: AsyncMigration {
    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        let now = Date()
        for row in try await sql.raw("SELECT id, default_language FROM workspaces").all() {
            let workspace = try row.decode(column: "id", as: UUID.self)
            let english = (try? row.decode(column: "default_language", as: String.self)) == "en"
            try await sql.raw("""
                INSERT INTO automation_rules (id, workspace_id, name, position, is_active, "trigger", after_minutes, conditions, actions, stops,
                                              run_count, created_at, updated_at)
                VALUES (\(bind: UUID()), \(bind: workspace), \(bind: english ? "Always answer" : "Siempre responder"), 1, \(bind: true),
                        'unanswered_for', 240, '{"match":"all","conditions":[]}', '[{"type":"resurface"}]', \(bind: false), 0,
                        \(bind: now), \(bind: now))
                """).run()
        }
    }

    func revert(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw(#"DELETE FROM automation_rules WHERE "trigger" = 'unanswered_for' AND actions = '[{"type":"resurface"}]'"#).run()
    }
}

/// Who last let a conversation go, and when: routing keeps it from them for a while.
struct AddConversationRelease: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("conversations").field("released_by", .uuid).update()
        try await db.schema("conversations").field("released_at", .datetime).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("conversations").deleteField("released_at").update()
        try await db.schema("conversations").deleteField("released_by").update()
    }
}

/// Surveys: what each inbox asks (`inboxes.survey`), each survey put to a customer, and the message that asks it.
struct CreateSurveys: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("inboxes").field("survey", .string).update()
        try await db.schema("messages").field("survey", .string).update()
        try await db.schema("surveys")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("contact_id", .uuid, .required)
            .field("inbox_id", .uuid, .required)
            .field("channel", .string, .required)
            .field("kind", .string, .required)
            .field("status", .string, .required)
            .field("language", .string, .required)
            .field("token_hash", .string, .required)
            .field("requested_by", .uuid)
            .field("agent_id", .uuid)
            .field("team_id", .uuid)
            .field("contact_reason", .string)
            .field("message_id", .uuid)
            .field("score", .int)
            .field("first_score", .int)
            .field("comment", .string)
            .field("follow_up_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("sent_at", .datetime)
            .field("answered_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await db.createIndex("surveys_conversation", on: "surveys", "conversation_id", "status")
        try await db.createIndex("surveys_contact", on: "surveys", "workspace_id", "contact_id", "created_at")
        try await db.createIndex("surveys_answered", on: "surveys", "workspace_id", "answered_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("surveys").delete()
        try await db.schema("messages").deleteField("survey").update()
        try await db.schema("inboxes").deleteField("survey").update()
    }
}

/// Metrics recorded when things happen: hourly rollups, and what each conversation must remember for them.
struct CreateMetricRollups: AsyncMigration {
    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        let float = sql.dialect.name == "postgresql" ? "DOUBLE PRECISION" : "REAL"
        try await sql.raw("""
            CREATE TABLE metric_rollups (
                workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                hour BIGINT NOT NULL,
                metric TEXT NOT NULL,
                bucket INTEGER NOT NULL,
                inbox_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                team_id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                reason TEXT NOT NULL,
                count BIGINT NOT NULL,
                total \(unsafeRaw: float) NOT NULL,
                PRIMARY KEY (workspace_id, hour, metric, bucket, inbox_id, channel, team_id, agent_id, reason)
            )
            """).run()
        // The same sums by day and by month, each for all conversations or one dimension at a time (and by hour of the
        // day, for counts), made from hours that are over: what long periods and breakdowns read.
        try await sql.raw("""
            CREATE TABLE metric_cubes (
                workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                grain TEXT NOT NULL,
                dim TEXT NOT NULL,
                period BIGINT NOT NULL,
                value TEXT NOT NULL,
                metric TEXT NOT NULL,
                bucket INTEGER NOT NULL,
                count BIGINT NOT NULL,
                total \(unsafeRaw: float) NOT NULL,
                PRIMARY KEY (workspace_id, grain, dim, period, value, metric, bucket)
            )
            """).run()
        try await sql.raw("""
            CREATE TABLE metric_compaction (
                workspace_id UUID PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
                through_hour BIGINT NOT NULL
            )
            """).run()
        try await sql.raw("ALTER TABLE conversations ADD COLUMN response_count INTEGER NOT NULL DEFAULT 0").run()
        try await db.schema("conversations").field("first_resolved_at", .datetime).update()
        try await db.schema("conversations").field("fcr_at", .datetime).update()
        try await db.schema("conversations").field("fcr_dims", .string).update()
    }

    func revert(on db: any Database) async throws {
        for column in ["fcr_dims", "fcr_at", "first_resolved_at", "response_count"] {
            try await db.schema("conversations").deleteField(FieldKey(stringLiteral: column)).update()
        }
        try await db.schema("metric_compaction").delete()
        try await db.schema("metric_cubes").delete()
        try await db.schema("metric_rollups").delete()
    }
}

/// The at-risk list: one entry per conversation and reason for worry.
struct CreateAtRisk: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("at_risk")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("contact_id", .uuid, .required)
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("kind", .string, .required)
            .field("detail", .string, .required)
            .field("reason", .string)
            .field("created_at", .datetime, .required)
            .field("handled_at", .datetime)
            .field("handled_by", .uuid)
            .field("action", .string)
            .field("note", .string)
            .unique(on: "conversation_id", "kind")
            .create()
        try await db.createIndex("at_risk_workspace", on: "at_risk", "workspace_id", "created_at")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("at_risk").delete()
    }
}

/// Compensations given to customers, and each workspace's limits per role.
struct CreateCompensations: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("workspaces").field("compensation", .string).update()
        try await db.schema("compensations")
            .id()
            .field("workspace_id", .uuid, .required, .references("workspaces", "id", onDelete: .cascade))
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("contact_id", .uuid, .required)
            .field("kind", .string, .required)
            .field("amount_cents", .int64, .required)
            .field("unit", .string, .required)
            .field("reason", .string, .required)
            .field("message", .string)
            .field("status", .string, .required)
            .field("requested_by", .uuid, .required)
            .field("decided_by", .uuid)
            .field("decided_at", .datetime)
            .field("decision_note", .string)
            .field("created_at", .datetime, .required)
            .create()
        try await db.createIndex("compensations_workspace", on: "compensations", "workspace_id", "created_at")
        try await db.createIndex("compensations_conversation", on: "compensations", "conversation_id")
        try await db.createIndex("compensations_contact", on: "compensations", "contact_id")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("compensations").delete()
        try await db.schema("workspaces").deleteField("compensation").update()
    }
}

/// Supervisors who get the weekly report by email, and when the last one went.
struct AddWeeklyReports: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("memberships").field("weekly_report", .bool).update()
        try await db.schema("memberships").field("weekly_report_sent_at", .datetime).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("memberships").deleteField("weekly_report_sent_at").update()
        try await db.schema("memberships").deleteField("weekly_report").update()
    }
}

/// Every rollup change also kept with the conversation it came from, for the export with a row per conversation whose
/// sums are the reports' own. No key: changes to one conversation in one hour are rows of their own, added up on export.
struct CreateMetricFacts: AsyncMigration {
    func prepare(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        let float = sql.dialect.name == "postgresql" ? "DOUBLE PRECISION" : "REAL"
        try await sql.raw("""
            CREATE TABLE metric_facts (
                workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                conversation_id UUID NOT NULL,
                hour BIGINT NOT NULL,
                metric TEXT NOT NULL,
                bucket INTEGER NOT NULL,
                inbox_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                team_id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                reason TEXT NOT NULL,
                count BIGINT NOT NULL,
                total \(unsafeRaw: float) NOT NULL
            )
            """).run()
        try await db.createIndex("metric_facts_hour", on: "metric_facts", "workspace_id", "hour")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("metric_facts").delete()
    }
}
