import AtiendeChannels
import AtiendeCore
import AtiendeMail
import FluentKit
import Foundation
import Vapor

/// `POST /api/v1/channels/email/{inboxId}/messages`: a raw MIME message (an MTA pipe, a provider's inbound-parse
/// webhook), signed like the API channel with the inbox's inbound secret. Answered after the message is committed.
enum EmailInboundController {
    static func receive(_ req: Request) async throws -> Response {
        let services = req.atiende
        guard let raw = req.parameters.get("inboxId"), let inboxID = UUID(uuidString: raw),
              let inbox = try await Inbox.find(inboxID, on: req.db), inbox.channel == .email, inbox.isActive,
              let secret = try inbox.secrets(with: services.secrets)[EmailChannel.secretKey]
        else { throw AtiendeError(.unauthorized, code: "bad_signature", "unknown inbox or bad signature") }
        let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
        try APIChannel.verify(secret: secret, timestamp: req.headers.first(name: APIChannel.timestampHeader),
                              signature: req.headers.first(name: APIChannel.signatureHeader), body: body, now: services.store.clock.now())
        guard !body.isEmpty else { throw AtiendeError.invalid("the body must be a MIME message", code: "invalid_payload") }
        let result: IngestResult
        switch try await services.email.deliver(body, to: inbox) {
        case .stored(let stored): result = stored
        case .bounce(let messageID, let reason):
            struct Applied: Content { var bounce: String; var reason: String }
            return try json(Applied(bounce: messageID, reason: reason))
        }
        return try json(APIChannelController.Accepted(conversationNumber: result.conversationNumber, conversationID: result.conversationID,
                                                      messageID: result.messageID, duplicate: result.duplicate))
    }
}
