import Crypto
import Foundation
import Vapor

/// The browser code and styles (`Resources/Public`), read once from the bundle and served from memory.
enum Assets {
    struct File: Sendable { var data: Data; var contentType: HTTPMediaType; var etag: String }

    static let files: [String: File] = {
        guard let directory = Bundle.module.url(forResource: "Public", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [:] }
        var files: [String: File] = [:]
        for name in names {
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { continue }
            let ext = (name as NSString).pathExtension
            let type = HTTPMediaType.fileExtension(ext) ?? .binary
            files[name] = File(data: data, contentType: type, etag: "\"" + SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined() + "\"")
        }
        return files
    }()

    /// Changes whenever any asset changes, for cache-busting links.
    static let version: String = {
        let all = files.keys.sorted().map { files[$0]?.etag ?? "" }.joined()
        return String(SHA256.hash(data: Data(all.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined())
    }()

    static func serve(_ req: Request) async throws -> Response {
        guard let name = req.parameters.get("file") else { throw Abort(.notFound) }
        return try response(name, req, cacheControl: "public, max-age=31536000, immutable")
    }

    /// One asset with its ETag (a matching If-None-Match gets 304).
    static func response(_ name: String, _ req: Request, cacheControl: String) throws -> Response {
        guard let file = files[name] else { throw Abort(.notFound) }
        if req.headers.first(name: .ifNoneMatch) == file.etag { return Response(status: .notModified) }
        let response = Response(status: .ok, body: .init(data: file.data))
        response.headers.contentType = file.contentType
        response.headers.replaceOrAdd(name: .eTag, value: file.etag)
        response.headers.replaceOrAdd(name: .cacheControl, value: cacheControl)
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        return response
    }
}
