import Foundation

/// The shapes records take outside the process: API responses and event payloads share them,
/// so a client sees the same conversation whether it polled for it or was pushed it.
public struct ConversationSnapshot: Codable, Sendable, Equatable {
    public var id: UUID
    public var number: Int
    public var inboxID: UUID
    public var contactID: UUID
    public var channel: ChannelKind
    public var status: ConversationStatus
    public var priority: Priority
    public var assigneeID: UUID?
    public var teamID: UUID?
    public var labels: [String]
    public var contactReason: String?
    public var subject: String?
    public var threadID: String?
    public var snoozedUntil: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var lastMessageAt: Date
    public var waitingSince: Date?
    public var firstResponseAt: Date?
    public var resolvedAt: Date?
    public var messageCount: Int

    enum CodingKeys: String, CodingKey {
        case id, number, channel, status, priority, labels, subject
        case inboxID = "inbox_id", contactID = "contact_id", assigneeID = "assignee_id", teamID = "team_id"
        case threadID = "thread_id"
        case contactReason = "contact_reason", snoozedUntil = "snoozed_until", createdAt = "created_at"
        case updatedAt = "updated_at", lastMessageAt = "last_message_at", waitingSince = "waiting_since"
        case firstResponseAt = "first_response_at", resolvedAt = "resolved_at", messageCount = "message_count"
    }
}

extension Conversation {
    public var snapshot: ConversationSnapshot {
        ConversationSnapshot(
            id: id ?? UUID(), number: number, inboxID: $inbox.id, contactID: $contact.id, channel: channel,
            status: status, priority: priority, assigneeID: $assignee.id, teamID: $team.id, labels: labels,
            contactReason: contactReason, subject: subject, threadID: providerThreadID, snoozedUntil: snoozedUntil, createdAt: createdAt,
            updatedAt: updatedAt, lastMessageAt: lastMessageAt, waitingSince: waitingSince,
            firstResponseAt: firstResponseAt, resolvedAt: resolvedAt, messageCount: messageCount)
    }
}

public struct AttachmentSnapshot: Codable, Sendable, Equatable {
    public var id: UUID
    public var filename: String
    public var contentType: String
    public var size: Int
    public var sha256: String

    enum CodingKeys: String, CodingKey {
        case id, filename, size, sha256
        case contentType = "content_type"
    }
}

extension Attachment {
    public var snapshot: AttachmentSnapshot {
        AttachmentSnapshot(id: id ?? UUID(), filename: filename, contentType: contentType, size: size, sha256: sha256)
    }
}

public struct MessageSnapshot: Codable, Sendable, Equatable {
    public var id: UUID
    public var conversationID: UUID
    public var kind: MessageKind
    public var senderType: SenderType
    public var senderID: UUID?
    public var text: String
    public var providerMessageID: String?
    public var deliveryStatus: DeliveryStatus?
    public var deliveryError: String?
    public var deliveryErrorCode: DeliveryFailure.Code?
    public var deliveryAttempt: Int?
    public var sentAt: Date?
    public var createdAt: Date
    public var attachments: [AttachmentSnapshot]
    public var template: MessageTemplate?
    /// The survey this message asks, when it does.
    public var survey: SurveyPrompt? = nil

    enum CodingKeys: String, CodingKey {
        case id, kind, text, attachments, template, survey
        case conversationID = "conversation_id", senderType = "sender_type", senderID = "sender_id"
        case providerMessageID = "provider_message_id", deliveryStatus = "delivery_status"
        case deliveryError = "delivery_error", deliveryErrorCode = "delivery_error_code", deliveryAttempt = "delivery_attempt"
        case sentAt = "sent_at", createdAt = "created_at"
    }
}

extension Message {
    /// Attachments must be loaded (or passed) for them to appear.
    public func snapshot(attachments: [Attachment]? = nil) -> MessageSnapshot {
        let files = attachments ?? ($attachments.value ?? [])
        return MessageSnapshot(
            id: id ?? UUID(), conversationID: $conversation.id, kind: kind, senderType: senderType, senderID: senderID,
            text: text, providerMessageID: providerMessageID, deliveryStatus: deliveryStatus,
            deliveryError: deliveryError, deliveryErrorCode: deliveryErrorCode.flatMap(DeliveryFailure.Code.init(rawValue:)),
            deliveryAttempt: deliveryAttempt, sentAt: sentAt, createdAt: createdAt, attachments: files.map(\.snapshot),
            template: JSON.decode(MessageTemplate.self, from: templateJSON), survey: JSON.decode(SurveyPrompt.self, from: surveyJSON))
    }
}

/// A message the provider approved in advance (WhatsApp templates), the only kind it delivers outside its window.
public struct MessageTemplate: Codable, Sendable, Equatable {
    public var name: String
    public var language: String
    public var parameters: [String]

    public init(name: String, language: String, parameters: [String]) {
        self.name = name
        self.language = language
        self.parameters = parameters
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        language = try c.decode(String.self, forKey: .language)
        parameters = try c.decodeIfPresent([String].self, forKey: .parameters) ?? []
    }
}

public struct IdentitySnapshot: Codable, Sendable, Equatable, Hashable {
    public var kind: IdentityKind
    public var value: String
}

public struct ContactSnapshot: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String?
    public var email: String?
    public var phone: String?
    public var documentID: String?
    public var attributes: [String: String]
    public var labels: [String]
    public var identities: [IdentitySnapshot]
    public var createdAt: Date?
    public var erasedAt: Date? = nil

    enum CodingKeys: String, CodingKey {
        case id, name, email, phone, attributes, labels, identities
        case documentID = "document_id", createdAt = "created_at", erasedAt = "erased_at"
    }
}

extension Contact {
    public func snapshot(identities: [ContactIdentity]? = nil) -> ContactSnapshot {
        let ids = identities ?? ($identities.value ?? [])
        return ContactSnapshot(
            id: id ?? UUID(), name: name, email: email, phone: phone, documentID: documentID, attributes: attributes,
            labels: labels, identities: ids.map { IdentitySnapshot(kind: $0.kind, value: $0.value) }, createdAt: createdAt,
            erasedAt: erasedAt)
    }
}

/// Payload of `message.created` / `message.updated`: the message and the conversation it changed.
public struct MessageEventPayload: Codable, Sendable {
    public var conversation: ConversationSnapshot
    public var message: MessageSnapshot
}

public struct ConversationEventPayload: Codable, Sendable {
    public var conversation: ConversationSnapshot
    public var changes: [String: String]?
}

public struct ContactEventPayload: Codable, Sendable {
    public var contact: ContactSnapshot
    public var otherContactID: UUID?

    enum CodingKeys: String, CodingKey {
        case contact
        case otherContactID = "other_contact_id"
    }
}
