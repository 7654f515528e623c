import AtiendeChannels
import AtiendeMail
import AtiendeNetwork
import AtiendeCore
import Fluent
import NIOCore
import Vapor

enum InboxesController {
    struct InboxResponse: Content {
        var id: UUID
        var name: String
        var channel: ChannelKind
        var webhookURL: String?
        var language: String?
        var settings: [String: String]
        var reopenWindowSeconds: Int
        var teamID: UUID?
        var isActive: Bool
        var inboundURL: String?
        /// Live chat: the tag a website pastes to show the widget.
        var embedCode: String?
        var createdAt: Date?
        /// Present only in the response that created or rotated it.
        var secret: String?

        enum CodingKeys: String, CodingKey {
            case id, name, channel, language, settings, secret
            case webhookURL = "webhook_url", reopenWindowSeconds = "reopen_window_seconds", teamID = "team_id"
            case isActive = "is_active", inboundURL = "inbound_url", createdAt = "created_at", embedCode = "embed_code"
        }

        init(_ inbox: Inbox, publicURL: String?, secret: String? = nil) {
            id = inbox.id ?? UUID()
            name = inbox.name
            channel = inbox.channel
            webhookURL = inbox.settings.webhookURL
            language = inbox.settings.language
            settings = inbox.settings.values
            reopenWindowSeconds = inbox.reopenWindowSeconds
            teamID = inbox.$team.id
            isActive = inbox.isActive
            createdAt = inbox.createdAt
            self.secret = secret
            if inbox.channel == .api {
                inboundURL = (publicURL ?? "") + "/api/v1/channels/api/\(id.uuidString.lowercased())/messages"
            }
            if inbox.channel == .webchat { embedCode = Self.embedCode(inbox, publicURL: publicURL) }
            if Self.messagingKinds.contains(inbox.channel) { inboundURL = WebhooksController.url(inbox, publicURL: publicURL) }
            if inbox.channel == .email { inboundURL = (publicURL ?? "") + "/api/v1/channels/email/\(id.uuidString.lowercased())/messages" }
        }

        static let messagingKinds: Set<ChannelKind> = [.whatsapp, .messenger, .instagram, .telegram, .twilio]

        static func embedCode(_ inbox: Inbox, publicURL: String?) -> String {
            "<script src=\"\(publicURL ?? "")/widget.js\" data-inbox=\"\((inbox.id ?? UUID()).uuidString.lowercased())\" async></script>"
        }

        /// The secret an inbox of this channel is signed with, if it has one.
        static func secretKey(_ channel: ChannelKind) -> String? {
            switch channel {
            case .api: APIChannel.secretKey
            case .webchat: Webchat.identitySecretKey
            case .email: EmailChannel.secretKey
            default: nil
            }
        }
    }

