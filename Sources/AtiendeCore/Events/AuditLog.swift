import FluentKit
import Foundation

/// The audit log: what people did to the workspace itself, read from the event log the writes append — every event with
/// a person as its actor and no conversation (what happened in a conversation is on its own page). A member's sign-ins,
/// failed sign-ins and changes to their password, second factor and API tokens are appended to every workspace they
/// belong to. Events are only ever appended and never deleted; the one change they see is an erasure's
/// (`PrivacyService`), which empties what a person said inside them.
public enum AuditLog {
    /// The families of entries a filter offers, by the first part of their type (`member` for `member.role_changed`).
    public static let categories = ["account", "api_token", "member", "team", "inbox", "workspace", "sla_policy", "automation_rule",
                                    "macro", "canned_response", "contact", "import", "report", "saved_view", "job"]

    public struct Filter: Sendable, Equatable {
        public var category: String?
        public var actor: UUID?
        /// From this moment (included) to that one (excluded).
        public var from: Date?
        public var to: Date?

        public init(category: String? = nil, actor: UUID? = nil, from: Date? = nil, to: Date? = nil) {
            self.category = category
            self.actor = actor
            self.from = from
            self.to = to
        }
    }

    /// The event types of a category.
    public static func types(in category: String) -> [String] {
        EventType.allCases.map(\.rawValue).filter { $0.hasPrefix(category + ".") }
    }

    /// Entries newest first, only those older than the event id `before` when it is given. Read through the partial index
    /// `events_audit`, whose condition the query repeats.
    public static func entries(workspace: UUID, filter: Filter, before: Int64? = nil, limit: Int, on db: any Database) async throws -> [Event] {
        var query = Event.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$actorID != nil).filter(\.$conversationID == nil)
        if let category = filter.category { query = query.filter(\.$type ~~ types(in: category)) }
        if let actor = filter.actor { query = query.filter(\.$actorID == actor) }
        if let from = filter.from { query = query.filter(\.$createdAt >= from) }
        if let to = filter.to { query = query.filter(\.$createdAt < to) }
        if let before { query = query.filter(\.$seq < before) }
        return try await query.sort(\.$seq, .descending).limit(limit).all()
    }

    /// Notes that a person took data out of the workspace: `what` (a report's table, `conversations`), over `period`
    /// (`2026-11-01..2026-11-30`), with the filters asked for (`channel=email`).
    public static func recordExport(workspace: UUID, actor: UUID, what: String, period: String, filters: [String], store: Store) async throws {
        try await store.write { tx in
            try await EventLog.append(.reportExported, workspace: workspace, actor: actor,
                                      payload: RecordEventPayload(id: workspace, name: what, detail: period, changes: filters.isEmpty ? nil : filters), in: tx)
        }
    }

    /// Appends an event about a person's own account, with them as its actor, to every workspace they are a member of.
    static func appendForAccount(_ type: EventType, user: UUID, payload: RecordEventPayload, in tx: WriteTransaction) async throws {
        let workspaces = try await Membership.query(on: tx.db).filter(\.$user.$id == user).all().map(\.$workspace.id)
        guard !workspaces.isEmpty else { return }
        let json = try EventLog.json(payload)
        try await EventLog.appendAll(workspaces.map { .init(workspace: $0, type: type, conversation: nil, actor: user, payload: json) }, in: tx)
    }
}
