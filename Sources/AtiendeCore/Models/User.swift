import FluentKit
import Foundation

public final class User: Model, @unchecked Sendable {
    public static let schema = "users"

    @ID(key: .id) public var id: UUID?

    @Field(key: "email") public var email: String
    @Field(key: "name") public var name: String
    @Field(key: "password_hash") public var passwordHash: String
    @Field(key: "language") public var language: String
    @Field(key: "time_zone") public var timeZone: String
    /// Signed under this person's email replies, above the inbox's signature.
    @OptionalField(key: "signature") public var signature: String?
    /// `BusinessHours` as JSON: when this person works; nil = they follow the inbox's hours.
    @OptionalField(key: "working_hours") public var workingHoursJSON: String?

    public var workingHours: BusinessHours? { JSON.decode(BusinessHours.self, from: workingHoursJSON) }
    /// The kinds of notification this person also gets by email, comma-separated; nil = every kind.
    @OptionalField(key: "email_notifications") public var emailNotificationsRaw: String?

    public var emailedNotifications: Set<AgentNotification.Kind> {
        guard let raw = emailNotificationsRaw else { return Set(AgentNotification.Kind.allCases) }
        return Set(raw.split(separator: ",").compactMap { AgentNotification.Kind(rawValue: String($0)) })
    }
    @Field(key: "is_active") public var isActive: Bool
    @OptionalField(key: "password_changed_at") public var passwordChangedAt: Date?
    /// Two-factor sign-in: the TOTP secret sealed under the instance key (nil: off), one being set up and not confirmed
    /// yet, the last step a code was taken for (a code works once), and the recovery codes' hashes, one per line.
    @OptionalField(key: "totp_secret") public var totpSecret: Data?
    @OptionalField(key: "totp_pending") public var totpPending: Data?
    @OptionalField(key: "totp_last_step") public var totpLastStep: Int64?
    @OptionalField(key: "recovery_codes") public var recoveryCodes: String?
    public var hasTwoFactor: Bool { totpSecret != nil }

    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    @Children(for: \.$user) public var memberships: [Membership]

    public init() {}

    public init(id: UUID? = nil, email: String, name: String, passwordHash: String,
                language: String = "es", timeZone: String = "UTC") {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.language = language
        self.timeZone = timeZone
        self.isActive = true
    }
}

public final class Membership: Model, @unchecked Sendable {
    public static let schema = "memberships"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Parent(key: "user_id") public var user: User
    @Field(key: "role") public var role: Role
    /// What the agent chose, nil until they choose: online (`Membership.effectiveStatus` is what the desk sees).
    @OptionalField(key: "availability") public var chosenStatus: AgentStatus?
    /// The last time a browser of theirs was connected to this workspace's desk.
    @OptionalField(key: "last_seen_at") public var lastSeenAt: Date?
    /// When the desk last gave them a conversation (round-robin takes whoever waited longest).
    @OptionalField(key: "last_assigned_at") public var lastAssignedAt: Date?
    /// `MemberRouting` as JSON: capacity per channel and languages.
    @OptionalField(key: "routing") public var routingJSON: String?
    /// A supervisor's weekly report by email (Mondays), and when the last one went.
    @OptionalField(key: "weekly_report") public var weeklyReport: Bool?
    @OptionalField(key: "weekly_report_sent_at") public var weeklyReportSentAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    public init(workspaceID: UUID, userID: UUID, role: Role) {
        self.$workspace.id = workspaceID
        self.$user.id = userID
        self.role = role
    }

    public var availability: AgentStatus { chosenStatus ?? .online }
}

/// A personal API token. Only its SHA-256 is stored; the token itself is shown once.
public final class APIToken: Model, @unchecked Sendable {
    public static let schema = "api_tokens"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    @Field(key: "name") public var name: String
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "prefix") public var prefix: String
    @OptionalField(key: "last_used_at") public var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") public var revokedAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    /// After this the token is refused; nil: it lasts until revoked.
    @OptionalField(key: "expires_at") public var expiresAt: Date?
    /// A read-only token may only read (GET): it cannot change anything, whatever its owner's role.
    @OptionalField(key: "read_only") public var readOnly: Bool?

    public init() {}

    public init(userID: UUID, name: String, tokenHash: String, prefix: String) {
        self.$user.id = userID
        self.name = name
        self.tokenHash = tokenHash
        self.prefix = prefix
    }
}

public final class Team: Model, @unchecked Sendable {
    public static let schema = "teams"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "name") public var name: String
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    @Children(for: \.$team) public var members: [TeamMember]

    public init() {}

    public init(workspaceID: UUID, name: String) {
        self.$workspace.id = workspaceID
        self.name = name
    }
}

public final class TeamMember: Model, @unchecked Sendable {
    public static let schema = "team_members"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Parent(key: "team_id") public var team: Team
    @Parent(key: "user_id") public var user: User

    public init() {}

    public init(workspaceID: UUID, teamID: UUID, userID: UUID) {
        self.$workspace.id = workspaceID
        self.$team.id = teamID
        self.$user.id = userID
    }
}
