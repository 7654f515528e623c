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

        init(_ inbox: Inbox, site: ChannelSite, channels: ChannelRegistry, secret: String? = nil) {
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
            let addresses = channels[inbox.channel]?.addresses(inbox, site: site) ?? []
            inboundURL = addresses.first { $0.kind == .url }?.value
            embedCode = addresses.first { $0.kind == .embed }?.value
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
        /// Credentials to replace; the others are kept (they are never shown back).
        var secrets: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, language, settings, secrets
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
            secrets = try c.decodeIfPresent([String: String].self, forKey: .secrets)
        }
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inboxes = try await scope.query(Inbox.self, on: req.db).sort(\.$createdAt).all()
        let slug = try await workspaceSlug(req)
        return try json(inboxes.map { InboxResponse($0, site: req.channelSite($0, slug: slug), channels: req.atiende.channels) })
    }

    static func show(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        return try await respond(inbox, req)
    }

    static func respond(_ inbox: Inbox, _ req: Request, secret: String? = nil, status: HTTPResponseStatus = .ok) async throws -> Response {
        let slug = try await workspaceSlug(req)
        return try json(InboxResponse(inbox, site: req.channelSite(inbox, slug: slug), channels: req.atiende.channels, secret: secret), status: status)
    }

    static func workspaceSlug(_ req: Request) async throws -> String {
        try await Workspace.find(try req.scope.workspaceID, on: req.db)?.slug ?? ""
    }

    /// The channel's descriptor, or why this instance cannot make such an inbox.
    static func descriptor(_ kind: ChannelKind, _ req: Request) throws -> any ChannelDescriptor {
        guard let descriptor = req.atiende.channels[kind] else {
            throw AtiendeError.invalid("the \(kind.rawValue) channel is not available here: one of \(req.atiende.channels.kinds.map(\.rawValue).joined(separator: ", "))",
                                       code: "channel_not_available")
        }
        return descriptor
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let body = try req.decodeJSON(CreateBody.self)
        let name = try Names.valid(body.name)
        let descriptor = try descriptor(body.channel, req)
        var settings = InboxSettings(webhookURL: try body.webhookURL.map(validWebhookURL), language: try body.language.map(validLanguage),
                                     values: (body.settings ?? [:]).filter { !$0.key.isEmpty })
        var secrets = (body.secrets ?? [:]).filter { !$0.key.isEmpty }
        let inbox = Inbox(id: UUID(), workspaceID: scope.workspaceID, name: name, channel: body.channel, settings: settings,
                          reopenWindowSeconds: try validWindow(body.reopenWindowSeconds ?? 86_400))
        let shownSecret = try descriptor.prepare(&settings, secrets: &secrets, site: req.configuredSite(inbox, slug: try await workspaceSlug(req)))
        try await checkTargets(descriptor, settings, network: req.atiende.config.outbound)
        inbox.settings = settings
        inbox.$team.id = body.teamID
        inbox.sealedSecrets = secrets.isEmpty ? nil : try req.atiende.secrets.seal(secrets)
        try await req.atiende.inboxService.create(inbox, actor: scope.userID)
        return try await respond(inbox, req, secret: shownSecret, status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let body = try req.decodeJSON(UpdateBody.self)
        let descriptor = try descriptor(inbox.channel, req)
        var changes: [String] = []
        if body.name != nil { changes.append("name") }
        if body.webhookURL != nil { changes.append("webhook_url") }
        if body.language != nil { changes.append("language") }
        if body.reopenWindowSeconds != nil { changes.append("reopen_window_seconds") }
        if body.teamID != nil { changes.append("team_id") }
        if body.isActive != nil { changes.append("is_active") }
        if body.settings != nil { changes.append("settings") }
        if let given = body.secrets, !given.isEmpty { changes.append("secrets") }
        if let name = body.name { inbox.name = try Names.valid(name) }
        if let url = body.webhookURL { inbox.settings.webhookURL = try validWebhookURL(url) }
        if let language = body.language { inbox.settings.language = try validLanguage(language) }
        if let window = body.reopenWindowSeconds { inbox.reopenWindowSeconds = try validWindow(window) }
        // The team is checked in the write (`InboxService.checkTeam`), where a concurrent deletion cannot slip between.
        if let team = body.teamID { inbox.$team.id = team }
        if let active = body.isActive { inbox.isActive = active }
        var sealed: Data?
        if body.settings != nil || body.secrets != nil {
            var settings = inbox.settings
            if let values = body.settings {
                // Merged: the settings given replace theirs (an empty value removes one); the others, the handshake
                // token among them, stay.
                for (key, value) in values where !key.isEmpty { settings.values[key] = value.isEmpty ? nil : value }
            }
            // A credential left empty is kept: they are never shown, so an empty field means "unchanged".
            var secrets = try inbox.secrets(with: req.atiende.secrets)
            for (key, value) in body.secrets ?? [:] where !key.isEmpty && !value.isEmpty { secrets[key] = value }
            _ = try descriptor.prepare(&settings, secrets: &secrets, site: req.configuredSite(inbox, slug: try await workspaceSlug(req)))
            inbox.settings = settings
            if body.secrets != nil { sealed = secrets.isEmpty ? nil : try req.atiende.secrets.seal(secrets) }
        }
        try await checkTargets(descriptor, inbox.settings, network: req.atiende.config.outbound)
        if let sealed { inbox.sealedSecrets = sealed }
        try await req.atiende.inboxService.update(inbox, changes: changes, actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return try await respond(inbox, req)
    }

    /// `DELETE …/inboxes/{id}`: only an inbox without conversations (else 409: deactivate it).
    static func delete(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        try await req.atiende.inboxService.delete(inbox, actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return Response(status: .noContent)
    }

    /// Replaces the secret the channel shows once (the API's signing secret, live chat's identity secret, email's
    /// inbound secret); the old one stops working at once.
    static func rotateSecret(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        guard let token = try descriptor(inbox.channel, req).rotatableSecret else {
            throw AtiendeError.invalid("\(inbox.channel.rawValue) inboxes have no secret to rotate", code: "no_secret",
                                       parameters: ["channel": inbox.channel.rawValue])
        }
        var secrets = try inbox.secrets(with: req.atiende.secrets)
        let secret = SecretToken.make(prefix: token.prefix, bytes: token.bytes)
        secrets[token.key] = secret
        try await req.atiende.inboxService.replaceSecrets(of: inbox, sealed: try req.atiende.secrets.seal(secrets), actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return try await respond(inbox, req, secret: secret)
    }

    /// Every server an inbox makes Atiende call — its webhook, its provider's API, its mail servers — must not be this
    /// machine or a private network (unless the instance allows it): checked when saved, and again on every connection.
    static func checkTargets(_ descriptor: any ChannelDescriptor, _ settings: InboxSettings, network: OutboundGuard) async throws {
        for target in descriptor.targets(settings) {
            do {
                try await network.checkSetting(host: target.host)
            } catch let refused as OutboundGuard.Refused {
                throw AtiendeError.invalid("\(target.field): \(refused.description)", code: "internal_target", parameters: ["field": target.field])
            }
        }
    }

    struct CheckResponse: Content { var ok: Bool; var detail: String }

    /// `POST …/inboxes/{id}/check`: asks the provider with the inbox's credentials and says exactly what failed.
    static func check(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let descriptor = try descriptor(inbox.channel, req)
        let webhookURL = req.atiende.config.publicURL.map { WebhooksController.url(inbox, publicURL: $0) }
        do {
            let detail = try await descriptor.check(settings: inbox.settings, secrets: try inbox.secrets(with: req.atiende.secrets),
                                                    webhookURL: webhookURL)
            return try json(CheckResponse(ok: true, detail: detail))
        } catch let failure as JobFailure {
            throw AtiendeError(.unavailable, code: "provider_unreachable", failure.reason)
        }
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
