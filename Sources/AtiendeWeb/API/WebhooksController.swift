import AtiendeChannels
import AtiendeCore
import FluentKit
import Foundation
import Vapor

/// `/webhooks/{channel}/{inboxId}` for every channel whose descriptor takes webhooks (WhatsApp, Messenger, Instagram,
/// Telegram, Twilio…): the provider's subscription handshake (GET) and its events (POST). Each request is checked with
/// the provider's signature before anything is read; its messages are stored in order (files fetched first) and its
/// delivery reports applied, and only then does the provider get its 2xx — a failure answers 5xx so the provider sends it again, and a repeat changes
/// nothing (messages by provider id, statuses by their order).
enum WebhooksController {
    static let maxBody: ByteCount = "2mb"

    static func register(on routes: any RoutesBuilder) {
        routes.on(.GET, "webhooks", ":channel", ":inboxId", use: handshake)
        routes.on(.POST, "webhooks", ":channel", ":inboxId", body: .collect(maxSize: maxBody), use: receive)
    }

    /// The inbox and its adapter; an unknown inbox, another channel's URL or an inactive inbox look the same: 401.
    static func target(_ req: Request) async throws -> (Inbox, any MessagingAdapter, [String: String]) {
        guard let channel = req.parameters.get("channel").flatMap(ChannelKind.init(rawValue:)),
              let adapter = req.atiende.channels[channel]?.webhooks,
              let id = req.parameters.get("inboxId").flatMap(UUID.init(uuidString:)),
              let inbox = try await Inbox.find(id, on: req.db), inbox.channel == channel, inbox.isActive
        else { throw AtiendeError(.unauthorized, code: "bad_signature", "unknown inbox or bad signature") }
        return (inbox, adapter, try inbox.secrets(with: req.atiende.secrets))
    }

    /// The provider's subscription handshake (Meta's `hub.challenge`), as the channel's descriptor answers it.
    static func handshake(_ req: Request) async throws -> Response {
        let (inbox, adapter, _) = try await target(req)
        let query = (try? req.query.decode([String: String].self)) ?? [:]
        let response = Response(status: .ok, body: .init(string: try adapter.handshake(query, settings: inbox.settings)))
        response.headers.contentType = .plainText
        return response
    }

