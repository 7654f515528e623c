import AtiendeCore
import AtiendeMail
import AtiendeNetwork
import Foundation
import NIOCore

/// An email inbox: its mailbox address, the SMTP relay its replies leave through, an optional IMAP mailbox to collect
/// from, and an inbound URL for raw MIME posted by an MTA pipe or a provider's inbound-parse webhook.
public struct EmailDescriptor: ChannelDescriptor {
    let network: OutboundGuard
    let mail: EmailSender

    public init(network: OutboundGuard) {
        self.network = network
        self.mail = EmailSender(network: network)
    }

    public var kind: ChannelKind { .email }
    public var icon: ChannelIcon { ChannelIcon(path: "M3 5h18v14H3zM3 6l9 7 9-7", color: "#2563eb") }
    public var sender: (any ChannelSender)? { mail }
    public var replyRules: ReplyRules { ReplyRules(reaches: [.email]) }

    static let smtpSecurity: ChannelField.Input = .choice([
        .init("starttls", label: "inbox.security_starttls"), .init("tls", label: "inbox.security_tls"), .init("none", label: "inbox.smtp_plain"),
    ])
    static let imapSecurity: ChannelField.Input = .choice([
        .init("tls", label: "inbox.security_tls"), .init("starttls", label: "inbox.security_starttls"), .init("none", label: "inbox.smtp_plain"),
    ])

    public var fields: [ChannelField] {
        [
            ChannelField("address", .setting, .email), ChannelField("display_name", required: false),
            ChannelField("signature", required: false),
            ChannelField("smtp_host", .setting, .host, required: false), ChannelField("smtp_port", .setting, .port, required: false),
            ChannelField("smtp_security", .setting, Self.smtpSecurity, required: false), ChannelField("smtp_username", required: false),
            .secret("smtp_password", required: false),
            ChannelField("imap_host", .setting, .host, required: false), ChannelField("imap_port", .setting, .port, required: false),
            ChannelField("imap_security", .setting, Self.imapSecurity, required: false), ChannelField("imap_username", required: false),
            .secret("imap_password", required: false),
            ChannelField("imap_mailbox", required: false, inForm: false),
            ChannelField("smtp_ca_file", required: false, inForm: false), ChannelField("imap_ca_file", required: false, inForm: false),
        ]
    }

    public var tokens: [GeneratedToken] { [GeneratedToken(EmailChannel.secretKey, .secret, prefix: "whsec_", shownOnce: true)] }

    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] {
        [ChannelAddress(.url, label: "inbox.inbound_url", site.publicURL + "/api/v1/channels/email/\((inbox.id ?? UUID()).uuidString.lowercased())/messages")]
            + (inbox.settings.values["address"].map { [ChannelAddress(.token, label: "inbox.address", $0)] } ?? [])
    }

    /// The IMAP mailbox to collect from, when the inbox has one.
    public static func imap(_ settings: InboxSettings, secrets: [String: String], network: OutboundGuard) -> IMAPClient.Settings? {
        let values = settings.values
        guard let host = values["imap_host"], !host.isEmpty else { return nil }
        let security = values["imap_security"].flatMap(SMTPClient.Security.init(rawValue:)) ?? .tls
        let port = values["imap_port"].flatMap(Int.init) ?? (security == .tls ? 993 : 143)
        let user = values["imap_username"].flatMap { $0.isEmpty ? nil : $0 } ?? values["smtp_username"] ?? values["address"] ?? ""
        let password = secrets["imap_password"] ?? secrets["smtp_password"] ?? ""
        return IMAPClient.Settings(host: host, port: port, security: security, username: user, password: password,
                                   caFile: values["imap_ca_file"] ?? values["smtp_ca_file"], mailbox: values["imap_mailbox"] ?? "INBOX",
                                   network: network)
    }

    /// A person waits for the check: each mail server gets 20 seconds, well inside the connection's idle timeout.
    public static let checkTimeout: TimeAmount = .seconds(20)

    public var checkable: Bool { true }

    /// Each configured side is tried, and the answer says which one failed and how.
    public func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String {
        var parts: [String] = []
        if !(settings.values["smtp_host"] ?? "").isEmpty {
            do {
                var smtp = try EmailSender.smtp(settings, secrets: secrets, network: network)
                smtp.timeout = Self.checkTimeout
                parts.append("SMTP: " + (try await SMTPClient(settings: smtp).check()))
            } catch let failure as SMTPClient.Failure {
                throw AtiendeError(.unavailable, code: "provider_unreachable", "SMTP: \(failure.description)", parameters: ["server": "SMTP"])
            }
        }
        if var imap = Self.imap(settings, secrets: secrets, network: network) {
            imap.timeout = Self.checkTimeout
            do {
                let session = try await IMAPClient(settings: imap).connect()
                let (_, count) = try await session.select()
                await session.logout()
                parts.append("IMAP: \(imap.mailbox), \(count) messages")
            } catch let failure as IMAPClient.Failure {
                throw AtiendeError(.unavailable, code: "provider_unreachable", "IMAP: \(failure.description)", parameters: ["server": "IMAP"])
            }
        }
        guard !parts.isEmpty else {
            throw AtiendeError.invalid("this email inbox has neither an SMTP nor an IMAP server to check", code: "nothing_to_check")
        }
        return parts.joined(separator: " · ")
    }
}
