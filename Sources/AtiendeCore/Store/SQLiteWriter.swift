import FluentKit
import Foundation
import Logging
import SQLKit

/// SQLite's single writer with group commit: requests that arrive while a batch commits form the next batch.
actor SQLiteWriter {
    private struct Request: Sendable {
        /// Runs the body; returns how to answer the caller once the batch has committed.
        let run: @Sendable (WriteTransaction) async throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    private static let maxBatch = 256
    private let logger: Logger
    private var pending: [Request] = []
    private var draining = false

    init(logger: Logger) { self.logger = logger }

    nonisolated func submit<T: Sendable>(
        database: any Database, store: Store,
        _ body: @escaping @Sendable (WriteTransaction) async throws -> T
    ) async throws -> (T, WriteTransaction) {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(T, WriteTransaction), any Error>) in
            let request = Request(
                run: { tx in
                    let value = try await body(tx)
                    return { continuation.resume(returning: (value, tx)) }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            Task { await self.enqueue(request, database: database, store: store) }
        }
    }

    private func enqueue(_ request: Request, database: any Database, store: Store) {
        pending.append(request)
        guard !draining else { return }
        draining = true
        Task { await self.drain(database: database, store: store) }
    }

    private func drain(database: any Database, store: Store) async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(Self.maxBatch))
            pending.removeFirst(batch.count)
            await Self.commit(batch, database: database, store: store, logger: logger)
        }
        draining = false
    }

    private static func commit(_ batch: [Request], database: any Database, store: Store, logger: Logger) async {
        let answers: [@Sendable () -> Void]
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            let now = DispatchTime.now().uptimeNanoseconds
            logger.debug("write batch", metadata: ["size": "\(batch.count)", "ms": "\(Double(now - started) / 1e6)"])
        }
        do {
            answers = try await database.withConnection { conn in
                guard let sql = conn as? any SQLDatabase else { throw AtiendeError(.unavailable, "not an SQL database") }
                for pragma in Store.sqliteConnectionPragmas { try await sql.raw(SQLQueryString(pragma)).run() }
                try await sql.raw("BEGIN IMMEDIATE").run()
                var answers: [@Sendable () -> Void] = []
                do {
                    for request in batch {
                        try await sql.raw("SAVEPOINT atiende_write").run()
                        do {
                            answers.append(try await request.run(WriteTransaction(db: conn, store: store)))
                            try await sql.raw("RELEASE atiende_write").run()
                        } catch {
                            try await sql.raw("ROLLBACK TO atiende_write").run()
                            try await sql.raw("RELEASE atiende_write").run()
                            answers.append { request.fail(error) }
                        }
                    }
                    try await sql.raw("COMMIT").run()
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
                return answers
            }
        } catch {
            logger.error("write batch failed", metadata: ["error": "\(String(reflecting: error))", "size": "\(batch.count)"])
            // Nothing of the batch is committed and no caller has been answered yet.
            for request in batch { request.fail(error) }
            return
        }
        for answer in answers { answer() }
    }
}

