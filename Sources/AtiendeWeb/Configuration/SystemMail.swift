import AtiendeChannels
import AtiendeCore
import AtiendeMail
import AtiendeNetwork
import FluentKit
import Foundation

/// The instance's own mail to people — notifications to agents and supervisors, chat replies to visitors who left —
/// through the SMTP server of `ATIENDE_SMTP_URL`, from `ATIENDE_MAIL_FROM`. (Replies in an email inbox go through
/// that inbox's own server, `EmailSender`.)
public struct SystemMail: Sendable {
    public var smtp: SMTPClient.Settings
    public var from: String

    /// `smtp://user:password@host:587` (STARTTLS), `smtps://…:465` (TLS from the start), `?security=none` for a relay
    /// on a trusted network without TLS, `?ca_file=/path.pem` to trust a private CA.
    public static func parse(url raw: String, from: String) throws -> SystemMail {
        guard let url = URLComponents(string: raw), let scheme = url.scheme?.lowercased(), ["smtp", "smtps"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw AppConfig.ConfigError(variable: "ATIENDE_SMTP_URL", problem: "'\(raw)' is not smtp://[user:password@]host[:port] or smtps://…")
        }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        var security: SMTPClient.Security = scheme == "smtps" ? .tls : .starttls
        if let named = query["security"] {
            guard let chosen = SMTPClient.Security(rawValue: named) else {
                throw AppConfig.ConfigError(variable: "ATIENDE_SMTP_URL", problem: "security must be none, starttls or tls, not '\(named)'")
            }
            security = chosen
        }
        guard let address = IdentityNormalizer.email(from) else {
            throw AppConfig.ConfigError(variable: "ATIENDE_MAIL_FROM", problem: "'\(from)' is not an email address (needed with ATIENDE_SMTP_URL)")
        }
        let domain = String(address.split(separator: "@").last ?? "atiende.local")
        return SystemMail(smtp: SMTPClient.Settings(host: host, port: url.port ?? (security == .tls ? 465 : 587), security: security,
                                                     username: url.percentEncodedUser?.removingPercentEncoding,
                                                     password: url.percentEncodedPassword?.removingPercentEncoding,
                                                     caFile: query["ca_file"], hostname: domain,
                                                     // The operator names this server, not a workspace: it may be on the local network.
                                                     network: OutboundGuard(rules: [.any])),
                          from: address)
    }

    /// Sends one mail; a 4xx or a connection problem is temporary (the job tries again), a 5xx permanent.
    func send(_ mail: OutgoingMail) async throws {
        do {
            try await SMTPClient(settings: smtp).send(MailBuilder.build(mail), from: from, to: (mail.to + mail.cc).map(\.email))
        } catch let failure as SMTPClient.Failure {
            switch failure {
            case .temporary(let reason): throw JobFailure.temporary("SMTP: " + reason)
            case .permanent(let reason): throw JobFailure.permanent("SMTP: " + reason)
            }
        }
    }

    func messageID(_ id: UUID) -> String {
        "atiende.\(id.uuidString.lowercased().replacingOccurrences(of: "-", with: ""))@\(smtp.hostname)"
    }
}

/// The `notification.email` job: one notification to its person, in their language, with a link to the conversation.
/// Checked again when it runs: a person who turned that kind off, left the workspace or was deactivated gets nothing.
struct NotificationMailJob: JobHandler {
    let store: Store
    let mail: SystemMail
    let publicURL: String?

