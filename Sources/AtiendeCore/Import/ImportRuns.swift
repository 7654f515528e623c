import Foundation
import SQLKit

public enum ImportRunStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, finished, failed
}

/// An import started from the admin pages, as its page shows it.
public struct ImportRun: Sendable {
    public var id: UUID
    public var format: ImportFormat
    public var inboxID: UUID
    public var dryRun: Bool
    public var status: ImportRunStatus
    public var report: Importer.Report?
    public var error: String?
    public var actorID: UUID?
    public var createdAt: Date
    public var finishedAt: Date?
}

/// Imports started from the admin pages: the export unpacked in its own folder, worked through by `import.run` jobs a
/// slice at a time (each slice stops after `sliceSeconds`, well inside a job's lease, and enqueues the next), the
/// report growing in `import_runs` as it goes. A slice that dies is run again; the import's keys make that harmless.
public struct ImportRuns: Sendable {
    public static let sliceSeconds: TimeInterval = 30

    let store: Store
    public let importer: Importer
    /// Where each run's export is unpacked, a folder per run; removed when the run ends.
    let folders: URL

    public init(store: Store, importer: Importer, folders: URL) {
        self.store = store
        self.importer = importer
        self.folders = folders
    }

    public func folder(_ id: UUID) -> URL { folders.appendingPathComponent(id.uuidString.lowercased(), isDirectory: true) }

    struct Payload: Codable, Sendable {
        var runID: UUID
        enum CodingKeys: String, CodingKey { case runID = "run_id" }
    }

    /// Queues the run whose export is already in `folder(id)`.
    public func start(_ id: UUID, format: ImportFormat, inbox: Inbox, dryRun: Bool, actor: UUID) async throws {
        let workspace = inbox.$workspace.id
        let inboxID = try inbox.requireID()
        try await store.write { tx in
            try await tx.sql.raw("""
                INSERT INTO import_runs (id, workspace_id, format, inbox_id, dry_run, status, slices, actor_id, created_at)
                VALUES (\(bind: id), \(bind: workspace), \(bind: format.rawValue), \(bind: inboxID), \(bind: dryRun),
                        \(bind: ImportRunStatus.queued.rawValue), 0, \(bind: actor), \(bind: tx.now))
                """).run()
            try await JobQueue.enqueue(.importRun, payload: Payload(runID: id), workspace: workspace, in: tx)
        }
    }

    /// The workspace's runs, newest first.
    public func list(workspace: UUID, limit: Int = 20) async throws -> [ImportRun] {
        try await store.sql.raw("""
            SELECT * FROM import_runs WHERE workspace_id = \(bind: workspace) ORDER BY created_at DESC LIMIT \(unsafeRaw: String(limit))
            """).all().map(Self.run)
    }

    func find(_ id: UUID) async throws -> (run: ImportRun, workspace: UUID, slices: Int)? {
        guard let row = try await store.sql.raw("SELECT * FROM import_runs WHERE id = \(bind: id)").first() else { return nil }
        return (try Self.run(row), try row.decode(column: "workspace_id", as: UUID.self), try row.decode(column: "slices", as: Int.self))
    }

    static func run(_ row: any SQLRow) throws -> ImportRun {
        ImportRun(id: try row.decode(column: "id", as: UUID.self),
                  format: ImportFormat(rawValue: try row.decode(column: "format", as: String.self)) ?? .csv,
                  inboxID: try row.decode(column: "inbox_id", as: UUID.self), dryRun: try row.decode(column: "dry_run", as: Bool.self),
                  status: ImportRunStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
                  report: try row.decode(column: "report", as: String?.self).flatMap { JSON.decode(Importer.Report.self, from: $0) },
                  error: try row.decode(column: "error", as: String?.self), actorID: try row.decode(column: "actor_id", as: UUID?.self),
                  createdAt: try row.decode(column: "created_at", as: Date.self), finishedAt: try row.decode(column: "finished_at", as: Date?.self))
    }

    /// One slice of a run: from where the last one stopped, for `sliceSeconds`; then, in one transaction, its report
    /// saved and the next slice queued, or the run finished with its audit entry (and its folder removed after). Only
    /// the slice that saves first goes on: one that ran beside it (a job claimed again after its lease) saves nothing.
    func slice(_ id: UUID) async throws {
        guard let (run, workspace, slices) = try await find(id), run.status == .queued || run.status == .running else { return }
        guard let inbox = try await Inbox.find(run.inboxID, on: store.db) else { return try await fail(id, "the inbox was deleted") }
        if run.status == .queued {
            try await store.write { tx in
                try await tx.sql.raw("UPDATE import_runs SET status = \(bind: ImportRunStatus.running.rawValue) WHERE id = \(bind: id)").run()
            }
        }
        let history: ImportedHistory
        do { history = try run.format.read(folder(id)) } catch { return try await fail(id, "\(error)") }
        let slice = try await importer.run(history, format: run.format, inbox: inbox, dryRun: run.dryRun, from: run.report?.next ?? 0,
                                           until: Date().addingTimeInterval(Self.sliceSeconds))
        var report = run.report ?? slice
        if run.report != nil { report.add(slice) }
        let done = report.next == nil
        let json = try EventLog.json(report), final = report
        let saved = try await store.write { tx -> Bool in
            let rows = try await tx.sql.raw("""
                UPDATE import_runs SET status = \(bind: (done ? ImportRunStatus.finished : .running).rawValue), report = \(bind: json),
                    slices = slices + 1, finished_at = \(bind: done ? tx.now : nil)
                WHERE id = \(bind: id) AND slices = \(bind: slices) RETURNING id
                """).all()
            guard !rows.isEmpty else { return false }
            if done { try await Importer.finish(final, inbox: inbox, actor: run.actorID, in: tx) }
            else { try await JobQueue.enqueue(.importRun, payload: Payload(runID: id), workspace: workspace, in: tx) }
            return true
        }
        if saved && done { try? FileManager.default.removeItem(at: folder(id)) }
    }

    func fail(_ id: UUID, _ reason: String) async throws {
        try await store.write { tx in try await Self.fail(id, reason, in: tx) }
        try? FileManager.default.removeItem(at: folder(id))
    }

    /// The run marked failed with its reason (its folder is the caller's to remove, after the commit).
    static func fail(_ id: UUID, _ reason: String, in tx: WriteTransaction) async throws {
        try await tx.sql.raw("""
            UPDATE import_runs SET status = \(bind: ImportRunStatus.failed.rawValue), error = \(bind: String(reason.prefix(2000))),
                finished_at = \(bind: tx.now) WHERE id = \(bind: id)
            """).run()
    }
}

extension JobKind {
    /// A slice of an import started from the admin pages (`ImportRuns`).
    public static let importRun = JobKind(rawValue: "import.run")
}

/// Runs the slices of admin imports; a run whose job gives up is marked failed with the reason.
public struct ImportRunJob: JobHandler {
    let runs: ImportRuns

    public init(runs: ImportRuns) { self.runs = runs }

    public func run(_ job: ClaimedJob) async throws {
        try await runs.slice(try job.decode(ImportRuns.Payload.self).runID)
    }

    public func deadLettered(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws {
        guard let id = try? job.decode(ImportRuns.Payload.self).runID else { return }
        try await ImportRuns.fail(id, failure.reason, in: tx)
        // The export holds customers' data: it goes with the run (even if this transaction were to roll back, the run
        // could not go on without it and says why).
        try? FileManager.default.removeItem(at: runs.folder(id))
    }

    public func willRetry(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws {}
}
