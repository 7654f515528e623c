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
    /// Asks for the sender's `followUp` this long after sending, unless the customer has read the message by then
    /// (live chat: mail the reply to a visitor who left).
    public var followUpAfter: TimeInterval?
    public init(providerMessageID: String?, followUpAfter: TimeInterval? = nil) {
        self.providerMessageID = providerMessageID
        self.followUpAfter = followUpAfter
    }
}

/// A channel's way of sending. Throws `JobFailure` to say whether trying again can help.
public protocol ChannelSender: Sendable {
    func send(_ message: OutboundMessage) async throws -> OutboundReceipt
    /// What to do about a message still unread some time after sending (see `OutboundReceipt.followUpAfter`).
    func followUp(_ message: OutboundMessage) async throws
}

extension ChannelSender {
    public func followUp(_ message: OutboundMessage) async throws {}
}

/// The `channel.send` job: loads the message, hands it to its channel's sender, records the outcome. The same loading
/// serves the `channel.follow_up` job, which hands a message still unread to its sender's `followUp`.
public struct SendMessageJob: JobHandler {

    let store: Store
    let secrets: SecretBox
    let senders: [ChannelKind: any ChannelSender]
    let files: FileStore
    let followingUp: Bool

    public init(store: Store, secrets: SecretBox, files: FileStore, senders: [ChannelKind: any ChannelSender], followingUp: Bool = false) {
        self.store = store
        self.secrets = secrets
        self.files = files
        self.senders = senders
        self.followingUp = followingUp
    }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(SendPayload.self)
        if followingUp {
            guard let (outbound, sender) = try await load(payload), [.sent, .delivered].contains(outbound.message.deliveryStatus) else { return }
            return try await sender.followUp(outbound)
        }
        guard let (outbound, sender) = try await load(payload) else { return }
        let receipt = try await sender.send(outbound)
        try await store.write { tx in
            try await ConversationService.recordDelivery(payload.messageID, status: .sent,
                                                         providerMessageID: receipt.providerMessageID, in: tx)
            if let after = receipt.followUpAfter {
                try await JobQueue.enqueue(JobKind.followUp, payload: payload, workspace: job.workspaceID,
                                           runAt: tx.now.addingTimeInterval(after), in: tx)
            }
        }
    }

    /// The message as its channel needs it, and that channel's sender; nil when it was sent already.
    private func load(_ payload: SendPayload) async throws -> (OutboundMessage, any ChannelSender)? {
        let db = store.db
        guard let message = try await Message.find(payload.messageID, on: db),
              let conversation = try await Conversation.find(message.$conversation.id, on: db),
              let inbox = try await Inbox.find(message.$inbox.id, on: db),
              let contact = try await Contact.query(on: db).filter(\.$id == conversation.$contact.id).with(\.$identities).first()
        else { throw JobFailure.permanent("the message or its conversation no longer exists") }
        guard followingUp || message.deliveryStatus == .queued || message.deliveryStatus == .failed else { return nil }
        guard let sender = senders[inbox.channel] else {
            throw JobFailure.permanent("the \(inbox.channel.rawValue) channel cannot send messages", code: .notSent)
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
        return (outbound, sender)
    }

    public func deadLettered(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws {
        guard !followingUp, let payload = try? job.decode(SendPayload.self) else { return }
        try await ConversationService.recordDelivery(payload.messageID, status: .failed, failure: failure.failure, in: tx)
    }

    /// Still queued, and the page says so: "retrying — try N of M", and why the last one failed.
    public func willRetry(_ job: ClaimedJob, failure: JobFailure, in tx: WriteTransaction) async throws {
        guard !followingUp, let payload = try? job.decode(SendPayload.self) else { return }
        try await ConversationService.recordDelivery(payload.messageID, status: .queued, failure: failure.failure, attempt: job.attempts + 1, in: tx)
    }
}
