import FluentKit
import Foundation

/// Finds the contact an inbound message belongs to by its identities, never by display name.
enum ContactResolver {
    static func resolve(_ identities: [IdentitySnapshot], name: String?, workspace workspaceID: UUID,
                        in tx: WriteTransaction) async throws -> Contact {
        let matches = try await ContactIdentity.query(on: tx.db)
            .filter(\.$workspace.$id == workspaceID)
            .group(.or) { or in
                for identity in identities {
                    or.group(.and) { and in
                        and.filter(\.$kind == identity.kind).filter(\.$value == identity.value)
                    }
                }
            }
            .all()
        // Identities in the sender's order: the channel's own id decides when they point at different people.
        let ordered = identities.compactMap { identity in
            matches.first { $0.kind == identity.kind && $0.value == identity.value }
        }
        var contactIDs: [UUID] = []
        for match in ordered where !contactIDs.contains(match.$contact.id) { contactIDs.append(match.$contact.id) }

        let cleanName = name.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(255)) }
            .flatMap { $0.isEmpty ? nil : $0 }
        let contact: Contact
        if let chosen = contactIDs.first, let found = try await Contact.find(chosen, on: tx.db) {
            contact = found
            if contact.name == nil, let cleanName {
                contact.name = cleanName
                contact.updatedAt = tx.now
                try await contact.save(on: tx.db)
            }
            for other in contactIDs.dropFirst() {
                try await suggestDuplicate(contact: chosen, other: other, workspace: workspaceID,
                                           reason: "shared identity", in: tx)
            }
        } else {
            let email = identities.first { $0.kind == .email }?.value
            let phone = identities.first { $0.kind == .phone || $0.kind == .whatsapp }?.value
            contact = Contact(workspaceID: workspaceID, name: cleanName, email: email, phone: phone, at: tx.now)
            try await contact.create(on: tx.db)
            try await EventLog.append(.contactCreated, workspace: workspaceID,
                                      payload: ContactEventPayload(contact: contact.snapshot(identities: [])), in: tx)
        }
        let contactID = try contact.requireID()
        // Identities nobody has yet become this contact's; those of other contacts stay where they are.
        for identity in identities where !matches.contains(where: { $0.kind == identity.kind && $0.value == identity.value }) {
            try await ContactIdentity(workspaceID: workspaceID, contactID: contactID, kind: identity.kind, value: identity.value)
                .create(on: tx.db)
        }
        return contact
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
