import FluentKit
import Foundation

/// A saved answer an agent inserts from the reply box by its shortcut (`/envio`), filled in for the conversation and
/// reviewed before sending. Shared with the workspace (`ownerID` nil) or an agent's own; one text per language, the
/// conversation's chosen.
public final class CannedResponse: Model, @unchecked Sendable {
    public static let schema = "canned_responses"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @OptionalField(key: "owner_id") public var ownerID: UUID?
    @Field(key: "shortcut") public var shortcut: String
    @Field(key: "title") public var title: String
    /// Text by language code (`es`, `en`).
    @Field(key: "variants") public var variants: [String: String]
    @Field(key: "use_count") public var useCount: Int
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}

    public init(workspaceID: UUID, ownerID: UUID?, shortcut: String, title: String, variants: [String: String], at now: Date) {
        self.$workspace.id = workspaceID
        self.ownerID = ownerID
        self.shortcut = shortcut
        self.title = title
        self.variants = variants
        self.useCount = 0
        self.createdAt = now
        self.updatedAt = now
    }

    public var isShared: Bool { ownerID == nil }

    /// The text for a conversation in `language`: that language's, else the workspace's first one.
    public func text(for language: String) -> (text: String, language: String)? {
        if let text = variants[language] { return (text, language) }
        return variants.sorted { $0.key < $1.key }.first.map { ($0.value, $0.key) }
    }
}

extension CannedResponse: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<CannedResponse, FieldProperty<CannedResponse, UUID>> { \.$workspace.$id }
    public static var displayName: String { "canned response" }
}
