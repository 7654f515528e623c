@testable import AtiendeCore
@testable import AtiendeWeb
import Crypto
import Fluent
import Foundation
import Testing
import ZIPFoundation

/// Backups: what an archive holds, and every way a changed archive is refused before anything is restored from it.
/// The restore drill itself, with traffic during the backup, is `Tests/e2e/test_backup.py`.
@Suite("Backups", .serialized)
struct BackupTests {
    static func refused(_ archive: URL, _ detail: String) {
        do {
            _ = try Backup.verify(archive)
            Issue.record("\(detail): accepted")
        } catch let error as AtiendeError {
            #expect(error.code == "backup_corrupt" && error.status == 400, "\(detail): \(error)")
        } catch {
            Issue.record("\(detail): \(error)")
        }
    }

    /// A copy of the archive changed by `change`.
    static func altered(_ archive: URL, _ name: String, _ change: (Archive) throws -> Void) throws -> URL {
        let copy = archive.deletingLastPathComponent().appendingPathComponent(name)
        try FileManager.default.copyItem(at: archive, to: copy)
        try change(try Archive(url: copy, accessMode: .update))
        return copy
    }

    static func data(_ archive: Archive, _ path: String) throws -> Data {
        var data = Data()
        _ = try archive.extract(try #require(archive[path])) { data.append($0) }
        return data
    }

    static func replace(_ archive: Archive, _ path: String, with data: Data) throws {
        try archive.remove(try #require(archive[path]))
        try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count)) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }

    /// A workspace whose one message carries `pdf`, and an archive of it in `folder`.
    static func archive(_ app: TestApp, holding pdf: Data, named filename: String, into folder: URL) async throws -> (URL, BackupManifest) {
        let workspace = try await WorkspaceFixture.make(app)
        let inbox = try await workspace.apiInbox(app)
        var body = APIInbox.message("m-1", from: ["id": "c-1", "name": "Ana"])
        body["attachments"] = [["filename": filename, "content_type": "application/pdf", "data": pdf.base64EncodedString()]]
        #expect(try await inbox.post(app, body).status == 200)
        return try await Backup.create(config: app.config, store: app.store, files: app.services.files, into: folder,
                                       tools: .fromEnvironment(), now: Date())
    }

