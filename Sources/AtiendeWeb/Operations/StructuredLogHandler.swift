import Foundation
import Logging
import Vapor

/// Log output: one JSON object per line when `ATIENDE_LOG_FORMAT=json` (for log collectors), otherwise
/// Vapor's readable console format. Both carry the metadata.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String

    public static func make(label: String, level: Logger.Level) -> any LogHandler {
        if ProcessInfo.processInfo.environment["ATIENDE_LOG_FORMAT"] == "json" {
            return StructuredLogHandler(logLevel: level, label: label)
        }
        var handler = ConsoleLogger(label: label, console: Terminal(), level: level)
        handler.logLevel = level
        return handler
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
            FileHandle.standardError.write(data + Data("\n".utf8))
        }
    }
}
