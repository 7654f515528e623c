import FluentKit
import Foundation
import SQLKit

/// How long an inbox keeps what its customers said. Conversations resolved or closed more than `months` ago are
/// anonymised — their words blanked and attachments deleted, as an erasure does (`PrivacyService.anonymise`) — or
/// deleted, their messages too; either way the conversation stays as an anonymous row with its times, channel, agent
/// and scores, so reports and a metrics rebuild count what they counted. No policy (`months` nil) keeps everything.
public struct RetentionPolicy: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable { case anonymise, delete }

    public var months: Int?
    public var action: Action

    public init(months: Int? = nil, action: Action = .anonymise) {
        self.months = months
        self.action = action
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        months = try c.decodeIfPresent(Int.self, forKey: .months)
        action = try c.decodeIfPresent(Action.self, forKey: .action) ?? .anonymise
    }

    public func validated() throws -> RetentionPolicy {
        if let months, !(1...600).contains(months) {
            throw AtiendeError.invalid("months is between 1 and 600, or null to keep everything", code: "invalid_retention")
        }
        return self
    }
}

extension Inbox {
    public var retentionPolicy: RetentionPolicy { JSON.decode(RetentionPolicy.self, from: retentionJSON) ?? RetentionPolicy() }
}

public struct RetentionService: Sendable {
    public let store: Store
    public let files: FileStore
    /// Conversations one transaction anonymises or deletes: a pass over years of history never holds the writer long.
    public static let chunk = 200

    public init(store: Store, files: FileStore) {
        self.store = store
        self.files = files
    }

    public func setPolicy(_ policy: RetentionPolicy, inbox: Inbox, actor: UUID) async throws -> RetentionPolicy {
        let valid = try policy.validated()
        return try await store.write { tx in
            try await tx.lockWorkspace(inbox.$workspace.id)
            inbox.retentionJSON = valid.months == nil ? nil : try EventLog.json(valid)
            try await inbox.save(on: tx.db)
            try await EventLog.append(.inboxUpdated, workspace: inbox.$workspace.id, actor: actor,
                                      payload: RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: inbox.channel.rawValue,
                                                                  changes: ["retention"]), in: tx)
            return valid
        }
    }

    /// One pass over every inbox with a policy, a chunk per transaction until nothing is due; returns how many
    /// conversations it anonymised or deleted.
    @discardableResult
    public func sweep() async throws -> Int {
        let inboxes = try await Inbox.query(on: store.db).filter(\.$retentionJSON != nil).all()
        let privacy = PrivacyService(store: store, files: files)
        var done = 0
        for inbox in inboxes {
            let policy = inbox.retentionPolicy
            guard let months = policy.months, let inboxID = inbox.id else { continue }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
            guard let cutoff = calendar.date(byAdding: .month, value: -months, to: store.clock.now()) else { continue }
            let workspace = inbox.$workspace.id
            while true {
                let (count, hashes) = try await store.write { tx -> (Int, [String]) in
                    try await tx.lockWorkspace(workspace)
                    // Resolved that long ago, and nothing written in it since (a note yesterday keeps it).
                    let due = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == workspace).filter(\.$inbox.$id == inboxID)
                        .filter(\.$status ~~ [.resolved, .closed]).filter(\.$anonymisedAt == nil).filter(\.$lastMessageAt < cutoff)
                        .group(.or) { $0.filter(\.$resolvedAt < cutoff).filter(\.$resolvedAt == nil) }
                        .limit(Self.chunk).all()
                    guard !due.isEmpty else { return (0, []) }
                    let hashes = try await PrivacyService.anonymise(conversations: due, workspace: workspace, in: tx)
                    let ids = IngestBatch.list(due.compactMap(\.id))
                    if policy.action == .delete {
                        try await tx.sql.raw("DELETE FROM messages WHERE workspace_id = \(bind: workspace) AND conversation_id IN (\(ids))").run()
                    }
                    return (due.count, hashes)
                }
                try await privacy.removeUnreferenced(hashes)
                done += count
                if count < Self.chunk { break }
            }
        }
        if done > 0 { try await privacy.checkpoint() }
        return done
    }
}
