import FluentKit
import Foundation

public final class Conversation: Model, @unchecked Sendable {
    public static let schema = "conversations"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    /// Shown to people as #1234; unique and gap-free per workspace.
    @Field(key: "number") public var number: Int
    @Parent(key: "inbox_id") public var inbox: Inbox
    @Parent(key: "contact_id") public var contact: Contact
    @Field(key: "channel") public var channel: ChannelKind
    @Field(key: "status") public var status: ConversationStatus
    @Field(key: "priority") public var priority: Priority
    /// `priority` as a number, for sorting by urgency.
    @Field(key: "priority_rank") public var priorityRank: Int
    @OptionalParent(key: "assignee_id") public var assignee: User?
    @OptionalParent(key: "team_id") public var team: Team?
    @Field(key: "labels") public var labels: [String]
    @OptionalField(key: "contact_reason") public var contactReason: String?
    @OptionalField(key: "subject") public var subject: String?
    /// The provider's own thread or chat id, used to keep replies together.
    @OptionalField(key: "provider_thread_id") public var providerThreadID: String?
    @OptionalField(key: "snoozed_until") public var snoozedUntil: Date?
    /// Email: the other addresses on the thread (CC'd), as a JSON array; they receive our replies and may answer.
    @OptionalField(key: "participants") public var participantsJSON: String?

    public var participants: [String] { JSON.decode([String].self, from: participantsJSON) ?? [] }

    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date
    @Field(key: "last_message_at") public var lastMessageAt: Date
    @OptionalField(key: "last_incoming_at") public var lastIncomingAt: Date?
    /// Since when the customer has been waiting for an answer; nil once answered.
    @OptionalField(key: "waiting_since") public var waitingSince: Date?
    @OptionalField(key: "first_response_at") public var firstResponseAt: Date?
    @OptionalField(key: "resolved_at") public var resolvedAt: Date?
    @Field(key: "message_count") public var messageCount: Int

    @OptionalField(key: "sla_policy_id") public var slaPolicyID: UUID?
    /// `ConversationClocks` as JSON (kept by `ServiceLevels`).
    @OptionalField(key: "sla_clocks") public var slaClocksJSON: String?
    @OptionalField(key: "first_response_due_at") public var firstResponseDueAt: Date?
    @OptionalField(key: "next_response_due_at") public var nextResponseDueAt: Date?
    @OptionalField(key: "resolution_due_at") public var resolutionDueAt: Date?
    /// The soonest of the three deadlines.
    @OptionalField(key: "sla_due_at") public var slaDueAt: Date?
    @OptionalField(key: "sla_next_alert_at") public var slaNextAlertAt: Date?
    /// When an assigned conversation goes back to the queue if its agent has not answered (the inbox's no-reply time).
    @OptionalField(key: "reply_due_at") public var replyDueAt: Date?
    /// Who last let the conversation go (unassigned it, or had it taken away for not replying), and when: routing does
    /// not hand it back to them for `Router.releaseHold`.
    @OptionalField(key: "released_by") public var releasedBy: UUID?
    @OptionalField(key: "released_at") public var releasedAt: Date?
    /// When a retention policy took its words away (`RetentionService`).
    @OptionalField(key: "anonymised_at") public var anonymisedAt: Date?

    @Children(for: \.$conversation) public var messages: [Message]

    public init() {}
}

public final class Message: Model, @unchecked Sendable {
    public static let schema = "messages"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Parent(key: "conversation_id") public var conversation: Conversation
    @Parent(key: "inbox_id") public var inbox: Inbox
    @Field(key: "kind") public var kind: MessageKind
    @Field(key: "sender_type") public var senderType: SenderType
    /// The contact's or the agent's id, by `senderType`.
    @OptionalField(key: "sender_id") public var senderID: UUID?
    @Field(key: "text") public var text: String
    @OptionalField(key: "provider_message_id") public var providerMessageID: String?
    @OptionalField(key: "delivery_status") public var deliveryStatus: DeliveryStatus?
    /// The provider's own words on why it failed (or why it is being tried again); `deliveryErrorCode` is ours.
    @OptionalField(key: "delivery_error") public var deliveryError: String?
    @OptionalField(key: "delivery_error_code") public var deliveryErrorCode: String?
    /// While still queued after a failed try: which try comes next.
    @OptionalField(key: "delivery_attempt") public var deliveryAttempt: Int?
    /// When the customer sent it according to the provider.
    @OptionalField(key: "sent_at") public var sentAt: Date?
    /// `MessageTemplate` as JSON when the message was sent as a provider-approved template.
    @OptionalField(key: "template") public var templateJSON: String?
    /// `SurveyPrompt` as JSON when the message asks a survey's question.
    @OptionalField(key: "survey") public var surveyJSON: String?
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date

    @Children(for: \.$message) public var attachments: [Attachment]

    public init() {}

    public init(workspaceID: UUID, conversationID: UUID, inboxID: UUID, kind: MessageKind,
                senderType: SenderType, senderID: UUID?, text: String, at now: Date) {
        self.$workspace.id = workspaceID
        self.$conversation.id = conversationID
        self.$inbox.id = inboxID
        self.kind = kind
        self.senderType = senderType
        self.senderID = senderID
        self.text = text
        self.createdAt = now
        self.updatedAt = now
    }
}

/// A file attached to a message, stored on disk under its SHA-256 (content-addressed).
public final class Attachment: Model, @unchecked Sendable {
    public static let schema = "attachments"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Parent(key: "message_id") public var message: Message
    @Field(key: "filename") public var filename: String
    @Field(key: "content_type") public var contentType: String
    @Field(key: "size") public var size: Int
    @Field(key: "sha256") public var sha256: String
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
