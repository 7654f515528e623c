import AtiendeCore
import Foundation

/// The API channel: any system posts signed messages in and receives agent replies by signed webhook.
///
/// Signature, both ways: `X-Atiende-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`
/// with `X-Atiende-Timestamp` in unix seconds, accepted within five minutes of our clock.
public enum APIChannel {
    public static let signatureHeader = "X-Atiende-Signature"
    public static let timestampHeader = "X-Atiende-Timestamp"
    public static let tolerance: TimeInterval = 300
    public static let maxBodyBytes = 40 * 1024 * 1024
    public static let secretKey = "signing_secret"

    /// Checks the timestamp window and the HMAC over the raw bytes, in constant time.
    public static func verify(secret: String, timestamp: String?, signature: String?, body: Data, now: Date) throws {
        guard let timestamp, let signature, !timestamp.isEmpty, !signature.isEmpty else {
            throw AtiendeError(.unauthorized, code: "missing_signature",
                               "\(timestampHeader) and \(signatureHeader) headers are required")
        }
        guard timestamp.count <= 12, let seconds = TimeInterval(timestamp), seconds.isFinite else {
            throw AtiendeError(.unauthorized, code: "invalid_timestamp", "\(timestampHeader) must be unix seconds")
        }
        guard abs(now.timeIntervalSince1970 - seconds) <= tolerance else {
            throw AtiendeError(.unauthorized, code: "stale_timestamp",
                               "\(timestampHeader) is more than \(Int(tolerance)) seconds away from the server's clock")
        }
        let expected = WebhookSignature.sign(secret: secret, timestamp: timestamp, body: body)
        guard SecretToken.constantTimeEquals(expected, signature.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "\(signatureHeader) does not match the body")
        }
    }

    struct Payload: Decodable {
        struct From: Decodable {
            var id: String?
            var name: String?
            var email: String?
            var phone: String?
        }
        var messageID: String
        var from: From
        var text: String?
        var sentAt: String?
        var threadID: String?
        var subject: String?
        var attachments: [EncodedFile]?
        /// Sent by a machine (an auto-reply, a notification): never answered automatically.
        var automatic: Bool?

        enum CodingKeys: String, CodingKey {
            case from, text, subject, attachments, automatic
            case messageID = "message_id", sentAt = "sent_at", threadID = "thread_id"
        }
    }

    /// Turns a verified body into the common inbound message, or says exactly what is wrong with it.
    public static func inbound(from body: Data, inboxID: UUID) throws -> InboundMessage {
        let payload: Payload
        do {
            payload = try JSONDecoder().decode(Payload.self, from: body)
        } catch let DecodingError.keyNotFound(key, _) {
            throw AtiendeError.invalid("'\(key.stringValue)' is required", code: "invalid_payload")
        } catch let DecodingError.typeMismatch(_, context) {
            throw AtiendeError.invalid("'\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type",
                                       code: "invalid_payload")
        } catch {
            throw AtiendeError.invalid("body is not valid JSON for an inbound message", code: "invalid_payload")
        }
        var identities: [(kind: IdentityKind, value: String)] = []
        if let id = payload.from.id?.trimmingCharacters(in: .whitespaces), !id.isEmpty {
            guard id.count <= 255 else { throw AtiendeError.invalid("'from.id' is longer than 255 characters", code: "invalid_sender") }
            // External ids are the integrating system's own, so they are scoped to this inbox.
            identities.append((.external, "\(inboxID.uuidString.lowercased()):\(id)"))
        }
        if let email = payload.from.email, !email.isEmpty {
            guard IdentityNormalizer.email(email) != nil else {
                throw AtiendeError.invalid("'from.email' is not an email address", code: "invalid_sender")
            }
            identities.append((.email, email))
        }
        if let phone = payload.from.phone, !phone.isEmpty {
            identities.append((.phone, phone))
        }
        guard !identities.isEmpty else {
            throw AtiendeError.invalid("'from' needs at least one of id, email or phone", code: "invalid_sender")
        }
        var sentAt: Date?
        if let raw = payload.sentAt {
            guard let date = ISO8601.date(raw) else {
                throw AtiendeError.invalid("'sent_at' must be an ISO-8601 date-time", code: "invalid_sent_at")
            }
            sentAt = date
        }
        let files = try (payload.attachments ?? []).enumerated().map { try $1.decoded(index: $0) }
        if let thread = payload.threadID, thread.count > 255 {
            throw AtiendeError.invalid("'thread_id' is longer than 255 characters", code: "invalid_thread_id")
        }
        return InboundMessage(
            inboxID: inboxID, providerMessageID: payload.messageID,
            sender: .init(name: payload.from.name, identities: identities), text: payload.text ?? "", files: files,
            sentAt: sentAt, threadHint: payload.threadID.flatMap { $0.isEmpty ? nil : $0 }, subject: payload.subject,
            automatic: payload.automatic ?? false)
    }
}
