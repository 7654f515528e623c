import AtiendeChannels
import AtiendeCore
import AtiendeMail
import AtiendeNetwork
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import Logging
import SQLKit

/// Imports new mail from the IMAP mailbox of every email inbox that has one (`imap_host`), every `interval` seconds.
///
/// The cursor (`mailbox_cursors`: UIDVALIDITY and the last imported UID) moves only after a chunk of messages is
/// committed, so a dropped connection or a crash re-fetches at most that chunk — and what of it was stored is a
/// duplicate by its Message-ID, stored once. One instance holds a mailbox's lease at a time, so several instances don't poll it twice.
struct MailboxPoller: Sendable {
    let services: AtiendeServices
    let interval: TimeInterval
    let logger: Logger
    let owner = UUID().uuidString
    static let chunk = 100
    /// Renewed at every poll and after every message; an instance that died gives the mailbox up after this long.
    var lease: TimeInterval { max(15, 3 * interval) }

    func run() async {
        while !Task.isCancelled {
            do {
                let inboxes = try await Inbox.query(on: services.store.db).filter(\.$channel == .email).filter(\.$isActive == true).all()
                for inbox in inboxes where !(inbox.settings.values["imap_host"] ?? "").isEmpty {
                    do {
                        try await withDeadline(lease) { try await poll(inbox) }
                    } catch {
                        logger.warning("mailbox poll failed", metadata: ["inbox": "\(inbox.id?.uuidString ?? "")", "error": "\(error)"])
                    }
                }
            } catch {
                logger.warning("mailbox poller could not read inboxes", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
    }

    struct PollTimedOut: Error, CustomStringConvertible {
        var description: String { "the mailbox did not answer in time; the next poll starts again" }
    }

    /// A poll that hangs (a connection that neither answers nor closes) is left behind after the lease's time, so the
    /// next poll starts over; what the stuck one stored is a duplicate by its Message-ID, stored once.
    func withDeadline(_ seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> Int) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let done = NIOLockedValueBox(false)
            let finish = { @Sendable (result: Result<Void, any Error>) in
                if done.withLockedValue({ was in defer { was = true }; return !was }) { continuation.resume(with: result) }
            }
            let timer = Task {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                finish(.failure(PollTimedOut()))
            }
            Task {
                do { _ = try await body(); finish(.success(())) } catch { finish(.failure(error)) }
                timer.cancel()
            }
        }
    }

    /// Takes (or keeps) the mailbox's lease; nil when another instance holds it.
    func claim(_ inboxID: UUID) async throws -> (validity: UInt32, last: UInt32)? {
        try await services.store.write { tx in
            let now = tx.now
            try await tx.sql.raw("""
                INSERT INTO mailbox_cursors (id, uid_validity, last_uid) VALUES (\(bind: inboxID), 0, 0) ON CONFLICT (id) DO NOTHING
                """).run()
            try await tx.sql.raw("""
                UPDATE mailbox_cursors SET owner = \(bind: owner), lease_until = \(bind: now.addingTimeInterval(lease))
                WHERE id = \(bind: inboxID) AND (owner IS NULL OR owner = \(bind: owner) OR lease_until < \(bind: now))
                """).run()
            guard let row = try await tx.sql.raw("""
                SELECT uid_validity, last_uid FROM mailbox_cursors WHERE id = \(bind: inboxID) AND owner = \(bind: owner)
                """).first() else { return nil }
            return (UInt32(try row.decode(column: "uid_validity", as: Int64.self)), UInt32(try row.decode(column: "last_uid", as: Int64.self)))
        }
    }

    func advance(_ inboxID: UUID, validity: UInt32, last: UInt32) async throws {
        try await services.store.write { tx in
            try await tx.sql.raw("""
                UPDATE mailbox_cursors SET uid_validity = \(bind: Int64(validity)), last_uid = \(bind: Int64(last)),
                    lease_until = \(bind: tx.now.addingTimeInterval(lease))
                WHERE id = \(bind: inboxID) AND owner = \(bind: owner)
                """).run()
        }
    }

    /// One round for one mailbox; returns how many messages were imported.
    @discardableResult
    func poll(_ inbox: Inbox) async throws -> Int {
        let inboxID = try inbox.requireID()
        guard let settings = EmailDescriptor.imap(inbox.settings, secrets: try inbox.secrets(with: services.secrets), network: services.config.outbound),
              var cursor = try await claim(inboxID) else { return 0 }
        let session = try await IMAPClient(settings: settings).connect()
        var imported = 0
        do {
            let (validity, _) = try await session.select()
            if validity != cursor.validity {
                // A new UIDVALIDITY: UIDs mean other messages now. Start over; Message-IDs keep what we have from doubling.
                cursor = (validity, 0)
                try await advance(inboxID, validity: validity, last: 0)
            }
            let pending = try await session.uids(after: cursor.last)
            for start in stride(from: 0, to: pending.count, by: Self.chunk) {
                let batch = Array(pending[start..<min(start + Self.chunk, pending.count)])
                let fetched = try await session.fetch(batch)
                // Different senders in parallel (their messages commit together), each sender's mail in order. The cursor
                // moves past the chunk only when all of it is committed; a crash re-fetches the chunk, and what was
                // already stored is a duplicate by its Message-ID, stored once.
                // Parsed once here: the sender groups the work, and the same parse is stored.
                let parsed: [(uid: UInt32, mail: Result<ParsedMail, any Error>)] = fetched.map { item in
                    (item.uid, Result { try EmailIntake.parse(item.message) })
                }
                let bySender = Dictionary(grouping: parsed) { item in (try? item.mail.get())?.from.first?.email.lowercased() ?? "" }
                imported += try await withThrowingTaskGroup(of: Int.self) { group in
                    for (_, mails) in bySender {
                        group.addTask {
                            var count = 0
                            for (uid, mail) in mails {
                                do {
                                    _ = try await services.email.deliver(try mail.get(), to: inbox)
                                    count += 1
                                } catch let error as AtiendeError where error.status < 500 {
                                    // A message we can never read (no sender, too large) must not block the mailbox.
                                    logger.warning("mail skipped", metadata: ["uid": "\(uid)", "error": "\(error.message)"])
                                }
                            }
                            return count
                        }
                    }
                    return try await group.reduce(0, +)
                }
                if let last = batch.last {
                    try await advance(inboxID, validity: validity, last: last)
                    cursor.last = last
                }
            }
        } catch {
            await session.logout()
            throw error
        }
        await session.logout()
        return imported
    }
}
