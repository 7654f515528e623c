import FluentKit
import Foundation

public final class Contact: Model, @unchecked Sendable {
    public static let schema = "contacts"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @OptionalField(key: "name") public var name: String?
    @OptionalField(key: "email") public var email: String?
    @OptionalField(key: "phone") public var phone: String?
    /// National identity document (RUT, DNI…).
    @OptionalField(key: "document_id") public var documentID: String?
    @Field(key: "attributes") public var attributes: [String: String]
    @Field(key: "labels") public var labels: [String]
    /// Set when this contact was merged into another; merged contacts are hidden and resolve to the target.
    @OptionalField(key: "merged_into_id") public var mergedIntoID: UUID?
    /// When the person's data was erased (`PrivacyService`): the record stays, anonymous, for the counts.
    @OptionalField(key: "erased_at") public var erasedAt: Date?

    /// Set from the write's clock (not Fluent's timestamps) so keyset cursors compare exactly.
    @OptionalField(key: "created_at") public var createdAt: Date?
    @OptionalField(key: "updated_at") public var updatedAt: Date?

    @Children(for: \.$contact) public var identities: [ContactIdentity]

    public init() {}

    /// A new contact with nothing known yet.
    public init(workspaceID: UUID, at now: Date) {
        self.id = UUID()
        self.$workspace.id = workspaceID
        self.attributes = [:]
        self.labels = []
        self.createdAt = now
        self.updatedAt = now
    }
}

/// One way of reaching a contact. `(workspace, kind, value)` is unique, and values are normalized.
public final class ContactIdentity: Model, @unchecked Sendable {
    public static let schema = "contact_identities"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Parent(key: "contact_id") public var contact: Contact
    @Field(key: "kind") public var kind: IdentityKind
    @Field(key: "value") public var value: String
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    public init(workspaceID: UUID, contactID: UUID, kind: IdentityKind, value: String) {
        self.$workspace.id = workspaceID
        self.$contact.id = contactID
        self.kind = kind
        self.value = value
    }
}

/// Two contacts that share evidence of being the same person; an agent decides, nothing merges silently.
public final class DuplicateSuggestion: Model, @unchecked Sendable {
    public static let schema = "duplicate_suggestions"

    public enum State: String, Codable, Sendable { case open, merged, dismissed }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "contact_id") public var contactID: UUID
    @Field(key: "other_contact_id") public var otherContactID: UUID
    @Field(key: "reason") public var reason: String
    @Field(key: "state") public var state: State
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    public init(workspaceID: UUID, contactID: UUID, otherContactID: UUID, reason: String) {
        self.$workspace.id = workspaceID
        self.contactID = contactID
        self.otherContactID = otherContactID
        self.reason = reason
        self.state = .open
    }
}
