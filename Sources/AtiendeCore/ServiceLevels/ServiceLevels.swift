import FluentKit
import Foundation
import SQLKit

/// Keeps every conversation's service-level clocks and deadlines current, inside the transaction that changed
/// the conversation: what arrived (ingest), what agents did (status, priority, team, replies) and policy changes.
/// Deadlines are columns (`first_response_due_at`, `next_response_due_at`, `resolution_due_at`, `sla_due_at`) and
/// `sla_next_alert_at` tells the deadline scan (`ServiceLevelScanner`) when to look again.
public enum ServiceLevels {
    /// One conversation as the clocks need it.
    public struct Subject: Sendable {
        public var id: UUID
        public var workspaceID: UUID
        public var number: Int
        public var inboxID: UUID
        public var channel: ChannelKind
        public var priority: Priority
        public var status: ConversationStatus
        public var assigneeID: UUID?
        public var clocks: ConversationClocks
        public var policyID: UUID?
        public var rules: ServiceLevelRules?
        public var hours: BusinessHours?
        public var autoReplies: AutoReplies?
        /// What is stored now, to skip writing what did not change.
        var storedClocks: ConversationClocks?
        var storedPolicyID: UUID?

        public var targets: ServiceLevelTargets? { rules?.targets(channel: channel, priority: priority) }
        public var time: ServiceTime { rules?.businessTime == true ? ServiceTime(hours: hours) : .calendar }
    }

    /// Loads conversations with their inbox's hours and the policy that applies (the inbox's or the workspace default).
    static func subjects(_ ids: [UUID], in tx: WriteTransaction) async throws -> [Subject] {
        guard !ids.isEmpty else { return [] }
        let rows = try await tx.sql.raw("""
            SELECT c.id, c.workspace_id, c.number, c.inbox_id, c.channel, c.priority, c.status, c.assignee_id, c.sla_clocks,
                   c.sla_policy_id AS stored_policy, i.business_hours, i.auto_replies, i.sla_policy_id AS inbox_policy
            FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
            WHERE c.id IN (\(ids.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")))
            """).all()
        var subjects: [Subject] = []
        var workspaces = Set<UUID>()
        for row in rows {
            let clocks = JSON.decode(ConversationClocks.self, from: try row.decode(column: "sla_clocks", as: String?.self)) ?? ConversationClocks()
            let hours = JSON.decode(BusinessHours.self, from: try row.decode(column: "business_hours", as: String?.self))
            let workspace = try row.decode(column: "workspace_id", as: UUID.self)
            workspaces.insert(workspace)
            subjects.append(Subject(
                id: try row.decode(column: "id", as: UUID.self), workspaceID: workspace, number: try row.decode(column: "number", as: Int.self),
                inboxID: try row.decode(column: "inbox_id", as: UUID.self),
                channel: ChannelKind(rawValue: try row.decode(column: "channel", as: String.self)) ?? .api,
                priority: Priority(rawValue: try row.decode(column: "priority", as: String.self)) ?? .none,
                status: ConversationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                assigneeID: try row.decode(column: "assignee_id", as: UUID?.self), clocks: clocks,
                policyID: try row.decode(column: "inbox_policy", as: UUID?.self), rules: nil, hours: hours,
                autoReplies: JSON.decode(AutoReplies.self, from: try row.decode(column: "auto_replies", as: String?.self)),
                storedClocks: clocks, storedPolicyID: try row.decode(column: "stored_policy", as: UUID?.self)))
        }
        let policies = try await tx.sql.raw("""
            SELECT id, workspace_id, is_default, rules FROM sla_policies
            WHERE workspace_id IN (\(workspaces.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")))
            """).all()
        var byID: [UUID: ServiceLevelRules] = [:]
        var defaults: [UUID: UUID] = [:]
        for row in policies {
            let id = try row.decode(column: "id", as: UUID.self)
            byID[id] = JSON.decode(ServiceLevelRules.self, from: try row.decode(column: "rules", as: String.self))
            if try row.decode(column: "is_default", as: Bool.self) { defaults[try row.decode(column: "workspace_id", as: UUID.self)] = id }
        }
        for n in subjects.indices {
            let policy = subjects[n].policyID.flatMap { byID[$0] != nil ? $0 : nil } ?? defaults[subjects[n].workspaceID]
            subjects[n].policyID = policy
            subjects[n].rules = policy.flatMap { byID[$0] }
        }
        return subjects
    }

