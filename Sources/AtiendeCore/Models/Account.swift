import FluentKit
import Foundation

/// A signed-in browser. Only the SHA-256 of the cookie's token is stored; the CSRF token is per session.
public final class AgentSession: Model, @unchecked Sendable {
    public static let schema = "sessions"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "csrf_token") public var csrfToken: String
    /// The workspace the agent last worked in, for `/` to land there.
    @OptionalField(key: "workspace_id") public var workspaceID: UUID?
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "expires_at") public var expiresAt: Date
    /// What the browser said it was when it signed in, shortened; and from which address.
    @OptionalField(key: "user_agent") public var userAgent: String?
    @OptionalField(key: "address") public var address: String?
    /// When the session was last used, kept to within `AccountService.seenGranularity`.
    @OptionalField(key: "last_seen_at") public var lastSeenAt: Date?

    public init() {}

    public init(userID: UUID, tokenHash: String, csrfToken: String, createdAt: Date, expiresAt: Date) {
        self.$user.id = userID
        self.tokenHash = tokenHash
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// An invitation to join a workspace, accepted through a link that expires. Only the token's hash is kept.
public final class Invitation: Model, @unchecked Sendable {
    public static let schema = "invitations"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "email") public var email: String
    @Field(key: "role") public var role: Role
    @Field(key: "token_hash") public var tokenHash: String
    @OptionalField(key: "invited_by") public var invitedBy: UUID?
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "accepted_at") public var acceptedAt: Date?

    public init() {}
}

/// A password reset asked for by email: its link's token (only the hash kept) works once, within `AccountService.resetLifetime`.
public final class PasswordReset: Model, @unchecked Sendable {
    public static let schema = "password_resets"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "used_at") public var usedAt: Date?

    public init() {}
}

/// Something an agent should know about: a mention in a note, an assignment.
public final class AgentNotification: Model, @unchecked Sendable {
    public static let schema = "notifications"

    public enum Kind: String, Codable, Sendable, CaseIterable { case mention, assigned, slaWarning = "sla_warning", slaBreach = "sla_breach"
        case overCapacity = "over_capacity"
        /// A reminder the member set came due.
        case reminder
        /// A customer message went unanswered past the inbox's threshold (the "always answer" rule).
        case unanswered
        /// A compensation above someone's limits waits for a supervisor's decision.
        case compensationRequested = "compensation_requested"
        /// One's compensation request was approved or rejected.
        case compensationDecided = "compensation_decided"
        /// A scheduled backup failed (to the admins; about no conversation: its number is 0).
        case backupFailed = "backup_failed"
    }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "kind") public var kind: Kind
    @Field(key: "conversation_number") public var conversationNumber: Int
    @OptionalField(key: "actor_id") public var actorID: UUID?
    @Field(key: "excerpt") public var excerpt: String
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "read_at") public var readAt: Date?

    public init() {}
}

/// An inbox filter an agent saved under a name: the query string of the inbox page.
public final class SavedView: Model, @unchecked Sendable {
    public static let schema = "saved_views"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "name") public var name: String
    @Field(key: "query") public var query: String
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}
