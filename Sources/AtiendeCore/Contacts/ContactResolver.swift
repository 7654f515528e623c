import FluentKit
import Foundation

/// Finds the contact an inbound message belongs to by its identities, never by display name.
enum ContactResolver {
    /// Returns the contact's id, creating the contact and any identities nobody has yet.
    static func resolve(_ identities: [IdentitySnapshot], name: String?, workspace workspaceID: UUID,
                        in tx: WriteTransaction) async throws -> UUID {
        let matches = try await IngestSQL.identities(identities, workspace: workspaceID, in: tx)
        // Identities in the sender's order: the channel's own id decides when they point at different people.
        let ordered = identities.compactMap { identity in
            matches.first { $0.kind == identity.kind && $0.value == identity.value }
        }
        var contactIDs: [UUID] = []
        for match in ordered where !contactIDs.contains(match.contactID) { contactIDs.append(match.contactID) }

        let cleanName = name.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(255)) }
            .flatMap { $0.isEmpty ? nil : $0 }
        let contactID: UUID
        if let chosen = contactIDs.first, let match = ordered.first(where: { $0.contactID == chosen }) {
            contactID = chosen
            if match.nameless, let cleanName { try await IngestSQL.nameContact(chosen, name: cleanName, in: tx) }
            for other in contactIDs.dropFirst() {
                try await suggestDuplicate(contact: chosen, other: other, workspace: workspaceID, reason: "shared identity", in: tx)
            }
        } else {
            contactID = UUID()
            let email = identities.first { $0.kind == .email }?.value
            let phone = identities.first { $0.kind == .phone || $0.kind == .whatsapp }?.value
            try await IngestSQL.insertContact(contactID, workspace: workspaceID, name: cleanName, email: email, phone: phone, in: tx)
            let snapshot = ContactSnapshot(id: contactID, name: cleanName, email: email, phone: phone, documentID: nil,
                                           attributes: [:], labels: [], identities: identities, createdAt: tx.now)
            try await EventLog.append(.contactCreated, workspace: workspaceID, payload: ContactEventPayload(contact: snapshot), in: tx)
        }
        for identity in identities where !matches.contains(where: { $0.kind == identity.kind && $0.value == identity.value }) {
            try await IngestSQL.insertIdentity(identity, contact: contactID, workspace: workspaceID, in: tx)
        }
        return contactID
    }

    static func suggestDuplicate(contact: UUID, other: UUID, workspace workspaceID: UUID, reason: String,
                                 in tx: WriteTransaction) async throws {
        let (a, b) = contact.uuidString < other.uuidString ? (contact, other) : (other, contact)
        let exists = try await DuplicateSuggestion.query(on: tx.db)
            .filter(\.$workspace.$id == workspaceID).filter(\.$contactID == a).filter(\.$otherContactID == b).first()
        guard exists == nil else { return }
        try await DuplicateSuggestion(workspaceID: workspaceID, contactID: a, otherContactID: b, reason: reason).create(on: tx.db)
        if let found = try await Contact.find(contact, on: tx.db) {
            try await EventLog.append(.contactDuplicateSuggested, workspace: workspaceID,
                                      payload: ContactEventPayload(contact: found.snapshot(identities: []), otherContactID: other),
                                      in: tx)
        }
    }
}
