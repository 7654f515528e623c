import AsyncHTTPClient
import AtiendeCore
import AtiendeNetwork
import Foundation
import NIOCore
import NIOHTTP1
import NIOFoundationCompat

/// Delivers agent replies of API inboxes to the integrator's webhook URL, signed like inbound posts.
public struct APIWebhookSender: ChannelSender {
    let http: GuardedHTTP
    let clock: any WallClock
    let timeout: TimeAmount

    public init(http: GuardedHTTP, clock: any WallClock, timeout: TimeAmount = .seconds(15)) {
        self.http = http
        self.clock = clock
        self.timeout = timeout
    }

    struct Body: Encodable {
        struct Conversation: Encodable {
            var id: UUID
            var number: Int
            var threadID: String?
            enum CodingKeys: String, CodingKey { case id, number, threadID = "thread_id" }
        }
        struct Recipient: Encodable {
            var id: String?
            var name: String?
            var email: String?
            var phone: String?
        }
        struct Agent: Encodable { var id: UUID?; var name: String? }
        var event = "message.created"
        var messageID: UUID
        var conversation: Conversation
        var to: Recipient
        var agent: Agent
        var text: String
        var sentAt: Date
        var attachments: [AttachmentSnapshot]

        enum CodingKeys: String, CodingKey {
            case event, conversation, to, agent, text, attachments
            case messageID = "message_id", sentAt = "sent_at"
        }
    }

    public func send(_ outbound: OutboundMessage) async throws -> OutboundReceipt {
        guard let url = outbound.settings.webhookURL, !url.isEmpty else {
            throw JobFailure.permanent("this API inbox has no webhook URL", code: .notSent)
        }
        guard let secret = outbound.secrets[APIChannel.secretKey] else {
            throw JobFailure.permanent("this API inbox has no signing secret")
        }
        let prefix = outbound.inboxID.uuidString.lowercased() + ":"
        let externalID = outbound.contact.identities.first { $0.kind == .external && $0.value.hasPrefix(prefix) }
            .map { String($0.value.dropFirst(prefix.count)) }
        let body = Body(
            messageID: outbound.message.id,
            conversation: .init(id: outbound.conversation.id, number: outbound.conversation.number, threadID: outbound.conversation.threadID),
            to: .init(id: externalID, name: outbound.contact.name, email: outbound.contact.email, phone: outbound.contact.phone),
            agent: .init(id: outbound.message.senderID, name: outbound.agentName),
            text: outbound.message.text, sentAt: outbound.message.createdAt, attachments: outbound.message.attachments)
        let response = try await SignedWebhook.post(try JSON.encoder.encode(body), to: url, secret: secret,
                                                    idempotencyKey: outbound.message.id.uuidString, http: http, clock: clock, timeout: timeout)
        let responseBody = try? await response.body.collect(upTo: 64 * 1024)
        let status = response.status.code
        switch status {
        case 200..<300:
            var providerID: String?
            if let responseBody, let json = try? JSONSerialization.jsonObject(with: Data(responseBody.readableBytesView)) as? [String: Any] {
                providerID = (json["message_id"] as? String) ?? (json["id"] as? String)
            }
            return OutboundReceipt(providerMessageID: providerID.map { String($0.prefix(255)) })
        default:
            throw SignedWebhook.failure(response, body: responseBody)
        }
    }
}

/// How Atiende calls a webhook (an API inbox's, an automation rule's): a JSON POST through the outbound guard, signed
/// like inbound posts (`X-Atiende-Signature` over `<timestamp>.<body>`), with an idempotency key; what fails is said as
/// a job failure, temporary when trying again may help.
enum SignedWebhook {
    static func post(_ data: Data, to url: String, secret: String, idempotencyKey: String, http: GuardedHTTP, clock: any WallClock,
                     timeout: TimeAmount) async throws -> HTTPClientResponse {
        let timestamp = String(Int(clock.now().timeIntervalSince1970))
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Atiende-Webhook/1")
        request.headers.add(name: APIChannel.timestampHeader, value: timestamp)
        request.headers.add(name: APIChannel.signatureHeader, value: WebhookSignature.sign(secret: secret, timestamp: timestamp, body: data))
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.body = .bytes(ByteBuffer(bytes: data))
        do {
            return try await http.execute(request, timeout: timeout)
        } catch let refused as OutboundGuard.Refused {
            throw JobFailure.permanent("webhook refused: \(refused.description)", code: .unreachable)
        } catch let bad as GuardedHTTP.BadURL {
            throw JobFailure.permanent(bad.description, code: .unreachable)
        } catch {
            throw JobFailure.temporary("webhook not reachable (\(ProviderHTTP.reason(error)))")
        }
    }

    /// A status that is not 2xx: worth another try (408, 425, 429, 5xx, honouring Retry-After), or not.
    static func failure(_ response: HTTPClientResponse, body: ByteBuffer?) -> JobFailure {
        let status = response.status.code
        switch status {
        case 408, 425, 429, 500..<600:
            return JobFailure.temporary("webhook answered \(status)", after: response.headers.first(name: "Retry-After").flatMap(TimeInterval.init))
        default:
            let detail = body.map { String(buffer: $0).prefix(200) } ?? ""
            return JobFailure.permanent("webhook answered \(status)\(detail.isEmpty ? "" : ": \(detail)")")
        }
    }
}
