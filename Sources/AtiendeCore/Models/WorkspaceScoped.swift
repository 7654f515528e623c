import FluentKit
import Foundation

/// A record that belongs to exactly one workspace.
public protocol WorkspaceScoped: Model {
    static var workspaceIDKey: KeyPath<Self, FieldProperty<Self, UUID>> { get }
    static var displayName: String { get }
}

extension Inbox: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Inbox, FieldProperty<Inbox, UUID>> { \.$workspace.$id }
    public static var displayName: String { "inbox" }
}
extension Team: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Team, FieldProperty<Team, UUID>> { \.$workspace.$id }
    public static var displayName: String { "team" }
}
extension Membership: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Membership, FieldProperty<Membership, UUID>> { \.$workspace.$id }
    public static var displayName: String { "member" }
}
extension Contact: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Contact, FieldProperty<Contact, UUID>> { \.$workspace.$id }
    public static var displayName: String { "contact" }
}
extension ContactIdentity: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<ContactIdentity, FieldProperty<ContactIdentity, UUID>> { \.$workspace.$id }
    public static var displayName: String { "identity" }
}
extension Conversation: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Conversation, FieldProperty<Conversation, UUID>> { \.$workspace.$id }
    public static var displayName: String { "conversation" }
}
extension Message: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Message, FieldProperty<Message, UUID>> { \.$workspace.$id }
    public static var displayName: String { "message" }
}
extension Attachment: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Attachment, FieldProperty<Attachment, UUID>> { \.$workspace.$id }
    public static var displayName: String { "attachment" }
}
extension Event: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Event, FieldProperty<Event, UUID>> { \.$workspace.$id }
    public static var displayName: String { "event" }
}
extension DuplicateSuggestion: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<DuplicateSuggestion, FieldProperty<DuplicateSuggestion, UUID>> { \.$workspace.$id }
    public static var displayName: String { "duplicate suggestion" }
}
extension TeamMember: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<TeamMember, FieldProperty<TeamMember, UUID>> { \.$workspace.$id }
    public static var displayName: String { "team member" }
}
extension Invitation: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Invitation, FieldProperty<Invitation, UUID>> { \.$workspace.$id }
    public static var displayName: String { "invitation" }
}
extension AgentNotification: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<AgentNotification, FieldProperty<AgentNotification, UUID>> { \.$workspace.$id }
    public static var displayName: String { "notification" }
}
extension SavedView: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<SavedView, FieldProperty<SavedView, UUID>> { \.$workspace.$id }
    public static var displayName: String { "saved view" }
}
extension ServiceLevelPolicy: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<ServiceLevelPolicy, FieldProperty<ServiceLevelPolicy, UUID>> { \.$workspace.$id }
    public static var displayName: String { "service-level policy" }
}
