import FluentKit
import Foundation

/// The weekly report supervisors ask for: due each Monday at 08:00 in the workspace's time zone, for the week that
/// ended; one job per person and week (marked in the same transaction, so a second pass or instance sends nothing).
public enum WeeklyReports {
    public struct Payload: Codable, Sendable {
        public var membershipID: UUID
        /// The Monday 08:00 the report is for: it covers the seven days before that Monday.
        public var weekStart: Date
        enum CodingKeys: String, CodingKey { case membershipID = "membership_id", weekStart = "week_start" }
    }

    /// The latest Monday 08:00 at or before `now`, in `zone`.
    public static func weekStart(before now: Date, in zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = zone
        let monday = calendar.dateInterval(of: .weekOfYear, for: now)?.start ?? now
        let eight = calendar.date(byAdding: .hour, value: 8, to: monday) ?? monday
        return eight <= now ? eight : calendar.date(byAdding: .day, value: -7, to: eight) ?? eight
    }

    /// Queues the reports that are due; returns how many.
    @discardableResult
    public static func scan(store: Store) async throws -> Int {
        let due = try await Membership.query(on: store.db).filter(\.$weeklyReport == true).filter(\.$role ~~ [.supervisor, .admin])
            .with(\.$workspace).all()
        var queued = 0
        for membership in due {
            let start = weekStart(before: store.clock.now(), in: TimeZone(identifier: membership.workspace.timeZone) ?? .gmt)
            if let sent = membership.weeklyReportSentAt, sent >= start { continue }
            queued += try await store.write { tx in
                guard let fresh = try await Membership.find(membership.id, on: tx.db), fresh.weeklyReport == true,
                      (fresh.weeklyReportSentAt ?? .distantPast) < start else { return 0 }
                fresh.weeklyReportSentAt = tx.now
                try await fresh.save(on: tx.db)
                try await JobQueue.enqueue(JobKind.weeklyReport, payload: Payload(membershipID: try fresh.requireID(), weekStart: start),
                                           workspace: fresh.$workspace.id, in: tx)
                return 1
            }
        }
        return queued
    }

    /// A supervisor asks for it, or stops it.
    public static func subscribe(_ weekly: Bool, user: UUID, workspace: UUID, store: Store) async throws {
        try await store.write { tx in
            try await tx.lockWorkspace(workspace)
            guard let membership = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspace).filter(\.$user.$id == user).first()
            else { throw AtiendeError.notFound("member") }
            membership.weeklyReport = weekly
            // The first report waits for the next Monday: nothing is sent for a week that began before asking.
            if weekly, membership.weeklyReportSentAt == nil { membership.weeklyReportSentAt = tx.now }
            try await membership.save(on: tx.db)
            try await EventLog.append(.reportSubscriptionChanged, workspace: workspace, actor: user,
                                      payload: RecordEventPayload(id: try membership.requireID(), detail: weekly ? "weekly" : "none"), in: tx)
        }
    }
}
