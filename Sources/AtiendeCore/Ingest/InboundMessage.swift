import Foundation

/// What every channel adapter produces from provider input; `Ingest` turns it into a conversation message.
public struct InboundMessage: Sendable {
    public struct Sender: Sendable {
        public var name: String?
        /// Raw identities, the channel's own id first (it decides the contact when identities disagree).
        public var identities: [(kind: IdentityKind, value: String)]

        public init(name: String?, identities: [(kind: IdentityKind, value: String)]) {
            self.name = name
            self.identities = identities
        }
    }

    public struct File: Sendable {
        public var filename: String
        public var contentType: String
        public var data: Data

        public init(filename: String, contentType: String, data: Data) {
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    public var inboxID: UUID
    public var providerMessageID: String
    public var sender: Sender
    public var text: String
    public var files: [File]
    public var sentAt: Date?
    /// The provider's thread or chat id, when it has one.
    public var threadHint: String?
    public var subject: String?
    /// Sent by a machine (an auto-reply, a bounce, a notification): never answered automatically.
    public var automatic: Bool
    /// The conversation this message belongs to when its sender is a participant rather than the customer (set only by a
    /// channel that has checked it, e.g. a CC'd address answering an email thread).
    public var conversationID: UUID? = nil

    public init(inboxID: UUID, providerMessageID: String, sender: Sender, text: String, files: [File] = [],
                sentAt: Date? = nil, threadHint: String? = nil, subject: String? = nil, automatic: Bool = false) {
        self.automatic = automatic
        self.inboxID = inboxID
        self.providerMessageID = providerMessageID
        self.sender = sender
        self.text = text
        self.files = files
        self.sentAt = sentAt
        self.threadHint = threadHint
        self.subject = subject
    }
}

public struct IngestResult: Sendable, Equatable {
    public var conversationID: UUID
    public var conversationNumber: Int
    public var messageID: UUID
    public var contactID: UUID
    /// True when this provider message id had been ingested before; nothing was written.
    public var duplicate: Bool
    public var openedConversation: Bool
}

/// A file sent inside a JSON body, its bytes in base64 (`{"filename", "content_type", "data"}`).
public struct EncodedFile: Decodable, Sendable {
    public var filename: String
    public var contentType: String
    public var data: String
    enum CodingKeys: String, CodingKey { case filename, data, contentType = "content_type" }

    /// The decoded file; `index` names it in the error.
    public func decoded(index: Int) throws -> InboundMessage.File {
        guard let bytes = Data(base64Encoded: data) else {
            throw AtiendeError.invalid("attachments[\(index)].data is not base64", code: "invalid_attachment")
        }
        return InboundMessage.File(filename: filename, contentType: contentType, data: bytes)
    }
}
