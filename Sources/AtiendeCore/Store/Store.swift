import FluentKit
import Foundation
import Logging
import SQLKit

public enum DatabaseDialect: String, Sendable { case sqlite, postgres }

/// The one way to change data. Every write runs in a transaction and reports after commit, so a channel
/// is answered only once its data is durable.
///
/// On SQLite there is a single writer: concurrent writes are queued and committed together in one
/// transaction (each isolated by a savepoint), which turns many fsyncs into one (group commit).
/// On PostgreSQL each write is its own transaction; writers of one workspace serialize on its event
/// counter row (`WriteTransaction.lockWorkspace`).
public final class Store: Sendable {
    public let dialect: DatabaseDialect
    public let clock: any WallClock
    public let signals: StoreSignals
    /// Whether this instance can send people mail (an SMTP server is configured): notifications are then also
    /// emailed, by the `notification.email` job, to those who want them.
    public let mailsNotifications: Bool
    /// What happens, in the same transaction, after each domain change (`WriteTransaction.react`).
    public let reactions = Reactions.standard
    /// The workspaces' automation rules, compiled (`AutomationReaction.rules`).
    let ruleCache = RuleCache()
    let logger: Logger
    private let database: @Sendable () -> any Database
    private let sqliteWriter: SQLiteWriter?

    public init(dialect: DatabaseDialect, clock: any WallClock, logger: Logger, mailsNotifications: Bool = false,
                database: @escaping @Sendable () -> any Database) {
        self.dialect = dialect
        self.mailsNotifications = mailsNotifications
        self.clock = clock
        self.logger = logger
        self.database = database
        self.signals = StoreSignals()
        self.sqliteWriter = dialect == .sqlite ? SQLiteWriter(logger: logger) : nil
    }

    /// What every SQLite connection is set to, as it may be a new one (each setting holds per connection, and costs
    /// nothing to repeat): FULL makes every acknowledged commit durable; a 64 MB page cache, not SQLite's 2 MB, keeps the
    /// indexes' upper pages in memory as the database grows past a gigabyte (re-reading them was ~14% of a bulk write).
    public static let sqliteConnectionPragmas = ["PRAGMA busy_timeout = 10000", "PRAGMA synchronous = FULL", "PRAGMA cache_size = -65536"]

    /// A database handle for reads.
    public var db: any Database { database() }

    public var sql: any SQLDatabase {
        guard let sql = database() as? any SQLDatabase else { fatalError("Atiende needs an SQL database") }
        return sql
    }

    /// Runs `body` in a transaction; returns only after commit. A thrown error rolls back everything
    /// `body` wrote and is rethrown.
    public func write<T: Sendable>(_ body: @escaping @Sendable (WriteTransaction) async throws -> T) async throws -> T {
        let outcome: T
        let tx: WriteTransaction
        if let writer = sqliteWriter {
            (outcome, tx) = try await writer.submit(database: database(), store: self, body)
        } else {
            let holder = TransactionHolder()
            outcome = try await database().transaction { db in
                let tx = WriteTransaction(db: db, store: self)
                holder.tx = tx
                return try await body(tx)
            }
            guard let committed = holder.tx else { return outcome }
            tx = committed
        }
        tx.committed()
        return outcome
    }
}

private final class TransactionHolder: @unchecked Sendable {
    var tx: WriteTransaction?
}

/// What a write may do besides plain queries: lock a workspace, and arrange work for after commit.
public final class WriteTransaction: @unchecked Sendable {
    public let db: any Database
    public let store: Store
    private let lock = NSLock()
    private var afterCommit: [@Sendable () -> Void] = []
    private var notifiedWorkspaces: Set<UUID> = []
    private var reactionDepth = 0
    private var memos: [String: any Sendable] = [:]

    init(db: any Database, store: Store) {
        self.db = db
        self.store = store
    }

    public var sql: any SQLDatabase {
        guard let sql = db as? any SQLDatabase else { fatalError("Atiende needs an SQL database") }
        return sql
    }

