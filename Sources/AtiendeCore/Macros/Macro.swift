import FluentKit
import Foundation

/// Several actions one click runs on a conversation, or on every conversation picked in the inbox: a reply (a canned
/// response filled in, or a text), a private note, labels added and removed, a status, a priority, an assignee, a team.
/// Shared with the workspace (`ownerID` nil) or an agent's own.
public final class Macro: Model, @unchecked Sendable {
    public static let schema = "macros"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @OptionalField(key: "owner_id") public var ownerID: UUID?
    @Field(key: "name") public var name: String
    /// `MacroActions` as JSON.
    @Field(key: "actions") public var actionsJSON: String
    @Field(key: "use_count") public var useCount: Int
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}

    public init(workspaceID: UUID, ownerID: UUID?, name: String, actions: MacroActions, at now: Date) throws {
        self.$workspace.id = workspaceID
        self.ownerID = ownerID
        self.name = name
        self.actionsJSON = try EventLog.json(actions)
        self.useCount = 0
        self.createdAt = now
        self.updatedAt = now
    }

    public var isShared: Bool { ownerID == nil }

    public var actions: MacroActions { JSON.decode(MacroActions.self, from: actionsJSON) ?? MacroActions() }
}

extension Macro: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Macro, FieldProperty<Macro, UUID>> { \.$workspace.$id }
    public static var displayName: String { "macro" }
}

/// What a macro does, in this order: the reply, the note, then the conversation's changes (one change, one event).
public struct MacroActions: Codable, Sendable, Equatable {
    public struct Reply: Codable, Sendable, Equatable {
        /// A canned response, filled in for each conversation; or `text`, with the same variables.
        public var cannedResponseID: UUID?
        public var text: String?
        public init(cannedResponseID: UUID? = nil, text: String? = nil) {
            self.cannedResponseID = cannedResponseID
            self.text = text
        }
        enum CodingKeys: String, CodingKey { case cannedResponseID = "canned_response_id", text }
    }

    public var reply: Reply?
    public var note: String?
    public var addLabels: [String]?
    public var removeLabels: [String]?
    /// open, pending or resolved.
    public var status: ConversationStatus?
    public var priority: Priority?
    /// `me` (whoever runs it), `none`, or a member's id.
    public var assignee: String?
    /// A team's id, or `none`.
    public var team: String?

    public init(reply: Reply? = nil, note: String? = nil, addLabels: [String]? = nil, removeLabels: [String]? = nil,
                status: ConversationStatus? = nil, priority: Priority? = nil, assignee: String? = nil, team: String? = nil) {
        self.reply = reply
        self.note = note
        self.addLabels = addLabels
        self.removeLabels = removeLabels
        self.status = status
        self.priority = priority
        self.assignee = assignee
        self.team = team
    }

    enum CodingKeys: String, CodingKey {
        case reply, note, status, priority, assignee, team
        case addLabels = "add_labels", removeLabels = "remove_labels"
    }

    var isEmpty: Bool {
        reply == nil && note == nil && (addLabels ?? []).isEmpty && (removeLabels ?? []).isEmpty && status == nil && priority == nil
            && assignee == nil && team == nil
    }
}
