import FluentKit
import Foundation

/// The one path by which customer messages from every channel become conversation messages.
/// Each message is validated here, then stored by `IngestBatch` with the messages that arrived with it, in one
/// transaction: dedupe, contact, threading, message, events. The caller hears back only after commit.
public struct Ingest: Sendable {
    public static let maxTextLength = 65_536
    public static let maxProviderIDLength = 255

    public let store: Store
    public let files: FileStore
    let batcher: IngestBatcher

    public init(store: Store, files: FileStore) {
        self.store = store
        self.files = files
        self.batcher = IngestBatcher(store: store)
    }

    /// `countryCode` is the workspace's, for local phone numbers.
    public func receive(_ original: InboundMessage, in inbox: Inbox, countryCode: String?) async throws -> IngestResult {
        // A customer's NUL characters are dropped, not the message: PostgreSQL cannot store them in text.
        var inbound = original
        inbound.text = inbound.text.withoutNUL
        inbound.providerMessageID = inbound.providerMessageID.withoutNUL
        inbound.subject = inbound.subject?.withoutNUL
        inbound.threadHint = inbound.threadHint?.withoutNUL
        inbound.sender.name = inbound.sender.name?.withoutNUL
        inbound.sender.identities = inbound.sender.identities.map { (kind: $0.kind, value: $0.value.withoutNUL) }
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
        let attachments = stored.map { file, type, hash in
            AttachmentSnapshot(id: UUID(), filename: Self.safeFilename(file.filename), contentType: type, size: file.data.count, sha256: hash)
        }
        let item = IngestItem(
            workspaceID: workspaceID, inboxID: inboxID, channel: inbox.channel, teamID: inbox.$team.id,
            reopenWindow: TimeInterval(inbox.reopenWindowSeconds), providerID: providerID, identities: identities,
            name: inbound.sender.name, text: inbound.text, sentAt: inbound.sentAt, threadHint: inbound.threadHint.flatMap { $0.isEmpty ? nil : $0 },
            subject: inbound.subject, attachments: attachments, automatic: inbound.automatic, conversationID: inbound.conversationID)
        return try await batcher.submit(item)
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

    static func safeFilename(_ name: String) -> String {
        let base = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = base.filter { !$0.isNewline && $0 != "\0" && $0 != "\"" }
        return cleaned.isEmpty ? "attachment" : String(cleaned.prefix(200))
    }
}

extension String {
    var withoutNUL: String { contains("\0") ? replacingOccurrences(of: "\0", with: "") : self }
}
