import Foundation

/// Why a message did not (yet) reach the customer: our code, which people read in their own language, and the
/// provider's or mail server's own words beside it.
public struct DeliveryFailure: Sendable, Equatable, Codable {
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// The provider's reply window closed (WhatsApp 24 hours, Messenger 7 days).
        case windowClosed = "window_closed"
        /// The provider could not deliver it to this person (a phone without the app, an unreachable handset).
        case undeliverable
        /// The address or number does not exist (a mail bounce "user unknown", a chat that is not there).
        case recipientUnknown = "recipient_unknown"
        /// Refused: blocked by the person, filtered by a carrier, refused by a mail server.
        case rejected
        /// The customer has no address on this channel to send to.
        case noAddress = "no_address"
        /// Too many messages for now.
        case rateLimited = "rate_limited"
        /// The provider or server could not be reached (network, timeout, TLS), or the address is not allowed.
        case unreachable
        /// The inbox's credentials were refused.
        case credentials
        /// The channel does not carry replies.
        case notSent = "not_sent"
        /// Anything else the provider answered.
        case failed
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = String(detail.prefix(1000))
    }
}
