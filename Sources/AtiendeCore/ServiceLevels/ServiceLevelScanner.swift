import FluentKit
import Foundation
import SQLKit

/// The deadline scan: finds conversations whose next warning or breach is due (`sla_next_alert_at`, indexed),
/// tells the assignee and the supervisors, escalates breaches as the policy says, and records what was sent in
/// the conversation's clocks, so each alert goes out once — also after a restart, when everything that fell due
/// while the server was down goes out on the first scan.
public struct ServiceLevelScanner: Sendable {
    public static let interval: TimeInterval = 5
    public static let batch = 1000

    public struct AlertPayload: Codable, Sendable {
        public var conversationNumber: Int
        public var clock: ConversationClocks.Kind
        public var alert: ConversationClocks.Alert
        public var dueAt: Date?
        enum CodingKeys: String, CodingKey { case clock, alert, conversationNumber = "conversation_number", dueAt = "due_at" }
    }

    let store: Store

    public init(store: Store) { self.store = store }

    /// One pass; returns the number of alerts sent.
    @discardableResult
    public func scan() async throws -> Int {
        let now = store.clock.now()
        let rows = try await store.sql.raw("""
            SELECT id, workspace_id FROM conversations WHERE sla_next_alert_at <= \(bind: now)
            ORDER BY sla_next_alert_at LIMIT \(unsafeRaw: String(Self.batch))
            """).all()
        guard !rows.isEmpty else { return 0 }
        var byWorkspace: [UUID: [UUID]] = [:]
        for row in rows { byWorkspace[try row.decode(column: "workspace_id", as: UUID.self), default: []].append(try row.decode(column: "id", as: UUID.self)) }
        var sent = 0
        for (workspaceID, ids) in byWorkspace {
            sent += try await store.write { tx in
                try await tx.lockWorkspace(workspaceID)
                var alerts: [DomainChange] = []
                for var subject in try await ServiceLevels.subjects(ids, in: tx) {
                    let due = subject.clocks.dueAlerts(now: tx.now, warnAtPercent: subject.rules?.warnAtPercent ?? 75, time: subject.time)
                    guard !due.isEmpty else { try await ServiceLevels.save(subject, in: tx); continue }
                    // Recorded as sent first: what the reactions then change (an escalation's new targets) is saved on top.
                    for (kind, alert) in due { subject.clocks.markSent(kind, alert) }
                    try await ServiceLevels.save(subject, in: tx)
                    for (kind, alert) in due {
                        try await EventLog.append(alert == .warning ? .slaWarning : .slaBreached, workspace: workspaceID, conversation: subject.id,
                                                  payload: AlertPayload(conversationNumber: subject.number, clock: kind, alert: alert,
                                                                        dueAt: subject.clocks.due(kind, time: subject.time)), in: tx)
                        alerts.append(.serviceLevelAlert(.init(subject: subject, clock: kind, alert: alert)))
                    }
                }
                // Notifications and escalations are the alerts' reactions.
                try await tx.react(alerts)
                return alerts.count
            }
        }
        return sent
    }
}

/// An SLA alert for people, delivered now or, when the policy says so, at the inbox's next opening.
public struct DeferredNotice: Codable, Sendable {
    public var users: [UUID]
    public var kind: AgentNotification.Kind
    public var workspaceID: UUID
    public var conversationID: UUID
    public var number: Int
    public var excerpt: String
    enum CodingKeys: String, CodingKey { case users, kind, number, excerpt, workspaceID = "workspace_id", conversationID = "conversation_id" }

    func deliver(in tx: WriteTransaction) async throws {
        try await Notifications.notify(users, of: kind, workspace: workspaceID, conversationID: conversationID, number: number,
                                       actor: nil, excerpt: excerpt, in: tx)
    }
}

public struct DeferredNoticeJob: JobHandler {
    let store: Store
    public init(store: Store) { self.store = store }
    public func run(_ job: ClaimedJob) async throws {
        let notice = try job.decode(DeferredNotice.self)
        try await store.write { tx in try await notice.deliver(in: tx) }
    }
}
