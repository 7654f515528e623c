import Foundation
import SQLKit

/// One validated inbound message waiting for the batch that stores it.
struct IngestItem: Sendable {
    var workspaceID: UUID
    var inboxID: UUID
    var channel: ChannelKind
    var teamID: UUID?
    var reopenWindow: TimeInterval
    var providerID: String
    var identities: [IdentitySnapshot]
    var name: String?
    var text: String
    var sentAt: Date?
    var threadHint: String?
    var subject: String?
    var attachments: [AttachmentSnapshot]
    /// Sent by a machine (an auto-reply, a bounce): never answered automatically.
    var automatic: Bool = false
    /// A conversation of this inbox the channel has established the message belongs to although its sender is not the
    /// conversation's customer (a CC'd participant answering an email thread).
    var conversationID: UUID? = nil
}

/// Stores many inbound messages in a fixed number of statements, set-wise, instead of ten statements each.
///
/// Messages are taken in rounds: a round holds messages that share no (inbox, provider id), no identity and, once
/// contacts are known, no contact; the rest wait for the next round. Within a round every message is independent,
/// so dedupe, identity lookup, threading, inserts and the conversation update are one statement each for the round.
/// The rules are exactly those of a single message (see `Ingest`).
enum IngestBatch {
    static let maxRound = 100

    static func run(_ items: [IngestItem], in tx: WriteTransaction) async throws -> [IngestResult] {
        var results = [IngestResult?](repeating: nil, count: items.count)
        for workspace in Set(items.map(\.workspaceID)).sorted(by: { $0.uuidString < $1.uuidString }) {
            try await tx.lockWorkspace(workspace)
        }
        var remaining = Array(items.indices)
        while !remaining.isEmpty {
            var round: [Int] = []
            var deferred: [Int] = []
            var keys = Set<String>()
            var exclusive = false
            for index in remaining {
                let item = items[index]
                // A message aimed at a conversation of another customer has a round of its own: nothing else in it can
                // touch that conversation.
                if exclusive || (item.conversationID != nil && !round.isEmpty) {
                    deferred.append(index)
                    continue
                }
                if item.conversationID != nil { exclusive = true }
                let itemKeys = ["m:\(item.inboxID):\(item.providerID)"]
                    + item.identities.map { "i:\(item.workspaceID):\($0.kind.rawValue):\($0.value)" }
                if round.count < maxRound && keys.isDisjoint(with: itemKeys) {
                    round.append(index)
                    keys.formUnion(itemKeys)
                } else {
                    deferred.append(index)
                }
            }
            let (done, postponed) = try await runRound(round.map { (index: $0, item: items[$0]) }, in: tx)
            for (index, result) in done { results[index] = result }
            remaining = (postponed + deferred).sorted()
        }
        return results.map { $0! }
    }

    /// Stores a round; returns the results and the messages that must wait (they share a contact with an earlier one).
    private static func runRound(_ round: [(index: Int, item: IngestItem)], in tx: WriteTransaction) async throws
        -> ([(Int, IngestResult)], [Int]) {
        var step = IngestRound(tx: tx)
        let started = DispatchTime.now().uptimeNanoseconds
        try await step.skipReplays(round)
        guard !step.fresh.isEmpty else { return (step.results, []) }
        try await step.planContacts()
        guard !step.plans.isEmpty else { return (step.results, step.postponed) }
        try await step.storeNewContacts()
        try await step.thread()
        try await step.number()
        try await step.storeRows()
        // What arrived, for the reactions (clocks, automatic answers, …): one change for the whole round.
        let arrivals = step.plans.indices.map { n in
            DomainChange.Arrival(conversationID: step.conversations[n].id, workspaceID: step.plans[n].item.workspaceID,
                                 inboxID: step.plans[n].item.inboxID, opened: step.opened[n], reopened: step.reactivated[n] != nil,
                                 automatic: step.quiet(n), text: step.plans[n].item.text, conversation: step.conversations[n],
                                 previousStatus: step.reactivated[n])
        }
        try await tx.react(.messagesReceived(arrivals))
        try await step.appendEvents()
        try await step.recordSurveyAnswers()
        tx.store.logger.trace("ingest round", metadata: [
            "n": "\(step.plans.count)", "us": "\((DispatchTime.now().uptimeNanoseconds - started) / 1000)"])
        return (step.results + step.finished(), step.postponed)
    }

    /// The single-message threading rule: the provider's thread when given; else the contact's active
    /// conversation, else the one resolved most recently within the reopen window.
    static func choose(_ candidates: [ConversationSnapshot], hint: String?, reopenAfter: Date) -> ConversationSnapshot? {
        if let hint {
            return candidates.filter { $0.threadID == hint && $0.status != .closed }.max { $0.lastMessageAt < $1.lastMessageAt }
        }
        if let active = candidates.filter({ ConversationStatus.active.contains($0.status) }).max(by: { $0.lastMessageAt < $1.lastMessageAt }) {
            return active
        }
        return candidates.filter { $0.status == .resolved && ($0.resolvedAt ?? .distantPast) >= reopenAfter }
            .max { ($0.resolvedAt ?? .distantPast) < ($1.resolvedAt ?? .distantPast) }
    }

    /// Gives a multi-line literal the SQL type, so its interpolations bind.
    static func sqlRow(_ row: SQLQueryString) -> SQLQueryString { row }

    /// `?, ?, …` binding each value once.
    static func list<T: Encodable & Sendable>(_ values: [T]) -> SQLQueryString {
        values.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")
    }

    static func or(_ parts: [SQLQueryString]) -> SQLQueryString {
        parts.isEmpty ? "1 = 0" : parts.joined(separator: " OR ")
    }
}

