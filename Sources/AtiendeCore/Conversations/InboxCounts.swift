import FluentKit
import Foundation
import SQLKit

/// The inbox's live counts — open conversations per view, inbox, team and label — kept by triggers on `conversations`
/// in the transaction that changes a conversation, whatever code changes it, so that a page reads a few rows instead of
/// counting the open conversations (52 ms at 1,000,000 conversations, 192 ms more for the labels, before).
///
/// `conversation_counts` holds one row per workspace, key and shard. Keys: `all`, `unassigned`, `assignee:<id>`,
/// `inbox:<id>`, `team:<id>`, `label:<name>`. SQLite has one writer and one shard, 0. On PostgreSQL each connection adds
/// into its own shard (its backend's process id), so concurrent transactions never wait for one another on a count, and
/// `fold` moves those rows into shard 0 now and then (the reports' housekeeping lease).
public enum InboxCounts {
    /// One way a conversation is counted while open: the key's expression over a row called `row`, the table the key
    /// comes from (a conversation's labels), and when the conversation counts under it.
    struct Key {
        var key: String
        var from: String?
        var condition: String?
    }

    /// The triggers were created from these: a change here needs a migration that creates them again.
    static func keys(_ row: String, postgres: Bool) -> [Key] {
        [Key(key: "'all'"),
         Key(key: "CASE WHEN \(row).assignee_id IS NULL THEN 'unassigned' ELSE 'assignee:' || \(row).assignee_id END"),
         Key(key: "'inbox:' || \(row).inbox_id"),
         Key(key: "'team:' || \(row).team_id", condition: "\(row).team_id IS NOT NULL"),
         postgres ? Key(key: "'label:' || label", from: "unnest(\(row).labels) AS label")
                  : Key(key: "'label:' || json_each.value", from: "json_each(\(row).labels)")]
    }

    /// The keys of one row (`NEW` or `OLD` in a trigger), as a query of one column `k`.
    static func keyQuery(_ row: String, postgres: Bool) -> String {
        keys(row, postgres: postgres).map { key in
            "SELECT \(key.key) AS k" + (key.from.map { " FROM \($0)" } ?? "") + (key.condition.map { " WHERE \($0)" } ?? "")
        }.joined(separator: " UNION ALL ")
    }

    /// Every open conversation's keys, counted: what the triggers keep, computed from scratch (`rebuild`).
    static func recountQuery(postgres: Bool) -> String {
        let parts = keys("c", postgres: postgres).map { key in
            "SELECT c.workspace_id AS w, \(key.key) AS k FROM conversations c" + (key.from.map { ", \($0)" } ?? "")
                + " WHERE c.status = 'open'" + (key.condition.map { " AND \($0)" } ?? "")
        }
        return "SELECT w, k, COUNT(*) AS n FROM (\(parts.joined(separator: " UNION ALL "))) AS open_keys GROUP BY w, k"
    }

    static let changed = ["status", "assignee_id", "inbox_id", "team_id", "labels"]

