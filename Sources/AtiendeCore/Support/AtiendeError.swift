import Foundation

/// A failure the caller can act on. Carries a stable machine code, a human message and the HTTP status
/// the web layer should answer with, so the domain never imports HTTP.
public struct AtiendeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidInput = "invalid_input"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case conflict
        case gone
        case payloadTooLarge = "payload_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case rateLimited = "rate_limited"
        case unavailable
    }

    public let kind: Kind
    public let code: String
    /// The English message, for logs and API clients; people read the translation of `code` with `parameters`.
    public let message: String
    /// What the translation of `code` fills in (`{channel}`, `{hours}`…).
    public let parameters: [String: String]

    public init(_ kind: Kind, code: String? = nil, _ message: String, parameters: [String: String] = [:]) {
        self.kind = kind
        self.code = code ?? kind.rawValue
        self.message = message
        self.parameters = parameters
    }

    public var status: Int {
        switch kind {
        case .invalidInput: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .gone: 410
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .rateLimited: 429
        case .unavailable: 503
        }
    }

    public var description: String { "\(code): \(message)" }

    public static func invalid(_ message: String, code: String = "invalid_input", parameters: [String: String] = [:]) -> AtiendeError {
        AtiendeError(.invalidInput, code: code, message, parameters: parameters)
    }

    /// The provider no longer lets a person reply freely: too long since the customer's last message.
    public static func windowClosed(channel: ChannelKind, window: TimeInterval, templates: Bool) -> AtiendeError {
        let hours = Int(window / 3600)
        let then = templates ? "only an approved template is delivered now" : "\(channel.rawValue) no longer lets us reply"
        return AtiendeError(.conflict, code: templates ? "window_closed_template" : "window_closed",
                            "more than \(hours) hours passed since the customer's last message: \(then)",
                            parameters: ["channel": channel.rawValue, "hours": String(hours)])
    }

    public static func notFound(_ what: String) -> AtiendeError {
        AtiendeError(.notFound, "\(what) not found")
    }
}
