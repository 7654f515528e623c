import AtiendeCore
import AtiendeMail
import FluentKit
import Foundation

/// Mail in, however it arrives — the SMTP/LMTP receiver, the IMAP poller, the signed HTTP endpoint: parsed once, a
/// bounce of ours applied to the message it reports on, anything else threaded (our token, the Message-IDs it answers,
/// the sender being the customer or a participant) and stored through the ingest pipeline, its other people kept on the
/// conversation.
public struct EmailIntake: Sendable {
    let store: Store
    let ingest: Ingest

    public init(store: Store, ingest: Ingest) {
        self.store = store
        self.ingest = ingest
    }

    public enum Delivered: Sendable {
        case stored(IngestResult)
        /// A bounce of one of our messages: the message is marked failed (or noted as delayed), no conversation is opened.
        case bounce(messageID: String, reason: String)
    }

    /// Parses, finds the thread, stores: the one path every way mail arrives takes.
    public func deliver(_ raw: Data, to inbox: Inbox) async throws -> Delivered {
        try await deliver(try Self.parse(raw), to: inbox)
    }

    public static func parse(_ raw: Data) throws -> ParsedMail {
        do {
            return try MIMEParser.parse(raw, limits: { var l = MIMEParser.Limits(); l.maxBytes = EmailChannel.maxBytes; return l }())
        } catch {
            throw AtiendeError(.payloadTooLarge, code: "message_too_large", "the message is larger than \(EmailChannel.maxBytes / 1024 / 1024) MB")
        }
    }

    public func deliver(_ mail: ParsedMail, to inbox: Inbox) async throws -> Delivered {
        let inboxID = try inbox.requireID()
        if let report = mail.report, let original = report.originalMessageID,
           let ours = try await Message.query(on: store.db).filter(\.$inbox.$id == inboxID).filter(\.$kind == .outgoing)
               .filter(\.$providerMessageID == original).first() {
            let reason = "Bounce \(report.status ?? "?")" + (report.finalRecipient.map { " (\($0))" } ?? "") + ": "
                + (report.diagnostic ?? report.action ?? "not delivered")
            if report.permanent {
                try await store.write { tx in
                    try await ConversationService.recordDelivery(try ours.requireID(), status: .failed,
                                                                 failure: DeliveryFailure(EmailSender.typed(report.status ?? ""), reason), in: tx)
                }
            }
            return .bounce(messageID: original, reason: reason)
        }
        let (thread, target) = try await Self.thread(for: mail, inbox: inbox, db: store.db)
        let inbound = try EmailChannel.inbound(mail, inboxID: inboxID, thread: thread, conversationID: target, allowedTypes: Set(FileStore.allowedTypes))
        let countryCode = try await Workspace.find(inbox.$workspace.id, on: store.db)?.defaultCountryCode
        let result = try await ingest.receive(inbound, in: inbox, countryCode: countryCode)
        if !result.duplicate { try await remember(mail, in: result.conversationID, inbox: inbox) }
        return .stored(result)
    }

    /// The thread's other people (CC'd addresses) are kept on the conversation: our replies copy them and their
    /// answers join it.
    func remember(_ mail: ParsedMail, in conversationID: UUID, inbox: Inbox) async throws {
        try await store.write { tx in
            guard let conversation = try await Conversation.find(conversationID, on: tx.db) else { return }
            let customer = try await ContactIdentity.query(on: tx.db).filter(\.$contact.$id == conversation.$contact.id)
                .filter(\.$kind == .email).first()?.value
            let found = EmailChannel.participants(mail, mailbox: inbox.settings.values["address"] ?? "", customer: customer)
            var all = conversation.participants
            for address in found where !all.contains(address) && all.count < 20 { all.append(address) }
            guard all != conversation.participants else { return }
            conversation.participantsJSON = String(decoding: try JSON.encoder.encode(all), as: UTF8.self)
            try await conversation.save(on: tx.db)
        }
    }

    /// The conversation thread this mail belongs to: by our token, else by the Message-IDs it answers — and only when the
    /// sender is that conversation's customer, or one of its participants (then the conversation is named explicitly,
    /// since it is not the sender's own). Otherwise a new thread.
    static func thread(for mail: ParsedMail, inbox: Inbox, db: any Database) async throws -> (String, UUID?) {
        let inboxID = try inbox.requireID()
        guard let sender = mail.from.first.flatMap({ IdentityNormalizer.email($0.email) }) else { return (EmailChannel.newToken(), nil) }
        let senderContact = try await ContactIdentity.query(on: db).filter(\.$workspace.$id == inbox.$workspace.id)
            .filter(\.$kind == .email).filter(\.$value == sender).first()?.$contact.id
        var candidates: [Conversation] = []
        let tokens = EmailChannel.tokens(mail, mailbox: inbox.settings.values["address"] ?? "")
        if !tokens.isEmpty {
            // Any of the workspace's conversations: one answered by email from another inbox (a form, a call) has a token too.
            candidates = try await Conversation.query(on: db).filter(\.$workspace.$id == inbox.$workspace.id).filter(\.$providerThreadID ~~ tokens).all()
        }
        let answered = EmailChannel.answered(mail)
        if candidates.isEmpty, !answered.isEmpty {
            let ids = try await Message.query(on: db).filter(\.$inbox.$id == inboxID).filter(\.$providerMessageID ~~ Array(answered.prefix(50)))
                .all().map { $0.$conversation.id }
            if !ids.isEmpty { candidates = try await Conversation.query(on: db).filter(\.$id ~~ ids).all() }
        }
        let open = candidates.filter { $0.status != .closed }
        if let match = open.first(where: { $0.$contact.id == senderContact }), let thread = match.providerThreadID {
            // Named explicitly when it lives in another inbox (ingest looks for threads within the inbox).
            return (thread, match.$inbox.id == inboxID ? nil : try match.requireID())
        }
        if let match = open.first(where: { $0.participants.contains(sender) }), let thread = match.providerThreadID {
            return (thread, try match.requireID())
        }
        return (EmailChannel.newToken(), nil)
    }
}