    /// The table and the triggers (in the migration's transaction, before `rebuild` counts the conversations already there).
    static func create(on sql: any SQLDatabase) async throws {
        let postgres = sql.dialect.name == "postgresql"
        let upsert = "ON CONFLICT (workspace_id, key, shard) DO UPDATE SET n = conversation_counts.n + excluded.n"
        var statements = [
            "CREATE TABLE conversation_counts (workspace_id \(postgres ? "UUID" : "TEXT") NOT NULL, key TEXT NOT NULL, shard BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (workspace_id, key, shard))",
        ]
        if postgres {
            let distinct = changed.map { "OLD.\($0) IS DISTINCT FROM NEW.\($0)" }.joined(separator: " OR ")
            statements += [
                """
                CREATE FUNCTION conversation_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  INSERT INTO conversation_counts (workspace_id, key, shard, n)
                  SELECT w, k, pg_backend_pid(), SUM(d) FROM (
                    SELECT OLD.workspace_id AS w, k, -1 AS d FROM (\(keyQuery("OLD", postgres: true))) AS gone WHERE TG_OP <> 'INSERT' AND OLD.status = 'open'
                    UNION ALL
                    SELECT NEW.workspace_id AS w, k, 1 AS d FROM (\(keyQuery("NEW", postgres: true))) AS came WHERE TG_OP <> 'DELETE' AND NEW.status = 'open'
                  ) AS changes GROUP BY w, k HAVING SUM(d) <> 0 ORDER BY w, k
                  \(upsert);
                  RETURN NULL;
                END $$
                """,
                "CREATE TRIGGER conversations_counts_insert AFTER INSERT ON conversations FOR EACH ROW WHEN (NEW.status = 'open') EXECUTE FUNCTION conversation_counts_change()",
                "CREATE TRIGGER conversations_counts_delete AFTER DELETE ON conversations FOR EACH ROW WHEN (OLD.status = 'open') EXECUTE FUNCTION conversation_counts_change()",
                """
                CREATE TRIGGER conversations_counts_update AFTER UPDATE OF \(changed.joined(separator: ", ")) ON conversations FOR EACH ROW
                WHEN ((OLD.status = 'open' OR NEW.status = 'open') AND (\(distinct))) EXECUTE FUNCTION conversation_counts_change()
                """,
            ]
        } else {
            let distinct = changed.map { "OLD.\($0) IS NOT NEW.\($0)" }.joined(separator: " OR ")
            func add(_ select: String) -> String {
                "INSERT INTO conversation_counts (workspace_id, key, shard, n) SELECT * FROM (\(select)) WHERE true \(upsert);"
            }
            statements += [
                "CREATE TRIGGER conversations_counts_insert AFTER INSERT ON conversations WHEN NEW.status = 'open' BEGIN "
                    + add("SELECT NEW.workspace_id, k, 0, 1 FROM (\(keyQuery("NEW", postgres: false)))") + " END",
                "CREATE TRIGGER conversations_counts_delete AFTER DELETE ON conversations WHEN OLD.status = 'open' BEGIN "
                    + add("SELECT OLD.workspace_id, k, 0, -1 FROM (\(keyQuery("OLD", postgres: false)))") + " END",
                "CREATE TRIGGER conversations_counts_update AFTER UPDATE OF \(changed.joined(separator: ", ")) ON conversations "
                    + "WHEN (OLD.status = 'open' OR NEW.status = 'open') AND (\(distinct)) BEGIN "
                    + add("""
                        SELECT w, k, 0, SUM(d) FROM (
                          SELECT OLD.workspace_id AS w, k, -1 AS d FROM (\(keyQuery("OLD", postgres: false))) WHERE OLD.status = 'open'
                          UNION ALL SELECT NEW.workspace_id AS w, k, 1 AS d FROM (\(keyQuery("NEW", postgres: false))) WHERE NEW.status = 'open'
                        ) GROUP BY w, k HAVING SUM(d) <> 0
                        """) + " END",
            ]
        }
        for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    static func drop(on sql: any SQLDatabase) async throws {
        let statements = sql.dialect.name == "postgresql"
            ? ["DROP TRIGGER conversations_counts_update ON conversations", "DROP TRIGGER conversations_counts_delete ON conversations",
               "DROP TRIGGER conversations_counts_insert ON conversations", "DROP FUNCTION conversation_counts_change()"]
            : ["DROP TRIGGER conversations_counts_update", "DROP TRIGGER conversations_counts_delete", "DROP TRIGGER conversations_counts_insert"]
        for statement in statements + ["DROP TABLE conversation_counts"] { try await sql.raw(SQLQueryString(statement)).run() }
    }

    /// The counts computed again from the conversations — every workspace's, or one's — while no one can change a
    /// conversation: on PostgreSQL the transaction (`Store.write`, or the migration's) first locks `conversations`
    /// against writers and waits for those under way; on SQLite it is the single writer's.
    public static func rebuild(workspace workspaceID: UUID? = nil, on sql: any SQLDatabase) async throws {
        let postgres = sql.dialect.name == "postgresql"
        if postgres { try await sql.raw("LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE").run() }
        let only: SQLQueryString = workspaceID.map { " WHERE workspace_id = \(bind: $0)" } ?? ""
        let counted: SQLQueryString = workspaceID.map { " WHERE w = \(bind: $0)" } ?? ""
        try await sql.raw("DELETE FROM conversation_counts" + only).run()
        try await sql.raw("""
            INSERT INTO conversation_counts (workspace_id, key, shard, n)
            SELECT w, k, 0, n FROM (\(unsafeRaw: recountQuery(postgres: postgres))) AS counted
            """ + counted).run()
    }

    /// A workspace's counts, for the sidebar; `user` names the agent whose "mine" it is.
    static func read(workspace workspaceID: UUID, user userID: UUID, on sql: any SQLDatabase) async throws -> InboxQuery.Counts {
        var counts = InboxQuery.Counts()
        for (key, n) in try await kept(workspace: workspaceID, on: sql) {
            let (kind, name) = key.firstIndex(of: ":").map { (key[..<$0], String(key[key.index(after: $0)...])) } ?? (Substring(key), "")
            switch kind {
            case "all": counts.views[.all] = n
            case "unassigned": counts.views[.unassigned] = n
            case "assignee": if UUID(uuidString: name) == userID { counts.views[.mine] = n }
            case "inbox": if let id = UUID(uuidString: name) { counts.inboxes[id] = n }
            case "team": if let id = UUID(uuidString: name) { counts.teams[id] = n }
            case "label": counts.labels[name] = n
            default: break
            }
        }
        return counts
    }

    /// The counts as kept, by key (lowercased), without the zeros.
    public static func kept(workspace workspaceID: UUID, on sql: any SQLDatabase) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try await sql.raw("""
            SELECT key, CAST(SUM(n) AS BIGINT) AS n FROM conversation_counts WHERE workspace_id = \(bind: workspaceID) GROUP BY key HAVING SUM(n) <> 0
            """).all() {
            counts[try row.decode(column: "key", as: String.self).lowercased(), default: 0] += try row.decode(column: "n", as: Int.self)
        }
        return counts
    }

    /// PostgreSQL's per-connection rows added into shard 0 (rows a connection is writing right now are left for the next
    /// fold: its transaction holds them), and rows down to zero dropped. Returns the rows folded.
    @discardableResult
    public static func fold(on sql: any SQLDatabase) async throws -> Int {
        var folded = 0
        if sql.dialect.name == "postgresql" {
            folded = try await sql.raw("""
                WITH moved AS (
                  DELETE FROM conversation_counts WHERE (workspace_id, key, shard) IN (
                    SELECT workspace_id, key, shard FROM conversation_counts WHERE shard <> 0 FOR UPDATE SKIP LOCKED)
                  RETURNING workspace_id, key, n),
                added AS (
                  INSERT INTO conversation_counts (workspace_id, key, shard, n)
                  SELECT workspace_id, key, 0, CAST(SUM(n) AS BIGINT) FROM moved GROUP BY workspace_id, key ORDER BY workspace_id, key
                  ON CONFLICT (workspace_id, key, shard) DO UPDATE SET n = conversation_counts.n + excluded.n
                  RETURNING 1)
                SELECT (SELECT COUNT(*) FROM moved) AS n
                """).first()?.decode(column: "n", as: Int.self) ?? 0
        }
        try await sql.raw("DELETE FROM conversation_counts WHERE shard = 0 AND n = 0").run()
        return folded
    }
}
