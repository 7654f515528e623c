import FluentKit
import Foundation

/// Everything a channel adapter needs to deliver one agent message.
public struct OutboundMessage: Sendable {
    public var inboxID: UUID
    public var channel: ChannelKind
    public var settings: InboxSettings
    public var secrets: [String: String]
    public var conversation: ConversationSnapshot
    public var message: MessageSnapshot
    public var contact: ContactSnapshot
    public var agentName: String?
    /// The agent's own email signature, if they set one.
    public var agentSignature: String? = nil
    /// Email: the other people on the thread, copied on the reply.
    public var participants: [String] = []
    /// The attachments' bytes, for channels that upload them.
    public var files: [InboundMessage.File]
    /// When the customer last wrote, for channels whose free replies have a window.
    public var lastIncomingAt: Date?
    /// The time of sending by the store's clock.
    public var now: Date
    /// The conversation's earlier customer and team messages, oldest first (for threading headers and quoting).
    public var previous: [MessageSnapshot] = []
}

public struct OutboundReceipt: Sendable {
    public var providerMessageID: String?
    public init(providerMessageID: String?) { self.providerMessageID = providerMessageID }
}

/// A channel's way of sending. Throws `JobFailure` to say whether trying again can help.
public protocol ChannelSender: Sendable {
    func send(_ message: OutboundMessage) async throws -> OutboundReceipt
}

/// The `channel.send` job: loads the message, hands it to its channel's sender, records the outcome.
public struct SendMessageJob: JobHandler {
    let store: Store
    let secrets: SecretBox
    let senders: [ChannelKind: any ChannelSender]
    let files: FileStore

    public init(store: Store, secrets: SecretBox, files: FileStore, senders: [ChannelKind: any ChannelSender]) {
        self.store = store
        self.secrets = secrets
        self.files = files
        self.senders = senders
    }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(SendPayload.self)
        let db = store.db
        guard let message = try await Message.find(payload.messageID, on: db),
              let conversation = try await Conversation.find(message.$conversation.id, on: db),
              let inbox = try await Inbox.find(message.$inbox.id, on: db),
              let contact = try await Contact.query(on: db).filter(\.$id == conversation.$contact.id).with(\.$identities).first()
        else { throw JobFailure.permanent("the message or its conversation no longer exists") }
        guard message.deliveryStatus == .queued || message.deliveryStatus == .failed else { return }
        guard let sender = senders[inbox.channel] else {
            throw JobFailure.permanent("the \(inbox.channel.rawValue) channel cannot send messages")
        }
        let attachments = try await Attachment.query(on: db).filter(\.$message.$id == payload.messageID).all()
        let agent: User? = if let id = message.senderID, message.senderType == .agent { try await User.find(id, on: db) } else { nil }
        let agentName = agent?.name
        var outbound = OutboundMessage(
            inboxID: try inbox.requireID(), channel: inbox.channel, settings: inbox.settings,
            secrets: try inbox.secrets(with: secrets), conversation: conversation.snapshot,
            message: message.snapshot(attachments: attachments), contact: contact.snapshot(), agentName: agentName,
            files: try attachments.map { InboundMessage.File(filename: $0.filename, contentType: $0.contentType, data: try files.read($0.sha256)) },
            lastIncomingAt: conversation.lastIncomingAt, now: store.clock.now())
        outbound.agentSignature = agent?.signature
        outbound.participants = conversation.participants
        if inbox.channel == .email {
            let earlier = try await Message.query(on: db).filter(\.$conversation.$id == conversation.requireID())
                .filter(\.$kind ~~ [.incoming, .outgoing]).filter(\.$id != payload.messageID).filter(\.$createdAt <= message.createdAt)
                .sort(\.$createdAt, .descending).limit(50).all()
            outbound.previous = earlier.reversed().map { $0.snapshot(attachments: []) }
        }
        let receipt = try await sender.send(outbound)
        try await store.write { tx in
            try await ConversationService.recordDelivery(payload.messageID, status: .sent,
                                                         providerMessageID: receipt.providerMessageID, in: tx)
        }
    }

    public func deadLettered(_ job: ClaimedJob, reason: String, in tx: WriteTransaction) async throws {
        guard let payload = try? job.decode(SendPayload.self) else { return }
        try await ConversationService.recordDelivery(payload.messageID, status: .failed, error: reason, in: tx)
    }
}
