import FluentKit
import Foundation

public struct ContactService: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public struct Changes: Sendable {
        public var name: String??
        public var email: String??
        public var phone: String??
        public var documentID: String??
        public var attributes: [String: String]?
        public var labels: [String]?

        public init(name: String?? = nil, email: String?? = nil, phone: String?? = nil, documentID: String?? = nil,
                    attributes: [String: String]? = nil, labels: [String]? = nil) {
            self.name = name
            self.email = email
            self.phone = phone
            self.documentID = documentID
            self.attributes = attributes
            self.labels = labels
        }
    }

    /// A contact an agent adds by hand (a call from someone new, a walk-in): a name, or an email or phone to reach them.
    public func create(_ changes: Changes, workspace workspaceID: UUID, actor: UUID) async throws -> Contact {
        let reachable = [changes.name, changes.email, changes.phone].contains { ($0 ?? nil).map { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? false }
        guard reachable else { throw AtiendeError.invalid("a contact needs a name, an email or a phone", code: "empty_contact") }
        return try await update(nil, workspace: workspaceID, changes: changes, actor: actor)
    }

    public func update(_ contactID: UUID, workspace workspaceID: UUID, changes: Changes, actor: UUID?) async throws -> Contact {
        try await update(Optional(contactID), workspace: workspaceID, changes: changes, actor: actor)
    }

    /// Changes a contact, or (with no id) creates one with these fields, in one transaction with its event.
    private func update(_ existing: UUID?, workspace workspaceID: UUID, changes: Changes, actor: UUID?) async throws -> Contact {
        let labels = try changes.labels.map(ConversationService.normalizeLabels)
        if let attributes = changes.attributes {
            guard attributes.count <= 100, attributes.allSatisfy({ $0.key.count <= 64 && $0.value.count <= 1000 }) else {
                throw AtiendeError.invalid("at most 100 attributes, keys up to 64 and values up to 1000 characters",
                                           code: "invalid_attributes")
            }
        }
        for (field, value) in [("name", changes.name), ("document_id", changes.documentID)] {
            if let value, let value, value.count > 255 {
                throw AtiendeError.invalid("\(field) is longer than 255 characters", code: "invalid_\(field)")
            }
        }
        let workspace = try await Workspace.find(workspaceID, on: store.db)
        var email: String?? = nil
        if let raw = changes.email {
            if let raw, !raw.isEmpty {
                guard let normalized = IdentityNormalizer.email(raw) else {
                    throw AtiendeError.invalid("'\(raw)' is not an email address", code: "invalid_email")
                }
                email = .some(normalized)
            } else { email = .some(nil) }
        }
        var phone: String?? = nil
        if let raw = changes.phone {
            if let raw, !raw.isEmpty {
                guard let normalized = IdentityNormalizer.phone(raw, defaultCountryCode: workspace?.defaultCountryCode) else {
                    throw AtiendeError.invalid("'\(raw)' is not a phone number", code: "invalid_phone")
                }
                phone = .some(normalized)
            } else { phone = .some(nil) }
        }
        let contactPoints: [(IdentityKind, String??)] = [(.email, email), (.phone, phone)]
        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            let contact: Contact
            if let existing {
                guard let found = try await Self.find(existing, workspace: workspaceID, on: tx.db) else { throw AtiendeError.notFound("contact") }
                contact = found
            } else {
                contact = Contact(workspaceID: workspaceID, at: tx.now)
                try await contact.create(on: tx.db)
            }
            let contactID = try contact.requireID()
            if let name = changes.name { contact.name = name.flatMap { $0.isEmpty ? nil : $0 } }
            if let documentID = changes.documentID { contact.documentID = documentID.flatMap { $0.isEmpty ? nil : $0 } }
            if let attributes = changes.attributes { contact.attributes = attributes }
            if let labels { contact.labels = labels }
            for (kind, value) in contactPoints {
                guard let value else { continue }
                if kind == .email { contact.email = value } else { contact.phone = value }
                guard let value else { continue }
                // A new address becomes an identity unless another contact owns it: then suggest a merge.
                if let owner = try await ContactIdentity.query(on: tx.db).filter(\.$workspace.$id == workspaceID)
                    .filter(\.$kind == kind).filter(\.$value == value).first() {
                    if owner.$contact.id != contactID {
                        try await Self.suggestDuplicate(contact: contactID, other: owner.$contact.id,
                                                                   workspace: workspaceID, reason: "same \(kind.rawValue)", in: tx)
                    }
                } else {
                    try await ContactIdentity(workspaceID: workspaceID, contactID: contactID, kind: kind, value: value).create(on: tx.db)
                }
            }
            contact.updatedAt = tx.now
            try await contact.save(on: tx.db)
            let identities = try await contact.$identities.get(on: tx.db)
            try await EventLog.append(existing == nil ? .contactCreated : .contactUpdated, workspace: workspaceID, actor: actor,
                                      payload: ContactEventPayload(contact: contact.snapshot(identities: identities)), in: tx)
            return contact
        }
    }

    /// An address the customer typed (a chat's pre-chat form) is where to write to them, nothing more: it is kept when
    /// the contact has none and never becomes an identity, so it can never join them to someone else's contact or
    /// conversations. When another contact owns that address, agents get a duplicate suggestion to decide on.
    public func rememberUnverifiedEmail(_ email: String, contact contactID: UUID) async throws {
        try await store.write { tx in
            guard let contact = try await Contact.find(contactID, on: tx.db), contact.email == nil else { return }
            let workspaceID = contact.$workspace.id
            contact.email = email
            contact.updatedAt = tx.now
            try await contact.save(on: tx.db)
            if let owner = try await ContactIdentity.query(on: tx.db).filter(\.$workspace.$id == workspaceID)
                .filter(\.$kind == .email).filter(\.$value == email).first(), owner.$contact.id != contactID {
                try await Self.suggestDuplicate(contact: contactID, other: owner.$contact.id, workspace: workspaceID,
                                                reason: "same email (typed, not verified)", in: tx)
            }
            let identities = try await contact.$identities.get(on: tx.db)
            try await EventLog.append(.contactUpdated, workspace: workspaceID,
                                      payload: ContactEventPayload(contact: contact.snapshot(identities: identities)), in: tx)
        }
    }

    /// The language a channel saw the customer use (the widget's page): kept as the `language` attribute, which the
    /// desk's own messages to them (surveys) follow.
    public func rememberLanguage(_ language: String, contact contactID: UUID) async throws {
        guard ["es", "en"].contains(language) else { return }
        try await store.write { tx in
            guard let contact = try await Contact.find(contactID, on: tx.db), contact.attributes["language"] != language else { return }
            contact.attributes["language"] = language
            contact.updatedAt = tx.now
            try await contact.save(on: tx.db)
            let identities = try await contact.$identities.get(on: tx.db)
            try await EventLog.append(.contactUpdated, workspace: contact.$workspace.id,
                                      payload: ContactEventPayload(contact: contact.snapshot(identities: identities)), in: tx)
        }
    }

    /// Moves everything of `sourceID` to `targetID`: identities, conversations, messages. Nothing is deleted;
    /// the source stays as a pointer to the target and the merge is recorded as an event.
    public func merge(_ sourceID: UUID, into targetID: UUID, workspace workspaceID: UUID, actor: UUID?) async throws -> Contact {
        guard sourceID != targetID else {
            throw AtiendeError.invalid("a contact cannot be merged into itself", code: "invalid_merge")
        }
        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            guard let source = try await Self.find(sourceID, workspace: workspaceID, on: tx.db),
                  let target = try await Self.find(targetID, workspace: workspaceID, on: tx.db)
            else { throw AtiendeError.notFound("contact") }
            try await ContactIdentity.query(on: tx.db).filter(\.$contact.$id == sourceID).set(\.$contact.$id, to: targetID).update()
            try await Conversation.query(on: tx.db).filter(\.$contact.$id == sourceID).set(\.$contact.$id, to: targetID).update()
            try await Message.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$senderType == .contact)
                .filter(\.$senderID == sourceID).set(\.$senderID, to: targetID).update()
            try await DuplicateSuggestion.query(on: tx.db).filter(\.$workspace.$id == workspaceID)
                .group(.or) { $0.filter(\.$contactID == sourceID).filter(\.$otherContactID == sourceID) }
                .set(\.$state, to: .merged).update()
            if target.name == nil { target.name = source.name }
            if target.email == nil { target.email = source.email }
            if target.phone == nil { target.phone = source.phone }
            if target.documentID == nil { target.documentID = source.documentID }
            target.attributes = source.attributes.merging(target.attributes) { _, kept in kept }
            target.labels = target.labels + source.labels.filter { !target.labels.contains($0) }
            target.updatedAt = tx.now
            try await target.save(on: tx.db)
            source.mergedIntoID = targetID
            source.updatedAt = tx.now
            try await source.save(on: tx.db)
            let identities = try await target.$identities.get(on: tx.db)
            try await EventLog.append(.contactMerged, workspace: workspaceID, actor: actor,
                                      payload: ContactEventPayload(contact: target.snapshot(identities: identities),
                                                                   otherContactID: sourceID), in: tx)
            return target
        }
    }

    /// Records that two contacts look like one person; people decide whether to merge, nothing merges silently.
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

    /// A contact of the workspace that has not been merged away.
    public static func find(_ id: UUID, workspace workspaceID: UUID, on db: any Database) async throws -> Contact? {
        try await Contact.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id)
            .filter(\.$mergedIntoID == nil).first()
    }
}
