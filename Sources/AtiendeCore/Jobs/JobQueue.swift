import FluentKit
import Foundation
import SQLKit

/// A job's way of saying how it failed.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    /// Worth trying again later (timeouts, 5xx, rate limits)?
    public var retry: Bool
    /// Overrides the back-off (a provider's `retry_after`).
    public var after: TimeInterval?
    /// What went wrong, typed: a message's delivery shows it in the reader's language, with `reason`.
    public var code: DeliveryFailure.Code
    /// The provider's or server's own words (English, as they answered).
    public var reason: String

    /// Worth trying again later (timeouts, 5xx, rate limits); `after` overrides the back-off.
    public static func temporary(_ reason: String, after: TimeInterval? = nil, code: DeliveryFailure.Code = .unreachable) -> JobFailure {
        JobFailure(retry: true, after: after, code: code, reason: reason)
    }

    /// Will never succeed (4xx, bad configuration): dead-lettered at once.
    public static func permanent(_ reason: String, code: DeliveryFailure.Code = .failed) -> JobFailure {
        JobFailure(retry: false, after: nil, code: code, reason: reason)
    }

    public var failure: DeliveryFailure { DeliveryFailure(code, reason) }
    public var description: String { reason }
}

/// A job taken by a worker, with its lock.
public struct ClaimedJob: Sendable {
    public var id: UUID
    public var workspaceID: UUID?
    public var kind: String
    public var payload: String
    public var attempts: Int
    public var maxAttempts: Int

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do { return try JSON.decoder.decode(T.self, from: Data(payload.utf8)) }
        catch { throw JobFailure.permanent("unreadable job payload: \(error)") }
    }
}

public enum JobQueue {
    public static let defaultMaxAttempts = 8

    /// Enqueues in the caller's transaction (transactional outbox): the job exists exactly when the data does.
    @discardableResult
    public static func enqueue(
        _ kind: JobKind, payload: some Encodable & Sendable, workspace workspaceID: UUID?,
        runAt: Date? = nil, maxAttempts: Int = defaultMaxAttempts, in tx: WriteTransaction
    ) async throws -> Job {
        let json = String(decoding: try JSON.encoder.encode(payload), as: UTF8.self)
        let job = Job(workspaceID: workspaceID, kind: kind.rawValue, payload: json, runAt: runAt ?? tx.now,
                      maxAttempts: maxAttempts, at: tx.now)
        try await job.create(on: tx.db)
        let signals = tx.store.signals
        tx.onCommit { signals.jobsEnqueued() }
        return job
    }

    /// Atomically locks up to `limit` due jobs for `lease` seconds. A crashed worker's jobs come back
    /// when their lock expires.
    public static func claim(limit: Int, lease: TimeInterval, store: Store) async throws -> [ClaimedJob] {
        let skipLocked = store.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        return try await store.write { tx in
            let now = tx.now
            let rows = try await tx.sql.raw("""
                UPDATE jobs SET locked_until = \(bind: now.addingTimeInterval(lease)), attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE dead_at IS NULL AND run_at <= \(bind: now)
                      AND (locked_until IS NULL OR locked_until < \(bind: now))
                    ORDER BY run_at LIMIT \(bind: limit)\(unsafeRaw: skipLocked))
                RETURNING id, workspace_id, kind, payload, attempts, max_attempts
                """).all()
            return try rows.map { row in
                ClaimedJob(id: try row.decode(column: "id", as: UUID.self),
                           workspaceID: try row.decode(column: "workspace_id", as: UUID?.self),
                           kind: try row.decode(column: "kind", as: String.self),
                           payload: try row.decode(column: "payload", as: String.self),
                           attempts: try row.decode(column: "attempts", as: Int.self),
                           maxAttempts: try row.decode(column: "max_attempts", as: Int.self))
            }
        }
    }

    /// When the next job is due, to sleep until then.
    public static func nextRunAt(store: Store) async throws -> Date? {
        try await Job.query(on: store.db).filter(\.$deadAt == nil).sort(\.$runAt, .ascending).first()?.runAt
    }

    /// Back-off before attempt `attempts + 1`: 2^(n-1) × base, capped at one hour, with ±20% jitter.
    public static func backoff(afterAttempt attempts: Int, base: TimeInterval) -> TimeInterval {
        let exponential = base * pow(2, Double(max(0, attempts - 1)))
        let capped = min(exponential, 3600)
        return capped * Double.random(in: 0.8...1.2)
    }

    /// Dead-lettered jobs of a workspace, newest first.
    public static func deadLetters(workspace workspaceID: UUID, on db: any Database) async throws -> [Job] {
        try await Job.query(on: db).filter(\.$workspaceID == workspaceID).filter(\.$deadAt != nil)
            .sort(\.$deadAt, .descending).limit(500).all()
    }
}

extension JobQueue {
    /// Gives a dead job of the workspace a fresh set of attempts (a reply shows as queued again), with its event.
    public static func retry(_ jobID: UUID, workspace workspaceID: UUID, actor: UUID, store: Store) async throws {
        try await store.write { tx in
            guard let job = try await Job.query(on: tx.db).filter(\.$id == jobID).filter(\.$workspaceID == workspaceID)
                .filter(\.$deadAt != nil).first()
            else { throw AtiendeError.notFound("failed job") }
            try await revive(job, in: tx)
            if job.kind == JobKind.send.rawValue, let payload = try? JSON.decoder.decode(SendPayload.self, from: Data(job.payload.utf8)) {
                try await Message.query(on: tx.db).filter(\.$id == payload.messageID).set(\.$deliveryStatus, to: .queued).update()
            }
            try await EventLog.append(.jobRetried, workspace: workspaceID, actor: actor, payload: RecordEventPayload(id: jobID, detail: job.kind), in: tx)
        }
    }

    /// A dead-lettered job due again, with all its tries; the runner is woken at commit.
    static func revive(_ job: Job, in tx: WriteTransaction) async throws {
        job.deadAt = nil
        job.attempts = 0
        job.lockedUntil = nil
        job.runAt = tx.now
        try await job.save(on: tx.db)
        let signals = tx.store.signals
        tx.onCommit { signals.jobsEnqueued() }
    }
}
