import FluentKit
import Foundation

/// The one path by which customer messages from every channel become conversation messages.
/// Everything happens in one transaction: dedupe, contact, threading, message, events, jobs.
public struct Ingest: Sendable {
    public static let maxTextLength = 65_536
    public static let maxProviderIDLength = 255

    public let store: Store
    public let files: FileStore

    public init(store: Store, files: FileStore) {
        self.store = store
        self.files = files
    }

    public func receive(_ inbound: InboundMessage, in inbox: Inbox) async throws -> IngestResult {
        let workspaceID = inbox.$workspace.id
        guard let inboxID = inbox.id, inboxID == inbound.inboxID else { throw AtiendeError.notFound("inbox") }
        let providerID = inbound.providerMessageID.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !providerID.isEmpty, providerID.count <= Self.maxProviderIDLength else {
            throw AtiendeError.invalid("message_id must be 1 to \(Self.maxProviderIDLength) characters", code: "invalid_message_id")
        }
        guard inbound.text.count <= Self.maxTextLength else {
            throw AtiendeError(.payloadTooLarge, code: "text_too_long", "text is longer than \(Self.maxTextLength) characters")
        }
        guard !inbound.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !inbound.files.isEmpty else {
            throw AtiendeError.invalid("a message needs text or an attachment", code: "empty_message")
        }
        // Validate and store files before the transaction: content-addressed writes are idempotent.
        var stored: [(InboundMessage.File, String, String)] = []
        for file in inbound.files {
            let type = try files.validate(contentType: file.contentType, size: file.data.count)
            stored.append((file, type, try files.put(file.data)))
        }
        let workspace = try await Workspace.find(workspaceID, on: store.db)
        let identities = Self.normalizedIdentities(inbound.sender, countryCode: workspace?.defaultCountryCode)
        guard !identities.isEmpty else {
            throw AtiendeError.invalid("the sender has no usable identity (id, email or phone)", code: "invalid_sender")
        }
        let channel = inbox.channel
        let window = TimeInterval(inbox.reopenWindowSeconds)
        let teamID = inbox.$team.id
        let storedFiles = stored

        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let existing = try await Message.query(on: tx.db)
                .filter(\.$inbox.$id == inboxID).filter(\.$providerMessageID == providerID).first(),
                let conversation = try await Conversation.find(existing.$conversation.id, on: tx.db) {
                return IngestResult(conversationID: try conversation.requireID(), conversationNumber: conversation.number,
                                    messageID: try existing.requireID(), contactID: conversation.$contact.id,
                                    duplicate: true, openedConversation: false)
            }
            let now = tx.now
            let contact = try await ContactResolver.resolve(identities, name: inbound.sender.name,
                                                            workspace: workspaceID, in: tx)
            let contactID = try contact.requireID()
            let (conversation, opened) = try await Self.thread(
                inbound.threadHint, contact: contactID, inbox: inboxID, workspace: workspaceID, channel: channel,
                teamID: teamID, reopenWindow: window, subject: inbound.subject, in: tx)

            let message = Message(workspaceID: workspaceID, conversationID: try conversation.requireID(), inboxID: inboxID,
                                  kind: .incoming, senderType: .contact, senderID: contactID, text: inbound.text, at: now)
            message.providerMessageID = providerID
            message.deliveryStatus = .received
            message.sentAt = inbound.sentAt
            try await message.create(on: tx.db)
            let messageID = try message.requireID()
            var attachments: [Attachment] = []
            for (file, type, hash) in storedFiles {
                let attachment = Attachment(workspaceID: workspaceID, messageID: messageID,
                                            filename: Self.safeFilename(file.filename), contentType: type,
                                            size: file.data.count, sha256: hash)
                try await attachment.create(on: tx.db)
                attachments.append(attachment)
            }

            conversation.lastMessageAt = now
            conversation.lastIncomingAt = now
            conversation.updatedAt = now
            if conversation.waitingSince == nil { conversation.waitingSince = now }
            conversation.messageCount += 1
            try await conversation.save(on: tx.db)

            try await EventLog.append(.messageCreated, workspace: workspaceID, conversation: conversation.id,
                                      payload: MessageEventPayload(conversation: conversation.snapshot,
                                                                   message: message.snapshot(attachments: attachments)),
                                      in: tx)
            return IngestResult(conversationID: try conversation.requireID(), conversationNumber: conversation.number,
                                messageID: messageID, contactID: contactID, duplicate: false, openedConversation: opened)
        }
    }

    static func normalizedIdentities(_ sender: InboundMessage.Sender, countryCode: String?) -> [IdentitySnapshot] {
        var seen = Set<IdentitySnapshot>()
        var result: [IdentitySnapshot] = []
        for (kind, raw) in sender.identities {
            guard let value = IdentityNormalizer.normalize(kind, raw, defaultCountryCode: countryCode) else { continue }
            let identity = IdentitySnapshot(kind: kind, value: value)
            if seen.insert(identity).inserted { result.append(identity) }
        }
        return result
    }

    /// A provider thread hint, else the contact's active conversation in the inbox, else one resolved within
    /// the reopen window, else a new conversation with the workspace's next number.
    static func thread(
        _ hint: String?, contact contactID: UUID, inbox inboxID: UUID, workspace workspaceID: UUID,
        channel: ChannelKind, teamID: UUID?, reopenWindow: TimeInterval, subject: String?, in tx: WriteTransaction
    ) async throws -> (Conversation, opened: Bool) {
        let now = tx.now
        let base = Conversation.query(on: tx.db).filter(\.$inbox.$id == inboxID).filter(\.$contact.$id == contactID)
        if let hint, !hint.isEmpty {
            if let hinted = try await base.copy().filter(\.$providerThreadID == hint).filter(\.$status != .closed)
                .sort(\.$lastMessageAt, .descending).first() {
                try await reactivate(hinted, in: tx)
                return (hinted, false)
            }
        } else if let active = try await base.copy().filter(\.$status ~~ ConversationStatus.active)
            .sort(\.$lastMessageAt, .descending).first() {
            try await reactivate(active, in: tx)
            return (active, false)
        } else if let recent = try await base.copy().filter(\.$status == .resolved)
            .filter(\.$resolvedAt >= now.addingTimeInterval(-reopenWindow))
            .sort(\.$resolvedAt, .descending).first() {
            try await reactivate(recent, in: tx)
            return (recent, false)
        }
        let number = try await tx.next(.conversation, in: workspaceID)
        let conversation = Conversation(workspaceID: workspaceID, number: Int(number), inboxID: inboxID,
                                        contactID: contactID, channel: channel, at: now)
        conversation.providerThreadID = hint
        conversation.subject = subject.map { String($0.prefix(255)) }
        conversation.$team.id = teamID
        try await conversation.create(on: tx.db)
        try await EventLog.append(.conversationCreated, workspace: workspaceID, conversation: conversation.id,
                                  payload: ConversationEventPayload(conversation: conversation.snapshot), in: tx)
        return (conversation, true)
    }

    /// A customer writing again brings a waiting, snoozed or recently resolved conversation back to open.
    static func reactivate(_ conversation: Conversation, in tx: WriteTransaction) async throws {
        let previous = conversation.status
        guard previous != .open else { return }
        conversation.status = .open
        conversation.snoozedUntil = nil
        if previous == .resolved { conversation.resolvedAt = nil }
        conversation.updatedAt = tx.now
        try await conversation.save(on: tx.db)
        let type: EventType = previous == .resolved ? .conversationReopened : .conversationStatusChanged
        try await EventLog.append(type, workspace: conversation.$workspace.id, conversation: conversation.id,
                                  payload: ConversationEventPayload(conversation: conversation.snapshot,
                                                                    changes: ["status": previous.rawValue]),
                                  in: tx)
    }

    static func safeFilename(_ name: String) -> String {
        let base = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = base.filter { !$0.isNewline && $0 != "\0" && $0 != "\"" }
        return cleaned.isEmpty ? "attachment" : String(cleaned.prefix(200))
    }
}
