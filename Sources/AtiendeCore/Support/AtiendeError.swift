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
    public let message: String

    public init(_ kind: Kind, code: String? = nil, _ message: String) {
        self.kind = kind
        self.code = code ?? kind.rawValue
        self.message = message
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

    public static func invalid(_ message: String, code: String = "invalid_input") -> AtiendeError {
        AtiendeError(.invalidInput, code: code, message)
    }

    public static func notFound(_ what: String) -> AtiendeError {
        AtiendeError(.notFound, "\(what) not found")
    }
}