    static func receive(_ req: Request) async throws -> Response {
        let (inbox, adapter, secrets) = try await target(req)
        let services = req.atiende
        let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
        let request = WebhookRequest(body: body, headers: req.headers.map { ($0.name, $0.value) },
                                     url: signedURL(req, inbox: inbox))
        try adapter.verify(request, settings: inbox.settings, secrets: secrets, now: services.store.clock.now())
        let inboxID = try inbox.requireID()
        let events = try adapter.events(request, inboxID: inboxID, settings: inbox.settings)
        let countryCode = try await Workspace.find(inbox.$workspace.id, on: req.db)?.defaultCountryCode
        // In order, one after the other: a burst (an album, quick lines) lands in one conversation, as sent.
        for event in events {
            switch event {
            case .message(var inbound, let media):
                if try await alreadyStored(inbound.providerMessageID, inbox: inboxID, db: req.db) { continue }
                for ref in media {
                    do {
                        inbound.files.append(try await adapter.fetch(ref, settings: inbox.settings, secrets: secrets))
                    } catch let failure as JobFailure where failure.retry {
                        // Not stored, not acknowledged: the provider delivers it again.
                        throw AtiendeError(.unavailable, code: "media_unavailable", "could not fetch a file from the provider: \(failure.reason)")
                    } catch let failure as JobFailure {
                        // It will never come (a refused host among them): the message is kept, saying what is missing.
                        inbound.text += (inbound.text.isEmpty ? "" : "\n") + "[\(ref.filename): \(failure.reason)]"
                    } catch let error as AtiendeError {
                        inbound.text += (inbound.text.isEmpty ? "" : "\n") + "[\(ref.filename): \(error.message)]"
                    } catch {
                        inbound.text += (inbound.text.isEmpty ? "" : "\n") + "[\(ref.filename): \(error)]"
                    }
                }
                // A file we do not keep (its type or size) leaves a line saying so instead of vanishing.
                var kept: [InboundMessage.File] = []
                for file in inbound.files {
                    do {
                        _ = try services.files.validate(contentType: file.contentType, size: file.data.count)
                        kept.append(file)
                    } catch {
                        let why = (error as? AtiendeError)?.message ?? "not accepted"
                        inbound.text += (inbound.text.isEmpty ? "" : "\n") + "[\(file.filename): \(why)]"
                    }
                }
                inbound.files = kept
                if inbound.text.isEmpty && inbound.files.isEmpty { inbound.text = "[\(media.first?.filename ?? "attachment")]" }
                _ = try await services.ingest.receive(inbound, in: inbox, countryCode: countryCode)
            case .status(let providerID, let status, let failure):
                try await services.store.write { tx in
                    guard let message = try await Message.query(on: tx.db).filter(\.$inbox.$id == inboxID)
                        .filter(\.$providerMessageID == providerID).filter(\.$kind == .outgoing).first() else { return }
                    try await ConversationService.recordDelivery(try message.requireID(), status: status, failure: failure, in: tx)
                }
            case .watermark(let kind, let value, let status, let until):
                try await watermark(inbox: inbox, kind: kind, value: value, status: status, until: until, services: services)
            }
        }
        let acknowledgement = adapter.acknowledgement(for: request)
        let response = Response(status: .ok, body: .init(string: acknowledgement.body))
        response.headers.replaceOrAdd(name: .contentType, value: acknowledgement.contentType)
        return response
    }

    static func alreadyStored(_ providerID: String, inbox: UUID, db: any Database) async throws -> Bool {
        try await Message.query(on: db).filter(\.$inbox.$id == inbox).filter(\.$providerMessageID == providerID).count() > 0
    }

    /// Every message we sent this customer up to `until` was delivered or read.
    static func watermark(inbox: Inbox, kind: IdentityKind, value: String, status: DeliveryStatus, until: Date,
                          services: AtiendeServices) async throws {
        let db = services.store.db
        guard let identity = try await ContactIdentity.query(on: db).filter(\.$workspace.$id == inbox.$workspace.id)
            .filter(\.$kind == kind).filter(\.$value == value).first() else { return }
        let conversations = try await Conversation.query(on: db).filter(\.$inbox.$id == inbox.requireID())
            .filter(\.$contact.$id == identity.$contact.id).all().compactMap(\.id)
        guard !conversations.isEmpty else { return }
        let waiting: [DeliveryStatus] = status == .read ? [.sent, .delivered] : [.sent]
        let messages = try await Message.query(on: db).filter(\.$conversation.$id ~~ conversations).filter(\.$kind == .outgoing)
            .filter(\.$deliveryStatus ~~ waiting).filter(\.$createdAt <= until).limit(500).all()
        guard !messages.isEmpty else { return }
        try await services.store.write { tx in
            for message in messages { try await ConversationService.recordDelivery(try message.requireID(), status: status, in: tx) }
        }
    }

    /// The URL the provider called, as it saw it: the inbox's `public_url` when set (behind a proxy), else our public URL,
    /// else this request's own host.
    static func signedURL(_ req: Request, inbox: Inbox) -> String {
        let path = req.url.path + (req.url.query.map { "?" + $0 } ?? "")
        if let configured = inbox.settings.values["public_url"], !configured.isEmpty { return configured }
        return req.publicBase + path
    }

    /// Where a channel's provider sends its webhooks for this inbox.
    static func url(_ inbox: Inbox, publicURL: String?) -> String {
        (publicURL ?? "") + "/webhooks/\(inbox.channel.rawValue)/\((inbox.id ?? UUID()).uuidString.lowercased())"
    }
}
