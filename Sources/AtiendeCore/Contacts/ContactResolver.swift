import FluentKit
import Foundation

/// Records that two contacts look like one person; people decide whether to merge.
enum ContactResolver {
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