    /// Applies changes to conversations' clocks and stores the clocks, deadlines and next alert time.
    /// `changes` sees each conversation after its own row was updated (its status is the new one).
    /// Returns the conversations as loaded (before the changes), for callers that need more of them.
    @discardableResult
    public static func update(_ ids: [UUID], in tx: WriteTransaction,
                              _ changes: (Subject) -> [ConversationClocks.Change]) async throws -> [Subject] {
        let loaded = try await subjects(ids, in: tx)
        for var subject in loaded {
            if subject.rules == nil && subject.clocks.clocks.isEmpty { continue }
            let list = changes(subject)
            for change in list {
                subject.clocks.apply(change, targets: subject.targets, open: subject.status == .open, time: subject.time)
            }
            // Another message while the customer already waits changes nothing: no write. (Other changes may move the
            // deadlines without changing the clocks, e.g. new business hours, so they always write.)
            let onlyMessages = list.allSatisfy { if case .customerMessage = $0 { true } else { false } }
            if onlyMessages && subject.clocks == subject.storedClocks && subject.policyID == subject.storedPolicyID { continue }
            try await save(subject, in: tx)
        }
        return loaded
    }

    /// Who hears of service-level trouble in a workspace: its supervisors and admins.
    static func supervisors(of workspaceID: UUID, in tx: WriteTransaction) async throws -> [UUID] {
        try await tx.sql.raw("""
            SELECT user_id FROM memberships WHERE workspace_id = \(bind: workspaceID) AND role IN ('supervisor', 'admin')
            """).all().map { try $0.decode(column: "user_id", as: UUID.self) }
    }

    static func save(_ subject: Subject, in tx: WriteTransaction) async throws {
        let time = subject.time
        let first = subject.clocks.due(.firstResponse, time: time)
        let next = subject.clocks.due(.nextResponse, time: time)
        let resolution = subject.clocks.due(.resolution, time: time)
        let soonest = [first, next, resolution].compactMap { $0 }.min()
        let alert = subject.clocks.nextAlert(warnAtPercent: subject.rules?.warnAtPercent ?? 75, time: time)
        let warning = subject.clocks.warningPoint(warnAtPercent: subject.rules?.warnAtPercent ?? 75, time: time)
        try await tx.sql.raw("""
            UPDATE conversations SET sla_clocks = \(bind: try EventLog.json(subject.clocks)), sla_policy_id = \(bind: subject.policyID),
                first_response_due_at = \(bind: first), next_response_due_at = \(bind: next), resolution_due_at = \(bind: resolution),
                sla_due_at = \(bind: soonest), sla_next_alert_at = \(bind: alert), sla_warn_at = \(bind: warning)
            WHERE id = \(bind: subject.id)
            """).run()
    }
    public static let retargetChunk = 500

    /// New targets for the conversations still being worked on, after a policy or hours change: the first
    /// `retargetChunk` now, the rest by `sla.retarget` jobs, a chunk per transaction, so a large workspace
    /// never holds the writer for long.
    public static func retargetActive(workspace workspaceID: UUID, inbox inboxID: UUID? = nil, in tx: WriteTransaction) async throws {
        if let last = try await retarget(workspace: workspaceID, inbox: inboxID, after: nil, in: tx) {
            try await JobQueue.enqueue(JobKind.serviceLevelRetarget, payload: RetargetPayload(workspaceID: workspaceID, inboxID: inboxID, after: last),
                                       workspace: workspaceID, in: tx)
        }
    }

