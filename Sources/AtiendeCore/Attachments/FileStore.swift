import Crypto
import Foundation

/// Attachment bytes on disk under their SHA-256, so identical files are stored once and names can't be guessed
/// from anything a user controls.
public struct FileStore: Sendable {
    public static let defaultMaxBytes = 25 * 1024 * 1024
    /// Types customers and agents exchange; anything else (executables, HTML, scripts) is refused.
    public static let allowedTypes: [String] = [
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
        "application/pdf", "text/plain", "text/csv", "text/calendar", "application/ics",
        "audio/mpeg", "audio/ogg", "audio/aac", "audio/mp4", "audio/amr", "audio/wav",
        "video/mp4", "video/3gpp", "video/quicktime",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
        "application/zip", "message/rfc822",
    ]

    public let root: URL
    public let maxBytes: Int

    public init(root: URL, maxBytes: Int = FileStore.defaultMaxBytes) {
        self.root = root
        self.maxBytes = maxBytes
    }

    /// Checks type and size; returns the content type without parameters.
    public func validate(contentType: String, size: Int) throws -> String {
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard size <= maxBytes else {
            throw AtiendeError(.payloadTooLarge, code: "attachment_too_large",
                               "attachment is \(size) bytes; the limit is \(maxBytes) bytes")
        }
        guard size > 0 else { throw AtiendeError.invalid("attachment is empty", code: "attachment_empty") }
        guard Self.allowedTypes.contains(type) else {
            throw AtiendeError(.unsupportedMediaType, code: "attachment_type_not_allowed",
                               "attachments of type '\(type)' are not accepted")
        }
        return type
    }

    /// Writes the bytes (once) and returns their SHA-256 hex name.
    public func put(_ data: Data) throws -> String {
        let hash = SHA256.hash(data: data).hexString
        let url = path(for: hash)
        if FileManager.default.fileExists(atPath: url.path) { return hash }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(UUID().uuidString).tmp")
        try data.write(to: temp, options: .atomic)
        // fsync before the rename is visible, so an acknowledged attachment survives a crash.
        let handle = try FileHandle(forWritingTo: temp)
        try handle.synchronize()
        try handle.close()
        if rename(temp.path, url.path) != 0 {
            try? FileManager.default.removeItem(at: temp)
            if !FileManager.default.fileExists(atPath: url.path) {
                throw AtiendeError(.unavailable, "could not store attachment")
            }
        }
        return hash
    }

    public func read(_ sha256: String) throws -> Data {
        guard sha256.count == 64, sha256.allSatisfy(\.isHexDigit) else { throw AtiendeError.notFound("file") }
        return try Data(contentsOf: path(for: sha256))
    }

    public func path(for hash: String) -> URL {
        root.appendingPathComponent(String(hash.prefix(2)), isDirectory: true)
            .appendingPathComponent(String(hash.dropFirst(2).prefix(2)), isDirectory: true)
            .appendingPathComponent(hash)
    }
}