    func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(Notifications.MailPayload.self)
        let db = store.db
        guard let notification = try await AgentNotification.find(payload.notificationID, on: db),
              let user = try await User.find(notification.userID, on: db), user.isActive,
              user.emailedNotifications.contains(notification.kind),
              let workspace = try await Workspace.find(notification.$workspace.id, on: db),
              try await Membership.query(on: db).filter(\.$workspace.$id == notification.$workspace.id)
                  .filter(\.$user.$id == notification.userID).first() != nil
        else { return }
        let conversation = try await Conversation.query(on: db).filter(\.$workspace.$id == notification.$workspace.id)
            .filter(\.$number == notification.conversationNumber).with(\.$contact).with(\.$inbox).first()
        let actor: User? = if let id = notification.actorID { try await User.find(id, on: db) } else { nil }
        let t = Localizer(Localizer.Language(rawValue: user.language) ?? .es)
        let text = Self.body(notification, user: user, workspace: workspace, conversation: conversation, actor: actor,
                             base: publicURL, t: t)
        var outgoing = OutgoingMail(from: MailAddress(name: "Atiende · " + workspace.name, email: mail.from),
                                    to: [MailAddress(name: user.name, email: user.email)],
                                    subject: "[\(workspace.name)] " + Self.headline(notification, actor: actor, t: t)
                                        + (conversation?.subject.flatMap { $0.isEmpty ? nil : " — " + $0 } ?? ""),
                                    messageID: mail.messageID(payload.notificationID), date: store.clock.now(), text: text)
        // Machine-made: vacation responders must not answer it (RFC 3834).
        outgoing.extraHeaders = [("Auto-Submitted", "auto-generated")]
        try await mail.send(outgoing)
    }

    func deadLettered(_ job: ClaimedJob, reason: String, in tx: WriteTransaction) async throws {}

    static func headline(_ notification: AgentNotification, actor: User?, t: Localizer) -> String {
        t("notifications.\(notification.kind.rawValue)", actor?.name ?? t("message.system"), notification.conversationNumber)
    }

    static func body(_ notification: AgentNotification, user: User, workspace: Workspace, conversation: Conversation?, actor: User?,
                     base: String?, t: Localizer) -> String {
        var lines = [t("mail.greeting", user.name), "", headline(notification, actor: actor, t: t) + "."]
        switch notification.kind {
        case .slaWarning, .slaBreach:
            let clock = ConversationClocks.Kind(rawValue: notification.excerpt).map { t("sla.\($0.rawValue)") } ?? notification.excerpt
            lines.append(t("mail.clock", clock))
        case .mention, .reminder, .compensationRequested, .backupFailed, .compensationDecided:
            guard !notification.excerpt.isEmpty else { break }
            lines += ["", notification.excerpt.split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }.joined(separator: "\n")]
        case .overCapacity:
            lines.append(t("mail.waiting", notification.excerpt))
        case .assigned, .unanswered:
            break
        }
        if let conversation {
            lines.append("")
            if let subject = conversation.subject, !subject.isEmpty { lines.append(t("mail.subject", subject)) }
            lines.append(t("mail.customer", conversation.contact.name ?? conversation.contact.email ?? conversation.contact.phone ?? "—"))
            lines.append(t("mail.inbox", conversation.inbox.name))
        }
        // Links need the instance's public address (ATIENDE_PUBLIC_URL); without it the number in the subject is the guide.
        if let base {
            let root = base.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if notification.conversationNumber > 0 {
                lines += ["", t("mail.open"), root + SiteURL.conversation(workspace.slug, notification.conversationNumber).path]
            }
            lines += ["", "-- ", t("mail.why"), root + SiteURL.account.path]
        }
        return lines.joined(separator: "\n")
    }
}

/// Live chat replies written while the visitor is away, mailed to the email they left (`WebchatSender.AwayMailer`).
struct WebchatAwayMail: WebchatSender.AwayMailer {
    let store: Store
    let mail: SystemMail

    func mail(_ message: OutboundMessage, to address: String) async throws {
        guard let inbox = try await Inbox.query(on: store.db).filter(\.$id == message.inboxID).with(\.$workspace).first() else { return }
        let workspace = inbox.workspace.name
        let t = Localizer(Localizer.Language(rawValue: message.settings.language ?? inbox.workspace.defaultLanguage) ?? .es)
        let who = message.agentName ?? workspace
        let greeting = message.contact.name.map { t("mail.greeting", $0) } ?? t("away.greeting")
        let text = [greeting, "", t("away.wrote", who, workspace), "",
                    message.message.text, "", t("away.continue", message.conversation.number)].joined(separator: "\n")
        var outgoing = OutgoingMail(from: MailAddress(name: [message.agentName, workspace].compactMap { $0 }.joined(separator: " · "), email: mail.from),
                                    to: [MailAddress(name: message.contact.name, email: address)],
                                    subject: t("away.subject", workspace, message.conversation.number),
                                    messageID: mail.messageID(message.message.id), date: message.now, text: text)
        outgoing.attachments = message.files.map { MailAttachment(filename: $0.filename, contentType: $0.contentType, contentID: nil, inline: false, data: $0.data) }
        try await mail.send(outgoing)
    }
}