    struct CreateBody: Decodable {
        var name: String
        var channel: ChannelKind
        var webhookURL: String?
        var language: String?
        var reopenWindowSeconds: Int?
        var teamID: UUID?
        var settings: [String: String]?
        var secrets: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, channel, language, settings, secrets
            case webhookURL = "webhook_url", reopenWindowSeconds = "reopen_window_seconds", teamID = "team_id"
        }
    }

    struct UpdateBody: Decodable {
        var name: String?
        var webhookURL: String?
        var language: String?
        var reopenWindowSeconds: Int?
        var teamID: UUID??
        var isActive: Bool?
        var settings: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, language, settings
            case webhookURL = "webhook_url", reopenWindowSeconds = "reopen_window_seconds", teamID = "team_id"
            case isActive = "is_active"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            webhookURL = try c.decodeIfPresent(String.self, forKey: .webhookURL)
            language = try c.decodeIfPresent(String.self, forKey: .language)
            reopenWindowSeconds = try c.decodeIfPresent(Int.self, forKey: .reopenWindowSeconds)
            teamID = c.contains(.teamID) ? .some(try c.decodeIfPresent(UUID.self, forKey: .teamID)) : nil
            isActive = try c.decodeIfPresent(Bool.self, forKey: .isActive)
            settings = try c.decodeIfPresent([String: String].self, forKey: .settings)
        }
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inboxes = try await scope.query(Inbox.self, on: req.db).sort(\.$createdAt).all()
        return try json(inboxes.map { InboxResponse($0, publicURL: req.publicBase) })
    }

    static func show(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        return try json(InboxResponse(inbox, publicURL: req.publicBase))
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let body = try req.decodeJSON(CreateBody.self)
        let name = try Names.valid(body.name)
        var settings = InboxSettings(webhookURL: try body.webhookURL.map(validWebhookURL), language: try body.language.map(validLanguage),
                                     values: body.settings ?? [:])
        var secrets = body.secrets ?? [:]
        var shownSecret: String?
        switch body.channel {
        case .api:
            guard settings.webhookURL != nil else {
                throw AtiendeError.invalid("an API inbox needs webhook_url, where agent replies are sent", code: "invalid_webhook_url")
            }
            let secret = SecretToken.make(prefix: "whsec_")
            secrets[APIChannel.secretKey] = secret
            shownSecret = secret
        case .webchat:
            // The identity secret signs the host site's user ids (verified visitors).
            try WebchatSettings.validate(settings.values)
            let secret = SecretToken.make(prefix: "idsec_")
            secrets[Webchat.identitySecretKey] = secret
            shownSecret = secret
        case .whatsapp, .messenger, .instagram, .telegram, .twilio:
            guard let adapter = req.atiende.messaging[body.channel] else { throw AtiendeError.invalid("unknown channel", code: "channel_not_available") }
            try validMessaging(adapter, settings: &settings, secrets: &secrets)
        case .email:
            guard let address = settings.values["address"].flatMap(IdentityNormalizer.email) else {
                throw AtiendeError.invalid("settings.address must be the mailbox's email address", code: "invalid_settings")
            }
            settings.values["address"] = address
            if let security = settings.values["smtp_security"], SMTPClient.Security(rawValue: security) == nil {
                throw AtiendeError.invalid("settings.smtp_security must be none, starttls or tls", code: "invalid_settings")
            }
            if let port = settings.values["smtp_port"], !port.isEmpty, !(Int(port).map { (1...65535).contains($0) } ?? false) {
                throw AtiendeError.invalid("settings.smtp_port must be a port number", code: "invalid_settings")
            }
            let secret = SecretToken.make(prefix: "whsec_")
            secrets[EmailChannel.secretKey] = secret
            shownSecret = secret
        case .phone, .inPerson, .webform:
            break
        default:
            throw AtiendeError.invalid("the \(body.channel.rawValue) channel cannot be connected yet", code: "channel_not_available")
        }
        settings.values = settings.values.filter { !$0.key.isEmpty }
        try await checkTargets(settings, network: req.atiende.config.outbound)
        let inbox = Inbox(id: UUID(), workspaceID: scope.workspaceID, name: name, channel: body.channel, settings: settings,
                          reopenWindowSeconds: try validWindow(body.reopenWindowSeconds ?? 86_400))
        if body.channel == .twilio, let publicURL = req.atiende.config.publicURL, inbox.settings.values["status_callback"] == nil {
            // Twilio reports delivery to the same webhook.
            inbox.settings.values["status_callback"] = WebhooksController.url(inbox, publicURL: publicURL)
        }
        inbox.$team.id = body.teamID
        inbox.sealedSecrets = secrets.isEmpty ? nil : try req.atiende.secrets.seal(secrets)
        try await req.atiende.inboxService.create(inbox, actor: scope.userID)
        return try json(InboxResponse(inbox, publicURL: req.publicBase, secret: shownSecret), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let body = try req.decodeJSON(UpdateBody.self)
        var changes: [String] = []
        if body.name != nil { changes.append("name") }
        if body.webhookURL != nil { changes.append("webhook_url") }
        if body.language != nil { changes.append("language") }
        if body.reopenWindowSeconds != nil { changes.append("reopen_window_seconds") }
        if body.teamID != nil { changes.append("team_id") }
        if body.isActive != nil { changes.append("is_active") }
        if body.settings != nil { changes.append("settings") }
        if let name = body.name { inbox.name = try Names.valid(name) }
        if let url = body.webhookURL { inbox.settings.webhookURL = try validWebhookURL(url) }
        if let language = body.language { inbox.settings.language = try validLanguage(language) }
        if let window = body.reopenWindowSeconds { inbox.reopenWindowSeconds = try validWindow(window) }
        // The team is checked in the write (`InboxService.checkTeam`), where a concurrent deletion cannot slip between.
        if let team = body.teamID { inbox.$team.id = team }
        if let active = body.isActive { inbox.isActive = active }
        if let values = body.settings {
            if inbox.channel == .webchat { try WebchatSettings.validate(values) }
            var merged = values
            if let adapter = req.atiende.messaging[inbox.channel] {
                // The generated handshake token stays unless replaced.
                if merged["verify_token"] == nil, let token = inbox.settings.values["verify_token"] { merged["verify_token"] = token }
                var secrets = try inbox.secrets(with: req.atiende.secrets)
                var settings = inbox.settings
                settings.values = merged
                try validMessaging(adapter, settings: &settings, secrets: &secrets)
                merged = settings.values
            }
            inbox.settings.values = merged
        }
        try await checkTargets(inbox.settings, network: req.atiende.config.outbound)
        try await req.atiende.inboxService.update(inbox, changes: changes, actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return try json(InboxResponse(inbox, publicURL: req.publicBase))
    }

    /// Replaces the signing secret (API) or identity secret (live chat); the old one stops working at once.
    static func rotateSecret(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        guard let key = InboxResponse.secretKey(inbox.channel) else {
            throw AtiendeError.invalid("only API and live chat inboxes have a secret", code: "no_secret")
        }
        var secrets = try inbox.secrets(with: req.atiende.secrets)
        let secret = SecretToken.make(prefix: inbox.channel == .webchat ? "idsec_" : "whsec_")
        secrets[key] = secret
        try await req.atiende.inboxService.replaceSecrets(of: inbox, sealed: try req.atiende.secrets.seal(secrets), actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return try json(InboxResponse(inbox, publicURL: req.publicBase, secret: secret))
    }

    /// A messaging inbox needs its provider's ids and credentials; the handshake tokens are made here when not given.
    static func validMessaging(_ adapter: any MessagingAdapter, settings: inout InboxSettings, secrets: inout [String: String]) throws {
        for key in adapter.requiredSettings where (settings.values[key] ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw AtiendeError.invalid("settings.\(key) is required for \(adapter.kind.rawValue)", code: "invalid_settings")
        }
        for key in adapter.requiredSecrets where (secrets[key] ?? "").isEmpty {
            throw AtiendeError.invalid("secrets.\(key) is required for \(adapter.kind.rawValue)", code: "invalid_secrets")
        }
        for key in ["api_base", "public_url", "status_callback"] {
            if let value = settings.values[key], !value.isEmpty { _ = try validURL(value, field: "settings.\(key)") }
        }
        switch adapter.kind {
        case .whatsapp, .messenger, .instagram:
            // Pasted into Meta's console with the webhook URL; not a secret, so it stays visible in the settings.
            if (settings.values["verify_token"] ?? "").isEmpty { settings.values["verify_token"] = SecretToken.make(prefix: "verify_", bytes: 18) }
        case .telegram:
            if (secrets["secret_token"] ?? "").isEmpty { secrets["secret_token"] = SecretToken.make(prefix: "", bytes: 32) }
        default: break
        }
    }

    /// Every server an inbox makes Atiende call — its webhook, its provider's API, its mail servers — must not be this
    /// machine or a private network (unless the instance allows it): checked when saved, and again on every connection.
    static func checkTargets(_ settings: InboxSettings, network: OutboundGuard) async throws {
        var targets: [(field: String, host: String)] = []
        if let url = settings.webhookURL, let host = URL(string: url)?.host { targets.append(("webhook_url", host)) }
        if let url = settings.values["api_base"], !url.isEmpty, let host = URL(string: url)?.host { targets.append(("settings.api_base", host)) }
        for key in ["smtp_host", "imap_host"] {
            if let host = settings.values[key]?.trimmingCharacters(in: .whitespaces), !host.isEmpty { targets.append(("settings." + key, host)) }
        }
        for target in targets {
            do {
                try await network.checkSetting(host: target.host)
            } catch let refused as OutboundGuard.Refused {
                throw AtiendeError.invalid("\(target.field): \(refused.description)", code: "internal_target")
            }
        }
    }

    static func validURL(_ raw: String, field: String) throws -> String {
        guard let url = URL(string: raw), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil, raw.count <= 2000 else {
            throw AtiendeError.invalid("\(field) must be an absolute http or https URL", code: "invalid_settings")
        }
        return raw
    }

    struct CheckResponse: Content { var ok: Bool; var detail: String }

    /// A person waits for the check: each mail server gets 20 seconds, well inside the connection's idle timeout.
    static let checkTimeout: TimeAmount = .seconds(20)

    /// `POST …/inboxes/{id}/check`: asks the provider with the inbox's credentials and says exactly what failed.
    static func check(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let secrets = try inbox.secrets(with: req.atiende.secrets)
        if inbox.channel == .email {
            // Each configured side is tried, and the answer says which one failed and how.
            var parts: [String] = []
            if !(inbox.settings.values["smtp_host"] ?? "").isEmpty {
                do {
                    var settings = try EmailSender.smtp(inbox.settings, secrets: secrets, network: req.atiende.config.outbound)
                    settings.timeout = checkTimeout
                    parts.append("SMTP: " + (try await SMTPClient(settings: settings).check()))
                } catch let failure as SMTPClient.Failure {
                    throw AtiendeError(.unavailable, code: "provider_unreachable", "SMTP: \(failure.description)")
                }
            }
            if var imap = MailboxPoller.settings(inbox, secrets: secrets, network: req.atiende.config.outbound) {
                imap.timeout = checkTimeout
                do {
                    let session = try await IMAPClient(settings: imap).connect()
                    let (_, count) = try await session.select()
                    await session.logout()
                    parts.append("IMAP: \(imap.mailbox), \(count) messages")
                } catch let failure as IMAPClient.Failure {
                    throw AtiendeError(.unavailable, code: "provider_unreachable", "IMAP: \(failure.description)")
                }
            }
            guard !parts.isEmpty else {
                throw AtiendeError.invalid("this email inbox has neither an SMTP nor an IMAP server to check", code: "nothing_to_check")
            }
            return try json(CheckResponse(ok: true, detail: parts.joined(separator: " · ")))
        }
        guard let adapter = req.atiende.messaging[inbox.channel] else {
            throw AtiendeError.invalid("only email and messaging inboxes (WhatsApp, Messenger, Instagram, Telegram, Twilio) are checked with a provider",
                                       code: "nothing_to_check")
        }
        var detail: String
        do {
            detail = try await adapter.check(settings: inbox.settings, secrets: secrets)
            if let telegram = adapter as? TelegramAdapter, let publicURL = req.atiende.config.publicURL {
                try await telegram.connect(webhookURL: WebhooksController.url(inbox, publicURL: publicURL), settings: inbox.settings, secrets: secrets)
                detail += " · webhook set"
            }
        } catch let failure as JobFailure {
            throw AtiendeError(.unavailable, code: "provider_unreachable", failure.reason)
        }
        return try json(CheckResponse(ok: true, detail: detail))
    }

    static func validWebhookURL(_ raw: String) throws -> String {
        guard let url = URL(string: raw), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil,
              raw.count <= 2000 else {
            throw AtiendeError.invalid("webhook_url must be an absolute http or https URL", code: "invalid_webhook_url")
        }
        return raw
    }

    static func validLanguage(_ raw: String) throws -> String {
        guard ["es", "en"].contains(raw) else { throw AtiendeError.invalid("language must be 'es' or 'en'", code: "invalid_language") }
        return raw
    }

    static func validWindow(_ seconds: Int) throws -> Int {
        guard (0...30 * 86_400).contains(seconds) else {
            throw AtiendeError.invalid("reopen_window_seconds must be from 0 to 2592000 (30 days)", code: "invalid_reopen_window")
        }
        return seconds
    }
}

/// `POST /api/v1/channels/api/{inboxId}/messages`: signed inbound messages of the API channel.
enum APIChannelController {
    struct Accepted: Content {
        var conversationNumber: Int
        var conversationID: UUID
        var messageID: UUID
        var duplicate: Bool

        enum CodingKeys: String, CodingKey {
            case duplicate
            case conversationNumber = "conversation_number", conversationID = "conversation_id", messageID = "message_id"
        }
    }

    static func receive(_ req: Request) async throws -> Response {
        let services = req.atiende
        // An unknown inbox and a bad signature look the same to the caller: 401, nothing written.
        guard let raw = req.parameters.get("inboxId"), let inboxID = UUID(uuidString: raw),
              let found = try await services.inboxes.forIngest(inboxID), case let inbox = found.inbox,
              inbox.channel == .api, inbox.isActive,
              let secret = found.secrets[APIChannel.secretKey]
        else { throw AtiendeError(.unauthorized, code: "bad_signature", "unknown inbox or bad signature") }
        let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
        try APIChannel.verify(secret: secret, timestamp: req.headers.first(name: APIChannel.timestampHeader),
                              signature: req.headers.first(name: APIChannel.signatureHeader), body: body,
                              now: services.store.clock.now())
        let inbound = try APIChannel.inbound(from: body, inboxID: inboxID)
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try await services.ingest.receive(inbound, in: inbox, countryCode: found.countryCode)
        AtiendeMetrics.ingestSeconds.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        (result.duplicate ? AtiendeMetrics.duplicates : AtiendeMetrics.ingested).increment()
        return try json(Accepted(conversationNumber: result.conversationNumber, conversationID: result.conversationID,
                                 messageID: result.messageID, duplicate: result.duplicate))
    }
}
