import AtiendeCore
import Foundation
import Vapor
import ZIPFoundation

/// A contact's export as one ZIP: `contact.json` (profile, identities, merged records, conversations with every message,
/// survey answers, compensations) and the attachments under `files/<attachment id>/<name>`.
enum PrivacyArchive {
    /// Writes the archive to a temporary file, streams it and removes it once sent; recorded in the audit log.
    static func response(_ req: Request, contact contactID: UUID, workspace: UUID, actor: UUID) async throws -> Response {
        let (document, files) = try await req.atiende.privacy.export(contactID, workspace: workspace, actor: actor)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("atiende-export-\(UUID().uuidString).zip")
        do {
            let archive = try Archive(url: url, accessMode: .create)
            try archive.addEntry(with: "contact.json", type: .file, uncompressedSize: Int64(document.count), compressionMethod: .deflate) { position, size in
                document.subdata(in: Int(position)..<Int(position) + size)
            }
            for file in files {
                let source = req.atiende.files.path(for: file.sha256)
                // A file gone from the store (removed by hand) leaves its entry out; the document still lists it.
                guard FileManager.default.fileExists(atPath: source.path) else { continue }
                try archive.addEntry(with: file.path, fileURL: source, compressionMethod: .deflate)
            }
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw error
        }
        let response = try await req.fileio.asyncStreamFile(at: url.path, mediaType: HTTPMediaType(type: "application", subType: "zip")) { _ in
            try? FileManager.default.removeItem(at: url)
        }
        let name = "atiende-contact-\(contactID.uuidString.lowercased().prefix(8)).zip"
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(name)\"")
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return response
    }
}

extension AtiendeServices {
    var privacy: PrivacyService { PrivacyService(store: store, files: files) }
    var retention: RetentionService { RetentionService(store: store, files: files) }
}
