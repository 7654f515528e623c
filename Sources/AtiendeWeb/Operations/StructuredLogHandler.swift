import Foundation
import Logging
import Vapor

/// Log output: one JSON object per line when `ATIENDE_LOG_FORMAT=json` (for log collectors), otherwise
/// Vapor's readable console format. Both carry the metadata.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    var write: @Sendable (Data) -> Void = { FileHandle.standardError.write($0) }

    /// Read once: Vapor makes a logger for every request, and copying the environment each time is costly.
    static let json = ProcessInfo.processInfo.environment["ATIENDE_LOG_FORMAT"] == "json"

    /// Every handler Atiende logs through; whatever it writes passes the token redaction first.
    public static func make(label: String, level: Logger.Level) -> any LogHandler {
        if json { return RedactingLogHandler(StructuredLogHandler(logLevel: level, label: label)) }
        var handler = ConsoleLogger(label: label, console: Terminal(), level: level)
        handler.logLevel = level
        return RedactingLogHandler(handler)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var fields: [String: String] = ["level": level.rawValue, "message": message.description, "logger": label,
                                        "time": Date().formatted(.iso8601)]
        for (key, value) in metadata.merging(extra ?? [:], uniquingKeysWith: { $1 }) { fields[key] = value.description }
        if let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
            write(data + Data("\n".utf8))
        }
    }
}

/// Keeps credentials out of logs at every level: session, invitation, API and visitor tokens, inbox secrets, the widget's
/// signed sessions and the session cookies are masked in messages and metadata before any handler sees them (Vapor's own
/// trace lines print whole request heads, cookies included).
public struct RedactingLogHandler: LogHandler {
    var inner: any LogHandler

    public init(_ inner: any LogHandler) { self.inner = inner }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(LogRedaction.redact) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(LogRedaction.redact) }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
                    function: String, line: UInt) {
        inner.log(level: level, message: Logger.Message(stringLiteral: LogRedaction.redact(message.description)),
                  metadata: metadata?.mapValues(LogRedaction.redact), source: source, file: file, function: function, line: line)
    }
}

enum LogRedaction {
    nonisolated(unsafe) static let patterns: [(NSRegularExpression, String)] = ([
        (#"\b(ses|inv|atd|vt|whsec|idsec|verify)_[A-Za-z0-9_-]{6,}"#, "$1_[redacted]"),
        (#"(atiende_session|atiende_device|atiende_csrf|session|token|secret_token)=[^&;\s"]+"#, "$1=[redacted]"),
        (#"(Bearer|Basic) [A-Za-z0-9._~+/=-]+"#, "$1 [redacted]"),
    ] as [(String, String)]).compactMap { pattern, template in (try? NSRegularExpression(pattern: pattern)).map { ($0, template) } }

    static func redact(_ text: String) -> String {
        var out = text
        for (pattern, template) in patterns {
            out = pattern.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: template)
        }
        return out
    }

    static func redact(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(redact(text))
        case .stringConvertible(let convertible): .string(redact(convertible.description))
        case .array(let values): .array(values.map(redact))
        case .dictionary(let values): .dictionary(values.mapValues(redact))
        }
    }
}
