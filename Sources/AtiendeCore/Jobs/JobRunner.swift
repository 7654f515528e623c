import FluentKit
import Foundation
import Logging

/// Work for one job kind.
public protocol JobHandler: Sendable {
    /// Does the work; throws `JobFailure` (other errors count as temporary).
    func run(_ job: ClaimedJob) async throws
    /// Called in the transaction that dead-letters the job, to record the failure where people see it.
    func deadLettered(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws
    /// Called in the transaction that schedules another try, to show people that it is being retried and why.
    func willRetry(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws
}

extension JobHandler {
    public func deadLettered(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws {}
    public func willRetry(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws {}
}

/// Runs due jobs in this process: wakes when jobs are enqueued, and polls for timers and other instances' work.
public final class JobRunner: Sendable {
    public struct Options: Sendable {
        public var concurrency: Int = 8
        public var lease: TimeInterval = 120
        public var backoffBase: TimeInterval = 5
        public var pollInterval: TimeInterval = 1

        public init(concurrency: Int = 8, lease: TimeInterval = 120, backoffBase: TimeInterval = 5, pollInterval: TimeInterval = 1) {
            self.concurrency = concurrency
            self.lease = lease
            self.backoffBase = backoffBase
            self.pollInterval = pollInterval
        }
    }

    private let store: Store
    private let handlers: [JobKind: any JobHandler]
    private let options: Options
    private let logger: Logger
    private let wake = WakeSignal()

    public init(store: Store, handlers: [JobKind: any JobHandler], options: Options, logger: Logger) {
        self.store = store
        self.handlers = handlers
        self.options = options
        self.logger = logger
        let wake = self.wake
        store.signals.onJobs { wake.signal() }
    }

    public func nudge() { wake.signal() }

    /// Runs until the task is cancelled.
    public func run() async {
        logger.info("job runner started", metadata: ["kinds": "\(handlers.keys.map(\.rawValue).sorted())"])
        while !Task.isCancelled {
            do {
                var ran = 0
                repeat {
                    ran = try await runOnce()
                } while ran > 0 && !Task.isCancelled
            } catch {
                logger.warning("job runner: \(String(reflecting: error))")
            }
            await sleepUntilWoken()
        }
    }

    /// Claims and runs one batch of due jobs; returns how many ran.
    @discardableResult
    public func runOnce() async throws -> Int {
        let jobs = try await JobQueue.claim(limit: options.concurrency, lease: options.lease, store: store)
        await withTaskGroup(of: Void.self) { group in
            for job in jobs { group.addTask { await self.execute(job) } }
        }
        return jobs.count
    }

    private func sleepUntilWoken() async {
        await wake.wait(timeout: options.pollInterval)
    }

    private func execute(_ job: ClaimedJob) async {
        guard let handler = handlers[JobKind(rawValue: job.kind)] else {
            await finish(job, failure: .permanent("no handler for job kind '\(job.kind)'"), handler: nil)
            return
        }
        do {
            try await handler.run(job)
            _ = try await store.write { tx in
                try await Job.query(on: tx.db).filter(\.$id == job.id).delete()
            }
        } catch let failure as JobFailure {
            await finish(job, failure: failure, handler: handler)
        } catch {
            await finish(job, failure: .temporary(String(describing: error)), handler: handler)
        }
    }

    private func finish(_ job: ClaimedJob, failure: JobFailure, handler: (any JobHandler)?) async {
        let reason = String(failure.reason.prefix(2000))
        let base = options.backoffBase
        do {
            try await store.write { tx in
                guard let row = try await Job.find(job.id, on: tx.db) else { return }
                row.lastError = reason
                row.lockedUntil = nil
                if job.attempts >= job.maxAttempts || !failure.retry {
                    row.deadAt = tx.now
                    try await row.save(on: tx.db)
                    try await handler?.deadLettered(job, failure: failure, in: tx)
                    if let workspaceID = job.workspaceID {
                        try await EventLog.append(.jobDeadLettered, workspace: workspaceID,
                                                  payload: DeadLetterPayload(jobID: job.id, kind: job.kind, reason: reason,
                                                                             attempts: job.attempts), in: tx)
                    }
                } else {
                    let delay = failure.after.map { max($0, 0) } ?? JobQueue.backoff(afterAttempt: job.attempts, base: base)
                    row.runAt = tx.now.addingTimeInterval(delay)
                    try await row.save(on: tx.db)
                    try await handler?.willRetry(job, failure: failure, in: tx)
                }
            }
            logger.info("job failed", metadata: ["kind": "\(job.kind)", "attempt": "\(job.attempts)", "reason": "\(reason)"])
        } catch {
            logger.error("could not record job failure", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }
}

public struct DeadLetterPayload: Codable, Sendable {
    public var jobID: UUID
    public var kind: String
    public var reason: String
    public var attempts: Int

    enum CodingKeys: String, CodingKey {
        case kind, reason, attempts
        case jobID = "job_id"
    }
}

/// Wakes one waiter, or the next one if nobody waits yet; a wait also ends after its timeout.
final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var generation = 0

    func signal() {
        let waiting: CheckedContinuation<Void, Never>? = lock.withLock {
            guard let waiter else { pending = true; return nil }
            self.waiter = nil
            return waiter
        }
        waiting?.resume()
    }

    func wait(timeout: TimeInterval) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (ready, generation) = lock.withLock { () -> (Bool, Int) in
                if pending { pending = false; return (true, 0) }
                self.generation += 1
                waiter = continuation
                return (false, self.generation)
            }
            if ready { continuation.resume(); return }
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(timeout))
                self?.expire(generation)
            }
        }
    }

    private func expire(_ generation: Int) {
        let waiting: CheckedContinuation<Void, Never>? = lock.withLock {
            guard generation == self.generation, let waiter else { return nil }
            self.waiter = nil
            return waiter
        }
        waiting?.resume()
    }
}
