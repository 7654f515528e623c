import FluentKit
import Foundation
import SQLKit

/// The deadline scan: finds conversations whose next warning or breach is due (`sla_next_alert_at`, indexed),
/// tells the assignee and the supervisors, escalates breaches as the policy says, and records what was sent in
/// the conversation's clocks, so each alert goes out once — also after a restart, when everything that fell due
/// while the server was down goes out on the first scan.
public struct ServiceLevelScanner: Sendable {
    public static let interval: TimeInterval = 5
    public static let noticeJob = "sla.notice"
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
                let watchers = try await ServiceLevels.supervisors(of: workspaceID, in: tx)
                var count = 0
                for var subject in try await ServiceLevels.subjects(ids, in: tx) {
                    let time = subject.time
                    for (kind, alert) in subject.clocks.dueAlerts(now: tx.now, warnAtPercent: subject.rules?.warnAtPercent ?? 75, time: time) {
                        try await fire(alert, kind, subject: subject, watchers: watchers, in: tx)
                        subject.clocks.markSent(kind, alert)
                        count += 1
                    }
                    try await ServiceLevels.save(subject, in: tx)
                }
                return count
            }
        }
        return sent
    }

    private func fire(_ alert: ConversationClocks.Alert, _ kind: ConversationClocks.Kind, subject: ServiceLevels.Subject,
                      watchers: [UUID], in tx: WriteTransaction) async throws {
        let due = subject.clocks.due(kind, time: subject.time)
        try await EventLog.append(alert == .warning ? .slaWarning : .slaBreached, workspace: subject.workspaceID, conversation: subject.id,
                                  payload: AlertPayload(conversationNumber: subject.number, clock: kind, alert: alert, dueAt: due), in: tx)
        let recipients = Array(Set(watchers + [subject.assigneeID].compactMap { $0 })).sorted { $0.uuidString < $1.uuidString }
        func notice(_ users: [UUID]) -> DeferredNotice {
            DeferredNotice(users: users, kind: alert == .warning ? .slaWarning : .slaBreach, workspaceID: subject.workspaceID,
                           conversationID: subject.id, number: subject.number, excerpt: kind.rawValue)
        }
        guard subject.rules?.notifyInBusinessHours == true, !recipients.isEmpty else {
            try await notice(recipients).deliver(in: tx)
            return try await escalate(alert, subject: subject, in: tx)
        }
        // Each person is told within their own working hours when they have them, else within the inbox's.
        let own = try await User.query(on: tx.db).filter(\.$id ~~ recipients).all()
        var hoursOf: [UUID: BusinessHours] = [:]
        for user in own { if let id = user.id, let hours = user.workingHours { hoursOf[id] = hours } }
        var byTime: [Date: [UUID]] = [:]
        var now: [UUID] = []
        for id in recipients {
            if let hours = hoursOf[id] ?? subject.hours, !hours.isOpen(at: tx.now), let opening = hours.nextOpening(after: tx.now) {
                byTime[opening, default: []].append(id)
            } else {
                now.append(id)
            }
        }
        if !now.isEmpty { try await notice(now).deliver(in: tx) }
        for (opening, users) in byTime.sorted(by: { $0.key < $1.key }) {
            try await JobQueue.enqueue(Self.noticeJob, payload: notice(users), workspace: subject.workspaceID, runAt: opening, in: tx)
        }
        try await escalate(alert, subject: subject, in: tx)
    }

    private func escalate(_ alert: ConversationClocks.Alert, subject: ServiceLevels.Subject, in tx: WriteTransaction) async throws {
        guard alert == .breach, let rules = subject.rules else { return }
        if let priority = rules.escalatePriority, priority.rank > subject.priority.rank {
            try await tx.sql.raw("""
                UPDATE conversations SET priority = \(bind: priority.rawValue), priority_rank = \(bind: priority.rank), updated_at = \(bind: tx.now)
                WHERE id = \(bind: subject.id)
                """).run()
        }
        if let team = rules.escalateTeamID {
            try await tx.sql.raw("""
                UPDATE conversations SET team_id = \(bind: team), updated_at = \(bind: tx.now)
                WHERE id = \(bind: subject.id) AND EXISTS (SELECT 1 FROM teams WHERE id = \(bind: team) AND workspace_id = \(bind: subject.workspaceID))
                """).run()
        }
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
