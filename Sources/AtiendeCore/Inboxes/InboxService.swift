import FluentKit
import Foundation

/// Connecting and changing inboxes: one transaction with its event each. The event names the inbox and the fields
/// that changed, never their values (settings can hold what the workspace would rather not spread).
public struct InboxService: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public func create(_ inbox: Inbox, actor: UUID) async throws {
        try await store.write { tx in
            try await Self.checkTeam(of: inbox, in: tx)
            try await Self.checkAddress(of: inbox, in: tx)
            try await inbox.create(on: tx.db)
            try await EventLog.append(.inboxCreated, workspace: inbox.$workspace.id, actor: actor,
                                      payload: RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: inbox.channel.rawValue), in: tx)
        }
    }

    /// Saves an inbox whose `changes` (field names) were made by `actor`; nothing is written when nothing changed.
    public func update(_ inbox: Inbox, changes: [String], actor: UUID) async throws {
        guard !changes.isEmpty else { return }
        try await store.write { tx in
            try await Self.checkTeam(of: inbox, in: tx)
            try await Self.checkAddress(of: inbox, in: tx)
            try await inbox.save(on: tx.db)
            try await EventLog.append(.inboxUpdated, workspace: inbox.$workspace.id, actor: actor,
                                      payload: RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: inbox.channel.rawValue,
                                                                  changes: changes.sorted()), in: tx)
        }
    }

    /// Removes an inbox that never received a conversation; one with history is deactivated instead, so nothing a
    /// customer wrote is lost.
    public func delete(_ inbox: Inbox, actor: UUID) async throws {
        try await store.write { tx in
            try await tx.lockWorkspace(inbox.$workspace.id)
            let id = try inbox.requireID()
            guard try await Conversation.query(on: tx.db).filter(\.$inbox.$id == id).count() == 0,
                  try await Message.query(on: tx.db).filter(\.$inbox.$id == id).count() == 0 else {
                throw AtiendeError(.conflict, code: "inbox_has_conversations",
                                   "this inbox has conversations; deactivate it instead, so their history stays")
            }
            try await tx.sql.raw("DELETE FROM mailbox_cursors WHERE id = \(bind: id)").run()
            try await inbox.delete(on: tx.db)
            try await EventLog.append(.inboxDeleted, workspace: inbox.$workspace.id, actor: actor,
                                      payload: RecordEventPayload(id: id, name: inbox.name, detail: inbox.channel.rawValue), in: tx)
        }
    }

    /// The inbox's team must be the workspace's, checked with the workspace held: a team deleted meanwhile (by another
    /// request) is a 404, never a foreign-key failure.
    static func checkTeam(of inbox: Inbox, in tx: WriteTransaction) async throws {
        try await tx.lockWorkspace(inbox.$workspace.id)
        guard let team = inbox.$team.id else { return }
        guard try await Team.query(on: tx.db).filter(\.$workspace.$id == inbox.$workspace.id).filter(\.$id == team).first() != nil else {
            throw AtiendeError.notFound("team")
        }
    }

    /// One mailbox, one email inbox: two would each take the same customer's mail (checked with the workspace held).
    static func checkAddress(of inbox: Inbox, in tx: WriteTransaction) async throws {
        guard inbox.channel == .email, let address = inbox.settings.values["address"]?.lowercased(), !address.isEmpty else { return }
        let others = try await Inbox.query(on: tx.db).filter(\.$workspace.$id == inbox.$workspace.id).filter(\.$channel == .email).all()
        if others.contains(where: { $0.id != inbox.id && $0.settings.values["address"]?.lowercased() == address }) {
            throw AtiendeError(.conflict, code: "address_in_use", "another email inbox of this workspace already uses \(address)")
        }
    }

    /// Stores a new signing or identity secret (sealed by the caller); the old one stops working at commit.
    public func replaceSecrets(of inbox: Inbox, sealed: Data, actor: UUID) async throws {
        try await store.write { tx in
            try await tx.lockWorkspace(inbox.$workspace.id)
            inbox.sealedSecrets = sealed
            try await inbox.save(on: tx.db)
            try await EventLog.append(.inboxSecretRotated, workspace: inbox.$workspace.id, actor: actor,
                                      payload: RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: inbox.channel.rawValue), in: tx)
        }
    }
}
