import Foundation
import SQLKit

/// A recurring task that one instance at a time runs (the deadline scan): the instance holding the lease renews it
/// on each run; when it stops or dies, the lease runs out and another instance takes the task over.
public struct TaskLease: Sendable {
    public let name: String
    public let owner: UUID
    public let duration: TimeInterval

    public init(name: String, owner: UUID, duration: TimeInterval) {
        self.name = name
        self.owner = owner
        self.duration = duration
    }

    /// Takes or renews the lease; false while another instance holds it.
    public func claim(store: Store) async throws -> Bool {
        try await store.write { tx in
            let now = tx.now
            let row = try await tx.sql.raw("""
                INSERT INTO task_leases (name, owner, lease_until) VALUES (\(bind: name), \(bind: owner), \(bind: now.addingTimeInterval(duration)))
                ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
                WHERE task_leases.owner = excluded.owner OR task_leases.lease_until < \(bind: now)
                RETURNING owner
                """).first()
            return try row?.decode(column: "owner", as: UUID.self) == owner
        }
    }

    /// Gives the lease up (a clean stop): another instance takes over at once instead of when it runs out.
    public func release(store: Store) async throws {
        try await store.write { tx in
            try await tx.sql.raw("DELETE FROM task_leases WHERE name = \(bind: name) AND owner = \(bind: owner)").run()
        }
    }

    /// Runs `body` every `interval` while this instance holds the lease, until the task is cancelled.
    public func run(every interval: TimeInterval, store: Store, _ body: @Sendable () async throws -> Void,
                    onError: @Sendable (any Error) -> Void) async {
        while !Task.isCancelled {
            do {
                if try await claim(store: store) { try await body() }
            } catch {
                onError(error)
            }
            try? await Task.sleep(for: .seconds(interval))
        }
        try? await release(store: store)
    }
}
