import Foundation
import SQLKit

/// The agent inbox: one page of conversations for a view and its filters, and the live counts of every view.
/// Plain SQL on both dialects: this is the page agents load all day, and it must stay fast at 100,000
/// conversations (see `bench/inbox-page`).
public struct InboxQuery: Sendable {
    public enum View: String, Sendable, CaseIterable { case mine, unassigned, all }
    public enum Sort: String, Sendable, CaseIterable {
        case lastActivity = "last_activity", newest, oldest, waitingLongest = "waiting_longest", priority
        /// Soonest service-level deadline first, only conversations with one ("SLA at risk").
        case slaDue = "sla_due"
    }

    public struct Filter: Sendable, Equatable {
        public var view: View = .all
        public var statuses: [ConversationStatus] = [.open]
        public var inboxID: UUID?
        public var teamID: UUID?
        public var label: String?
        public var channel: ChannelKind?
        public var priority: Priority?
        public var sort: Sort = .lastActivity
        /// Only conversations whose service level is at risk (past the warning point) or breached.
        public var atRisk = false
        /// One conversation, when it still belongs in this view (a live page re-reading one row).
        public var number: Int?
        public var page = 0
        public init() {}
    }

    public struct Row: Sendable {
        public var conversation: ConversationSnapshot
        public var contactName: String?
        /// The last customer or agent message (notes and activity lines are not previews).
        public var preview: String?
        /// The soonest service-level deadline, while a clock runs.
        public var slaDueAt: Date?
    }

    public struct Counts: Sendable, Equatable {
        public var views: [View: Int] = [:]
        public var inboxes: [UUID: Int] = [:]
        public var teams: [UUID: Int] = [:]
        public var labels: [String: Int] = [:]
        public init() {}
    }

    public static let pageSize = 50
    let store: Store

    public init(store: Store) { self.store = store }

    public func rows(workspace workspaceID: UUID, user userID: UUID, filter: Filter) async throws -> [Row] {
        let columns = IngestSQL.conversationColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        // Each sort's terms over a row called `%`; every one is read in the order of an index
        // (`CreateSortIndexes` for those that put rows without a value last).
        let order: String
        var extra: SQLQueryString = ""
        switch filter.sort {
        case .lastActivity: order = "%last_message_at DESC, %number DESC"
        case .newest: order = "%number DESC"
        case .oldest: order = "%number ASC"
        // A sort never drops rows: those without a wait or a deadline come last.
        case .waitingLongest: order = "(%waiting_since IS NULL), %waiting_since, %number"
        case .priority: order = "%priority_rank DESC, %last_message_at DESC"
        case .slaDue: order = "(%sla_due_at IS NULL), %sla_due_at, %number"
        }
        if filter.atRisk {
            // Past the warning point, or breached (rows from before `sla_warn_at` count from their deadline).
            let now = store.clock.now()
            extra = extra + " AND c.sla_due_at IS NOT NULL AND (c.sla_warn_at <= \(bind: now) OR (c.sla_warn_at IS NULL AND c.sla_due_at <= \(bind: now)))"
        }
        // The page is chosen first; previews are read only for its rows.
        var query: SQLQueryString = """
            SELECT page.*, (SELECT m.text FROM messages m WHERE m.conversation_id = page.id AND m.kind IN ('incoming', 'outgoing')
                            ORDER BY m.created_at DESC LIMIT 1) AS preview
            FROM (SELECT \(unsafeRaw: columns.map { "c." + $0 }.joined(separator: ", ")), c.priority_rank, c.sla_due_at, ct.name AS contact_name
                  FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
                  WHERE
            """
        query = query + conditions(workspace: workspaceID, user: userID, filter: filter) + extra
        query = query + " ORDER BY \(unsafeRaw: order.replacingOccurrences(of: "%", with: "c."))"
        query = query + " LIMIT \(unsafeRaw: String(Self.pageSize + 1)) OFFSET \(unsafeRaw: String(max(0, filter.page) * Self.pageSize))) page"
        query = query + " ORDER BY \(unsafeRaw: order.replacingOccurrences(of: "%", with: "page."))"
        let dialect = store.dialect
        return try await store.sql.raw(query).all().map { row in
            Row(conversation: try IngestSQL.conversation(row, dialect: dialect),
                contactName: try row.decode(column: "contact_name", as: String?.self),
                preview: try row.decode(column: "preview", as: String?.self),
                slaDueAt: try row.decode(column: "sla_due_at", as: Date?.self))
        }
    }

    private func conditions(workspace workspaceID: UUID, user userID: UUID, filter: Filter) -> SQLQueryString {
        var clause: SQLQueryString = " c.workspace_id = \(bind: workspaceID)"
        if !filter.statuses.isEmpty {
            clause = clause + " AND c.status IN (\(unsafeRaw: filter.statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")))"
        }
        switch filter.view {
        case .mine: clause = clause + " AND c.assignee_id = \(bind: userID)"
        case .unassigned: clause = clause + " AND c.assignee_id IS NULL"
        case .all: break
        }
        if let inbox = filter.inboxID { clause = clause + " AND c.inbox_id = \(bind: inbox)" }
        if let team = filter.teamID { clause = clause + " AND c.team_id = \(bind: team)" }
        if let channel = filter.channel { clause = clause + " AND c.channel = \(bind: channel.rawValue)" }
        if let priority = filter.priority { clause = clause + " AND c.priority = \(bind: priority.rawValue)" }
        if let number = filter.number { clause = clause + " AND c.number = \(bind: number)" }
        if let label = filter.label {
            switch store.dialect {
            case .postgres: clause = clause + " AND \(bind: label) = ANY(c.labels)"
            case .sqlite: clause = clause + " AND EXISTS (SELECT 1 FROM json_each(c.labels) WHERE json_each.value = \(bind: label))"
            }
        }
        return clause
    }

    /// Open conversations per view, inbox, team and label (kept current by the database: `InboxCounts`).
    public func counts(workspace workspaceID: UUID, user userID: UUID) async throws -> Counts {
        try await InboxCounts.read(workspace: workspaceID, user: userID, on: store.sql)
    }
}