    @Test("an archive holds the database, every attachment, the key and a manifest; an entry changed, added or removed, or a manifest altered, is refused")
    func verify() async throws {
        try await withApp { app in
            let pdf = Data("%PDF-1.4 boleta 1234".utf8)
            let folder = app.dataDirectory.appendingPathComponent("backups")
            let (archive, manifest) = try await Self.archive(app, holding: pdf, named: "boleta.pdf", into: folder)
            let hash = SHA256.hash(data: pdf).hexString
            #expect(manifest.counts["conversations"] == 1 && manifest.counts["messages"] == 1 && manifest.counts["attachments"] == 1)
            #expect(manifest.entries["files/\(hash)"] == hash && manifest.entries["secret.key"] != nil)
            #expect(manifest.migrations.count == AtiendeMigrations.all.count)
            #expect(try Backup.verify(archive) == manifest)
            let mode = try FileManager.default.attributesOfItem(atPath: archive.path)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [archive.lastPathComponent], "nothing half-written left")

            let database = try #require(Backup.databaseEntry[manifest.database])
            Self.refused(try Self.altered(archive, "changed.zip") { zip in
                var bytes = try Self.data(zip, "files/\(hash)")
                bytes[0] ^= 0xFF
                try Self.replace(zip, "files/\(hash)", with: bytes)
            }, "an attachment changed")
            Self.refused(try Self.altered(archive, "added.zip") { zip in
                try Self.replace(zip, "files/\(hash)", with: try Self.data(zip, "files/\(hash)"))
                try zip.addEntry(with: "files/extra", type: .file, uncompressedSize: Int64(1)) { (_: Int64, _: Int) in Data("x".utf8) }
            }, "an entry the manifest does not name")
            Self.refused(try Self.altered(archive, "removed.zip") { zip in try zip.remove(try #require(zip[database])) }, "the database removed")
            Self.refused(try Self.altered(archive, "manifest.zip") { zip in
                var text = String(decoding: try Self.data(zip, BackupManifest.name), as: UTF8.self)
                text = text.replacingOccurrences(of: "\"\(hash)\"", with: "\"\(String(repeating: "0", count: 64))\"")
                try Self.replace(zip, BackupManifest.name, with: Data(text.utf8))
            }, "a checksum altered in the manifest")
            Self.refused(try Self.altered(archive, "renamed.zip") { zip in
                // The file's own bytes under another name, and the manifest made to agree: its name is its SHA-256.
                let bytes = try Self.data(zip, "files/\(hash)")
                let other = String(repeating: "a", count: 64)
                try zip.remove(try #require(zip["files/\(hash)"]))
                try zip.addEntry(with: "files/\(other)", type: .file, uncompressedSize: Int64(bytes.count)) { p, s in bytes.subdata(in: Int(p)..<Int(p) + s) }
                let text = String(decoding: try Self.data(zip, BackupManifest.name), as: UTF8.self).replacingOccurrences(of: "\"files/\(hash)\"", with: "\"files/\(other)\"")
                try Self.replace(zip, BackupManifest.name, with: Data(text.utf8))
            }, "a file under another name")
            let notZip = folder.appendingPathComponent("notes.zip")
            try Data("hola".utf8).write(to: notZip)
            Self.refused(notZip, "not a ZIP")
        }
    }

    @Test("a restore refuses a database that is not empty, changing nothing")
    func restoreRefuses() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let folder = app.dataDirectory.appendingPathComponent("backups")
            let (archive, _) = try await Backup.create(config: app.config, store: app.store, files: app.services.files, into: folder,
                                                       tools: .fromEnvironment(), now: Date())
            let before = try await app.count(Workspace.self)
            do {
                _ = try await Backup.restore(archive, config: app.config, store: app.store, files: app.services.files, tools: .fromEnvironment())
                Issue.record("restored over a database in use")
            } catch let error as AtiendeError {
                #expect(error.code == "restore_target_not_empty" && error.message.contains("not empty"), "\(error)")
            }
            #expect(try await app.count(Workspace.self) == before)
            #expect(try await Workspace.find(workspace.id, on: app.store.db) != nil)

        }
    }

    @Test("a restore that cannot finish leaves the target database and attachment store as empty as they were; then it restores")
    func restoreIsWholeOrNothing() async throws {
        try await withApp { app in
            let pdf = Data("%PDF-1.4 factura 77".utf8)
            let folder = app.dataDirectory.appendingPathComponent("backups")
            let (archive, manifest) = try await Self.archive(app, holding: pdf, named: "factura.pdf", into: folder)
            // PostgreSQL's restore is one transaction of pg_restore; the file moves are SQLite's and the store's.
            guard manifest.database == "sqlite" else { return }
            let short = try Self.altered(archive, "short.zip") { zip in
                var object = try #require(try JSONSerialization.jsonObject(with: try Self.data(zip, BackupManifest.name)) as? [String: Any])
                var counts = try #require(object["counts"] as? [String: Int])
                counts["messages"] = 99
                object["counts"] = counts
                try Self.replace(zip, BackupManifest.name, with: try JSONSerialization.data(withJSONObject: object))
            }
            let target = app.dataDirectory.appendingPathComponent("restored-\(UUID().uuidString)")
            let config = try AppConfig.fromEnvironment(["ATIENDE_DATA_DIR": target.path])
            let files = FileStore(root: target.appendingPathComponent("files"))
            do {
                _ = try await Backup.restore(short, config: config, store: app.store, files: files, tools: .fromEnvironment())
                Issue.record("a restore whose rows do not add up finished")
            } catch let error as AtiendeError {
                #expect(error.code == "restore_incomplete", "\(error)")
            }
            let left = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
            #expect(!left.contains("atiende.sqlite") && Backup.storedFiles(files.root).isEmpty && !left.contains { $0.hasSuffix(".restoring") },
                    "\(left)")

            _ = try await Backup.restore(archive, config: config, store: app.store, files: files, tools: .fromEnvironment())
            #expect(try Data(contentsOf: files.path(for: SHA256.hash(data: pdf).hexString)) == pdf)
            #expect(try await Backup.sqliteTables(target.appendingPathComponent("atiende.sqlite")).contains("messages"))
        }
    }
}
