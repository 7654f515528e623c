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

    /// `countryCode` is the workspace's, for local phone numbers.
    public func receive(_ inbound: InboundMessage, in inbox: Inbox, countryCode: String?) async throws -> IngestResult {
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
        let identities = Self.normalizedIdentities(inbound.sender, countryCode: countryCode)
        guard !identities.isEmpty else {
            throw AtiendeError.invalid("the sender has no usable identity (id, email or phone)", code: "invalid_sender")
        }
        let channel = inbox.channel
        let window = TimeInterval(inbox.reopenWindowSeconds)
        let teamID = inbox.$team.id
        let storedFiles = stored

        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let duplicate = try await IngestSQL.duplicate(inbox: inboxID, providerID: providerID, in: tx) {
                return IngestResult(conversationID: duplicate.conversationID, conversationNumber: duplicate.number,
                                    messageID: duplicate.messageID, contactID: duplicate.contactID,
                                    duplicate: true, openedConversation: false)
            }
            let now = tx.now
            let contactID = try await ContactResolver.resolve(identities, name: inbound.sender.name, workspace: workspaceID, in: tx)
            var (conversation, opened) = try await Self.thread(
                inbound.threadHint, contact: contactID, inbox: inboxID, workspace: workspaceID, channel: channel,
                teamID: teamID, reopenWindow: window, subject: inbound.subject, in: tx)

            let messageID = UUID()
            var message = MessageSnapshot(
                id: messageID, conversationID: conversation.id, kind: .incoming, senderType: .contact, senderID: contactID,
                text: inbound.text, providerMessageID: providerID, deliveryStatus: .received, deliveryError: nil,
                sentAt: inbound.sentAt, createdAt: now, attachments: [])
            try await IngestSQL.insertMessage(message, workspace: workspaceID, inbox: inboxID, in: tx)
            for (file, type, hash) in storedFiles {
                let attachment = AttachmentSnapshot(id: UUID(), filename: Self.safeFilename(file.filename), contentType: type,
                                                    size: file.data.count, sha256: hash)
                try await IngestSQL.insertAttachment(attachment, message: messageID, workspace: workspaceID, in: tx)
                message.attachments.append(attachment)
            }

            conversation.lastMessageAt = now
            conversation.updatedAt = now
            if conversation.waitingSince == nil { conversation.waitingSince = now }
            conversation.messageCount += 1
            try await IngestSQL.touch(conversation, in: tx)

            try await EventLog.append(.messageCreated, workspace: workspaceID, conversation: conversation.id,
                                      payload: MessageEventPayload(conversation: conversation, message: message), in: tx)
            return IngestResult(conversationID: conversation.id, conversationNumber: conversation.number,
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
    ) async throws -> (ConversationSnapshot, opened: Bool) {
        let now = tx.now
        if var found = try await IngestSQL.findConversation(inbox: inboxID, contact: contactID, threadHint: hint,
                                                             reopenAfter: now.addingTimeInterval(-reopenWindow), in: tx) {
            let previous = found.status
            if previous != .open {
                // A customer writing again brings a waiting, snoozed or recently resolved conversation back.
                found.status = .open
                found.snoozedUntil = nil
                found.resolvedAt = nil
                found.updatedAt = now
                try await EventLog.append(previous == .resolved ? .conversationReopened : .conversationStatusChanged,
                                          workspace: workspaceID, conversation: found.id,
                                          payload: ConversationEventPayload(conversation: found, changes: ["status": previous.rawValue]),
                                          in: tx)
            }
            return (found, false)
        }
        let number = try await tx.next(.conversation, in: workspaceID)
        let conversation = ConversationSnapshot(
            id: UUID(), number: Int(number), inboxID: inboxID, contactID: contactID, channel: channel, status: .open,
            priority: .none, assigneeID: nil, teamID: teamID, labels: [], contactReason: nil,
            subject: subject.map { String($0.prefix(255)) }, threadID: hint, snoozedUntil: nil, createdAt: now, updatedAt: now,
            lastMessageAt: now, waitingSince: nil, firstResponseAt: nil, resolvedAt: nil, messageCount: 0)
        try await IngestSQL.insertConversation(conversation, workspace: workspaceID, in: tx)
        try await EventLog.append(.conversationCreated, workspace: workspaceID, conversation: conversation.id,
                                  payload: ConversationEventPayload(conversation: conversation), in: tx)
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
