import Foundation
import Logging

/// Gathers inbound messages that arrive together and stores them in one write (group commit for ingest).
/// One batch is in flight per process; whatever arrives meanwhile forms the next one.
actor IngestBatcher {
    private struct Waiting {
        let item: IngestItem
        let continuation: CheckedContinuation<IngestResult, any Error>
    }

    static let maxBatch = 400
    private let store: Store
    private var pending: [Waiting] = []
    private var draining = false

    init(store: Store) { self.store = store }

    func submit(_ item: IngestItem) async throws -> IngestResult {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Waiting(item: item, continuation: continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(Self.maxBatch))
            pending.removeFirst(batch.count)
            await Self.store(batch, store: store)
        }
        draining = false
    }

    private static func store(_ batch: [Waiting], store: Store) async {
        let items = batch.map(\.item)
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let results = try await store.write { tx in try await IngestBatch.run(items, in: tx) }
            store.logger.debug("ingest batch", metadata: ["size": "\(batch.count)",
                                                          "ms": "\(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)"])
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
        } catch where batch.count > 1 {
            // Something in the batch failed: store each message alone, so only the faulty one is refused.
            store.logger.warning("ingest batch failed, retrying one by one", metadata: ["size": "\(batch.count)", "error": "\(error)"])
            for waiting in batch {
                do {
                    let result = try await store.write { tx in try await IngestBatch.run([waiting.item], in: tx) }
                    waiting.continuation.resume(returning: result[0])
                } catch {
                    waiting.continuation.resume(throwing: error)
                }
            }
        } catch {
            batch[0].continuation.resume(throwing: error)
        }
    }
}