    /// The clock's time rounded to microseconds: what both databases store exactly, so a value read back
    /// compares equal to the stored one (keyset cursors depend on it).
    public var now: Date { store.clock.now().roundedToMicroseconds }

    /// Serializes writers of one workspace until commit, so identity resolution, threading and numbering
    /// see each other's results. SQLite has one writer already.
    public func lockWorkspace(_ workspaceID: UUID) async throws {
        guard store.dialect == .postgres else { return }
        try await sql.raw("""
            SELECT value FROM workspace_counters WHERE workspace_id = \(bind: workspaceID) AND name = 'event' FOR UPDATE
            """).run()
    }

    /// Takes the next `count` values of a per-workspace counter inside this transaction; returns the last one.
    public func advance(_ counter: WorkspaceCounter.Name, by count: Int, in workspaceID: UUID) async throws -> Int64 {
        let row = try await sql.raw("""
            UPDATE workspace_counters SET value = value + \(bind: count)
            WHERE workspace_id = \(bind: workspaceID) AND name = \(bind: counter.rawValue)
            RETURNING value
            """).first()
        guard let row, let value = try? row.decode(column: "value", as: Int64.self) else {
            throw AtiendeError.notFound("workspace")
        }
        return value
    }

    func enterReactions() -> Bool {
        lock.withLock {
            guard reactionDepth < Reactions.maxDepth else { return false }
            reactionDepth += 1
            return true
        }
    }

    func leaveReactions() { lock.withLock { reactionDepth -= 1 } }

    /// A value computed once per transaction (what several reactions would each read, e.g. which inboxes have a policy).
    public func memo<T: Sendable>(_ key: String, _ compute: () async throws -> T) async rethrows -> T {
        if let known = lock.withLock({ memos[key] }) as? T { return known }
        let value = try await compute()
        lock.withLock { memos[key] = value }
        return value
    }

    public func onCommit(_ action: @escaping @Sendable () -> Void) {
        lock.withLock { afterCommit.append(action) }
    }

    /// Marks that this transaction appended events for the workspace; listeners hear of it after commit.
    func eventsAppended(in workspaceID: UUID) async throws {
        let first = lock.withLock { notifiedWorkspaces.insert(workspaceID).inserted }
        guard first else { return }
        if store.dialect == .postgres {
            // Delivered by PostgreSQL at commit to every instance listening.
            try await sql.raw("SELECT pg_notify('atiende_events', \(bind: workspaceID.uuidString))").run()
        }
        let signals = store.signals
        onCommit { signals.eventsCommitted(in: workspaceID) }
    }

    func committed() {
        let actions = lock.withLock { afterCommit }
        for action in actions { action() }
    }
}

/// Fan-out of "something was committed" to in-process listeners (realtime hub, job runner).
public final class StoreSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var eventListeners: [UUID: @Sendable (UUID) -> Void] = [:]
    private var jobListeners: [UUID: @Sendable () -> Void] = [:]

    public init() {}

    @discardableResult
    public func onEvents(_ listener: @escaping @Sendable (UUID) -> Void) -> UUID {
        let id = UUID()
        lock.withLock { eventListeners[id] = listener }
        return id
    }

    @discardableResult
    public func onJobs(_ listener: @escaping @Sendable () -> Void) -> UUID {
        let id = UUID()
        lock.withLock { jobListeners[id] = listener }
        return id
    }

    public func remove(_ id: UUID) {
        lock.withLock {
            eventListeners[id] = nil
            jobListeners[id] = nil
        }
    }

    public func eventsCommitted(in workspaceID: UUID) {
        let listeners = lock.withLock { Array(eventListeners.values) }
        for listener in listeners { listener(workspaceID) }
    }

    public func jobsEnqueued() {
        let listeners = lock.withLock { Array(jobListeners.values) }
        for listener in listeners { listener() }
    }
}

extension Date {
    public var roundedToMicroseconds: Date {
        Date(timeIntervalSinceReferenceDate: (timeIntervalSinceReferenceDate * 1e6).rounded() / 1e6)
    }
}
