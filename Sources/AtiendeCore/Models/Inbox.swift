import FluentKit
import Foundation

/// One connected channel instance: an API integration, a mailbox, a WhatsApp number, a widget…
public final class Inbox: Model, @unchecked Sendable {
    public static let schema = "inboxes"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "name") public var name: String
    @Field(key: "channel") public var channel: ChannelKind
    @Field(key: "settings") public var settings: InboxSettings
    /// Channel credentials sealed with the instance key (`SecretBox`); never returned by the API.
    @OptionalField(key: "secrets") public var sealedSecrets: Data?
    @OptionalParent(key: "team_id") public var team: Team?
    @Field(key: "reopen_window_seconds") public var reopenWindowSeconds: Int
    @Field(key: "is_active") public var isActive: Bool
    /// `BusinessHours` as JSON; nil = open around the clock.
    @OptionalField(key: "business_hours") public var businessHoursJSON: String?
    /// The service-level policy; nil = the workspace's default policy, if it has one.
    @OptionalField(key: "sla_policy_id") public var slaPolicyID: UUID?
    /// `AutoReplies` as JSON; nil = none.
    @OptionalField(key: "auto_replies") public var autoRepliesJSON: String?
    /// `AssignmentPolicy` as JSON; nil = manual.
    @OptionalField(key: "assignment") public var assignmentJSON: String?
    /// `SurveyPolicy` as JSON; nil = no survey.
    @OptionalField(key: "survey") public var surveyJSON: String?
    /// How long its conversations keep their words (`RetentionPolicy`), as JSON; nil keeps everything.
    @OptionalField(key: "retention") public var retentionJSON: String?

    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    public init(id: UUID? = nil, workspaceID: UUID, name: String, channel: ChannelKind,
                settings: InboxSettings = .init(), reopenWindowSeconds: Int = 86_400) {
        self.id = id
        self.$workspace.id = workspaceID
        self.name = name
        self.channel = channel
        self.settings = settings
        self.reopenWindowSeconds = reopenWindowSeconds
        self.isActive = true
    }

    public var businessHours: BusinessHours? { JSON.decode(BusinessHours.self, from: businessHoursJSON) }
    public var autoReplies: AutoReplies? { JSON.decode(AutoReplies.self, from: autoRepliesJSON) }

    public func secrets(with box: SecretBox) throws -> [String: String] {
        guard let sealed = sealedSecrets else { return [:] }
        return try box.open(sealed)
    }
}

/// Non-secret channel settings. Each channel reads the keys it needs.
public struct InboxSettings: Codable, Sendable, Equatable {
    /// Where outgoing messages of an API inbox are POSTed.
    public var webhookURL: String?
    public var language: String?
    /// Free-form per-channel settings (provider base URLs, phone number ids…).
    public var values: [String: String]

    public init(webhookURL: String? = nil, language: String? = nil, values: [String: String] = [:]) {
        self.webhookURL = webhookURL
        self.language = language
        self.values = values
    }

    enum CodingKeys: String, CodingKey { case webhookURL = "webhook_url", language, values }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        webhookURL = try c.decodeIfPresent(String.self, forKey: .webhookURL)
        language = try c.decodeIfPresent(String.self, forKey: .language)
        values = try c.decodeIfPresent([String: String].self, forKey: .values) ?? [:]
    }
}