    /// Recomputes one chunk of active conversations after the cursor `after` (`status:id`, in that order, along the
    /// `(workspace_id, status, id)` index); returns the cursor of the last one when more remain.
    public static func retarget(workspace workspaceID: UUID, inbox inboxID: UUID?, after: String?, in tx: WriteTransaction) async throws -> String? {
        var query: SQLQueryString = "SELECT id, status FROM conversations WHERE workspace_id = \(bind: workspaceID) AND status IN ('open', 'pending', 'snoozed')"
            // Imported history gets no clocks until it lives again.
            + " AND \(unsafeRaw: Importer.live())"
        if let inboxID { query = query + " AND inbox_id = \(bind: inboxID)" }
        if let after, let colon = after.firstIndex(of: ":"), let id = UUID(uuidString: String(after[after.index(after: colon)...])) {
            let status = String(after[..<colon])
            query = query + " AND (status > \(bind: status) OR (status = \(bind: status) AND id > \(bind: id)))"
        }
        query = query + " ORDER BY status, id LIMIT \(unsafeRaw: String(retargetChunk))"
        let rows = try await tx.sql.raw(query).all()
        let ids = try rows.map { try $0.decode(column: "id", as: UUID.self) }
        let now = tx.now
        try await update(ids, in: tx) { subject in
            subject.clocks.clocks.isEmpty ? [.opened(at: now)] : [.retarget(subject.targets, at: now)]
        }
        guard ids.count == retargetChunk, let last = rows.last else { return nil }
        return "\(try last.decode(column: "status", as: String.self)):\(try last.decode(column: "id", as: UUID.self).uuidString)"
    }

    // MARK: Ingest

    /// The expected wait in an inbox: the median time to a first response over the last day (nil if none).
    static func expectedWait(inbox: UUID, now: Date, on sql: any SQLDatabase) async throws -> TimeInterval? {
        let rows = try await sql.raw("""
            SELECT created_at, first_response_at FROM conversations
            WHERE inbox_id = \(bind: inbox) AND first_response_at IS NOT NULL AND first_response_at >= \(bind: now.addingTimeInterval(-86_400))
            ORDER BY first_response_at DESC LIMIT 200
            """).all()
        let waits = try rows.map { try $0.decode(column: "first_response_at", as: Date.self).timeIntervalSince(try $0.decode(column: "created_at", as: Date.self)) }
            .sorted()
        return waits.isEmpty ? nil : waits[waits.count / 2]
    }
}

public struct AutoReplyPayload: Codable, Sendable {
    public enum Variant: String, Codable, Sendable { case firstAnswer = "first_answer", afterHours = "after_hours", busy }
    public var conversationID: UUID
    public var variant: Variant
    enum CodingKeys: String, CodingKey { case conversationID = "conversation_id", variant }
}

public struct RetargetPayload: Codable, Sendable {
    public var workspaceID: UUID
    public var inboxID: UUID?
    /// `status:id` of the last conversation done.
    public var after: String?
    enum CodingKeys: String, CodingKey { case workspaceID = "workspace_id", inboxID = "inbox_id", after }
}

/// The rest of a retarget, a chunk per run; each run enqueues the next.
public struct RetargetJob: JobHandler {
    let store: Store

    public init(store: Store) { self.store = store }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(RetargetPayload.self)
        try await store.write { tx in
            try await tx.lockWorkspace(payload.workspaceID)
            if let last = try await ServiceLevels.retarget(workspace: payload.workspaceID, inbox: payload.inboxID, after: payload.after, in: tx) {
                try await JobQueue.enqueue(JobKind.serviceLevelRetarget,
                                           payload: RetargetPayload(workspaceID: payload.workspaceID, inboxID: payload.inboxID, after: last),
                                           workspace: payload.workspaceID, in: tx)
            }
        }
    }
}
