import AtiendeCore
import AtiendeMail
import AtiendeNetwork
import Foundation

/// Sends replies of an email inbox through its SMTP relay, threaded: our own Message-ID (kept as the message's provider
/// id, so the customer's answer finds the conversation), In-Reply-To / References to the thread, `[#N]` in the subject,
/// a plus-addressed Reply-To carrying the conversation's token, and the customer's last message quoted below.
///
/// Settings: `address`, `display_name`, `signature`, `smtp_host`, `smtp_port`, `smtp_security` (none | starttls | tls),
/// `smtp_username`, `smtp_ca_file`. Secrets: `smtp_password`.
public struct EmailSender: ChannelSender {
    let network: OutboundGuard

    public init(network: OutboundGuard) { self.network = network }

    public static func smtp(_ settings: InboxSettings, secrets: [String: String], network: OutboundGuard) throws -> SMTPClient.Settings {
        guard let host = settings.values["smtp_host"], !host.isEmpty else {
            throw JobFailure.permanent("this email inbox has no SMTP server (settings.smtp_host)", code: .notSent)
        }
        let security = settings.values["smtp_security"].flatMap(SMTPClient.Security.init(rawValue:)) ?? .starttls
        let port = settings.values["smtp_port"].flatMap(Int.init) ?? (security == .tls ? 465 : 587)
        let domain = (settings.values["address"] ?? "").split(separator: "@").last.map(String.init) ?? "atiende.local"
        return SMTPClient.Settings(host: host, port: port, security: security, username: settings.values["smtp_username"],
                                   password: secrets["smtp_password"], caFile: settings.values["smtp_ca_file"], hostname: domain,
                                   network: network)
    }

    /// A mail server's permanent refusal, typed by its enhanced status code: 5.1.x is an address that does not exist,
    /// 535/5.7.8 refused credentials, 5.2.x a mailbox that takes nothing,
    /// anything else a refusal.
    static func typed(_ reply: String) -> DeliveryFailure.Code {
        if reply.contains("5.1.") { return .recipientUnknown }
        if reply.hasPrefix("535") || reply.contains("5.7.8") { return .credentials }
        if reply.contains("5.2.") { return .undeliverable }
        return .rejected
    }

    public func send(_ message: OutboundMessage) async throws -> OutboundReceipt {
        let mail = try Self.compose(message)
        let data = MailBuilder.build(mail)
        let client = SMTPClient(settings: try Self.smtp(message.settings, secrets: message.secrets, network: network))
        do {
            try await client.send(data, from: mail.from.email, to: (mail.to + mail.cc).map(\.email))
        } catch let failure as SMTPClient.Failure {
            switch failure {
            case .temporary(let reason): throw JobFailure.temporary("SMTP: " + reason)
            case .permanent(let reason): throw JobFailure.permanent("SMTP: " + reason, code: Self.typed(reason))
            }
        }
        return OutboundReceipt(providerMessageID: mail.messageID)
    }

    public static func compose(_ message: OutboundMessage) throws -> OutgoingMail {
        guard let address = message.settings.values["address"], let at = address.firstIndex(of: "@") else {
            throw JobFailure.permanent("this email inbox has no address (settings.address)")
        }
        let to = try recipient(message, kind: .email)
        let local = address[..<at], domain = address[address.index(after: at)...]
        let number = message.conversation.number
        var subject = message.conversation.subject ?? ""
        if subject.isEmpty { subject = "Solicitud" }
        if !subject.contains("[#\(number)]") { subject += " [#\(number)]" }
        let answering = message.previous.last { $0.kind == .incoming }
        if answering != nil, !subject.lowercased().hasPrefix("re:") { subject = "Re: " + subject }
        let name = message.settings.values["display_name"].flatMap { $0.isEmpty ? nil : $0 }
        let from = MailAddress(name: [message.agentName, name].compactMap { $0 }.joined(separator: " · ").nilIfEmpty, email: address)
        var outgoing = OutgoingMail(from: from, to: [MailAddress(name: message.contact.name, email: to)], subject: subject,
                                    messageID: "atiende.\(message.message.id.uuidString.lowercased().replacingOccurrences(of: "-", with: ""))@\(domain)",
                                    date: message.now, text: body(message, answering: answering))
        // The people CC'd on the thread get what agents write; an automatic acknowledgement goes to the sender alone.
        let automatic = message.message.senderType == .system || message.message.senderType == .bot
        outgoing.cc = automatic ? [] : message.participants.filter { $0.lowercased() != to.lowercased() }.prefix(20).map { MailAddress(name: nil, email: $0) }
        if let token = message.conversation.threadID, token.allSatisfy({ $0.isLetter || $0.isNumber }) {
            outgoing.replyTo = MailAddress(name: name, email: "\(local)+\(token)@\(domain)")
        }
        let ids = message.previous.compactMap(\.providerMessageID).filter { $0.contains("@") }
        outgoing.references = Array(ids.suffix(20))
        outgoing.inReplyTo = answering?.providerMessageID ?? ids.last
        outgoing.automatic = automatic
        outgoing.attachments = message.files.map { MailAttachment(filename: $0.filename, contentType: $0.contentType, contentID: nil, inline: false, data: $0.data) }
        return outgoing
    }

    /// The reply, the inbox's signature, and the customer's last message quoted (in the customer's language of mail).
    static func body(_ message: OutboundMessage, answering: MessageSnapshot?) -> String {
        var text = message.message.text
        let signatures = [message.agentSignature, message.settings.values["signature"]].compactMap { $0 }.filter { !$0.isEmpty }
        if !signatures.isEmpty { text += "\n\n-- \n" + signatures.joined(separator: "\n") }
        if let answering {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: message.settings.language == "en" ? "en_US" : "es_CL")
            formatter.dateStyle = .long
            formatter.timeStyle = .short
            let when = formatter.string(from: answering.sentAt ?? answering.createdAt)
            let who = message.contact.name ?? message.contact.email ?? ""
            let attribution = message.settings.language == "en" ? "On \(when), \(who) wrote:" : "El \(when), \(who) escribió:"
            text += "\n\n" + attribution + "\n" + answering.text.split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }.joined(separator: "\n")
        }
        return text
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
