import AtiendeCore
import AtiendeMail
import Crypto
import Foundation

/// The email channel's reading side: a parsed message becomes the common inbound message.
///
/// Threading: our outgoing mail carries a plus-addressed Reply-To (`soporte+<token>@tienda.cl`) whose token is the
/// conversation's thread (`provider_thread_id`), our own Message-IDs and `[#N]` in the subject. A reply joins a
/// conversation when its token — or, failing that, its References / In-Reply-To — points at one, and the sender is that
/// conversation's customer; anything else (a guessed or forwarded token, another sender) opens a conversation of its own.
public enum EmailChannel {
    /// Signs raw MIME posted to the inbox (an MTA pipe or a provider's inbound-parse webhook), like the API channel.
    public static let secretKey = "inbound_secret"
    public static let maxBytes = 40 * 1024 * 1024

    /// A new conversation's thread token: unguessable, short enough for an address's local part.
    public static func newToken() -> String { SecretToken.thread() }

    /// Tokens in plus-addresses of the inbox's own address (`local+token@domain`) among the recipients.
    public static func tokens(_ mail: ParsedMail, mailbox: String) -> [String] {
        let parts = mailbox.lowercased().split(separator: "@", maxSplits: 1)
        guard parts.count == 2 else { return [] }
        let (local, domain) = (String(parts[0]), String(parts[1]))
        let delivered = mail.headers.all("Delivered-To") + mail.headers.all("X-Original-To") + mail.headers.all("Envelope-To")
        let recipients = (mail.to + mail.cc).map(\.email) + delivered.flatMap { Addresses.parse($0).map(\.email) }
        return recipients.compactMap { address in
            let lower = address.lowercased()
            guard lower.hasSuffix("@" + domain), lower.hasPrefix(local + "+") else { return nil }
            let token = lower.dropFirst(local.count + 1).dropLast(domain.count + 1)
            return token.count >= 8 && token.count <= 64 && token.allSatisfy({ $0.isLetter || $0.isNumber }) ? String(token) : nil
        }
    }

    /// The other people on the thread: everyone in To and Cc but our own mailbox (plus-addresses included), and the sender
    /// when it is not the customer.
    public static func participants(_ mail: ParsedMail, mailbox: String, customer: String?) -> [String] {
        let ours = mailbox.lowercased().split(separator: "@", maxSplits: 1)
        var seen = Set<String>()
        return (mail.to + mail.cc + mail.from).compactMap { IdentityNormalizer.email($0.email) }.filter { address in
            if address == customer?.lowercased() { return false }
            if ours.count == 2, address.hasSuffix("@" + ours[1]), address.hasPrefix(ours[0] + "@") || address.hasPrefix(ours[0] + "+") { return false }
            return seen.insert(address).inserted
        }
    }

    /// Every Message-ID this mail answers, newest first.
    public static func answered(_ mail: ParsedMail) -> [String] {
        var seen = Set<String>()
        return (mail.inReplyTo + mail.references.reversed()).filter { seen.insert($0).inserted }
    }

    /// The inbound message: what the customer wrote (quoted history trimmed), the original kept as `original.eml`, files
    /// of types we keep (the others named in the text), automatic mail marked.
    public static func inbound(_ mail: ParsedMail, inboxID: UUID, thread: String, conversationID: UUID? = nil,
                               allowedTypes: Set<String>) throws -> InboundMessage {
        guard let sender = mail.from.first, let email = IdentityNormalizer.email(sender.email) else {
            throw AtiendeError.invalid("the message has no usable From address", code: "invalid_sender")
        }
        var text = QuotedText.split(mail.text).visible
        if text.isEmpty, let html = mail.html { text = HTMLText.plain(html) }
        var files = [InboundMessage.File(filename: "original.eml", contentType: "message/rfc822", data: mail.raw)]
        var skipped: [String] = []
        let html = mail.html?.lowercased() ?? ""
        for attachment in mail.attachments {
            // An image the HTML body shows (`cid:`) is part of the mail's look, shown in the mail view from the original,
            // not a file the customer sent.
            if let id = attachment.contentID, attachment.contentType.hasPrefix("image/"), html.contains("cid:" + id.lowercased()) { continue }
            if allowedTypes.contains(attachment.contentType), !attachment.data.isEmpty {
                files.append(.init(filename: attachment.filename, contentType: attachment.contentType, data: attachment.data))
            } else {
                skipped.append("\(attachment.filename) (\(attachment.contentType))")
            }
        }
        if !skipped.isEmpty { text += (text.isEmpty ? "" : "\n\n") + "[" + skipped.joined(separator: ", ") + "]" }
        if text.isEmpty { text = mail.subject.isEmpty ? "(sin texto)" : mail.subject }
        let id = mail.messageID ?? ("sha256:" + SHA256.hash(data: mail.raw).map { String(format: "%02x", $0) }.joined())
        var inbound = InboundMessage(inboxID: inboxID, providerMessageID: String(id.prefix(255)),
                                     sender: .init(name: sender.name, identities: [(.email, email)]),
                                     text: String(text.prefix(Ingest.maxTextLength)), files: files, sentAt: mail.date, threadHint: thread,
                                     subject: mail.subject.isEmpty ? nil : String(mail.subject.prefix(255)), automatic: mail.isAutomatic)
        inbound.conversationID = conversationID
        return inbound
    }
}
