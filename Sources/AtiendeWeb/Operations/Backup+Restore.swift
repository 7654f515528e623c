import AtiendeCore
import Crypto
import FluentSQLiteDriver
import Foundation
import SQLKit
import ZIPFoundation

/// `atiende restore`: a verified archive into an empty database and attachment store, whole or not at all.
extension Backup {
    /// Restores a verified archive into an empty database and an empty attachment store, then checks that every
    /// counted table has the rows the manifest says. The caller brings the schema up to date afterwards.
    /// On SQLite the file is read and replaced directly, never through `store`'s connections.
    static func restore(_ url: URL, config: AppConfig, store: Store, files: FileStore, tools: Tools,
                        progress: Progress = { _, _ in }) async throws -> BackupManifest {
        let manifest = try verify(url) { progress("verify", $1 * 0.4) }
        let known = AtiendeMigrations.all.map { "\(type(of: $0))" }
        let names = manifest.migrations.map { $0.split(separator: ".").last.map(String.init) ?? $0 }
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw AtiendeError(.conflict, code: "backup_newer", "the archive was made by a newer Atiende (it has the schema change \(unknown)); restore it with that version")
        }
        guard storedFiles(files.root).isEmpty else {
            throw AtiendeError(.conflict, code: "restore_target_not_empty",
                               "the attachment store \(files.root.path) is not empty; restore goes into a new, empty data folder")
        }
        let archive = try Archive(url: url, accessMode: .read)
        let fm = FileManager.default
        // Everything is written beside its place first and checked again as it is written (the archive was verified, but
        // it is read a second time); only a complete restore is moved into place, so a failure leaves the target empty.
        let staging = files.root.deletingLastPathComponent().appendingPathComponent(".\(files.root.lastPathComponent).restoring", isDirectory: true)
        try? fm.removeItem(at: staging)
        defer { try? fm.removeItem(at: staging) }
        let stored = manifest.entries.keys.filter { $0.hasPrefix("files/") }.sorted()
        for (index, path) in stored.enumerated() {
            let hash = String(path.dropFirst(6))
            try extract(path, from: archive, manifest: manifest, to: FileStore(root: staging).path(for: hash))
            progress("files", 0.4 + 0.3 * Double(index + 1) / Double(max(1, stored.count)))
        }
        let restored: [String: Int]
        switch (config.database, manifest.database) {
        case (.sqlite(let path), "sqlite"):
            let target = URL(fileURLWithPath: path)
            if fm.fileExists(atPath: target.path), size(target) > 0, try await !sqliteTables(target).isEmpty {
                throw AtiendeError(.conflict, code: "restore_target_not_empty", "the database \(path) is not empty; restore goes into a new, empty database")
            }
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).restoring")
            try? fm.removeItem(at: temporary)
            defer { try? fm.removeItem(at: temporary) }
            try extract(databaseEntry["sqlite"]!, from: archive, manifest: manifest, to: temporary)
            restored = try await sqliteCounts(temporary)
            try checkCounts(restored, manifest)
            for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: path + suffix) }
            guard rename(temporary.path, path) == 0 else {
                throw AtiendeError(.unavailable, code: "restore_failed", "could not put the restored database at \(path): \(String(cString: strerror(errno)))")
            }
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        case (.postgres(let url), "postgresql"):
            let tool = try tools.require(tools.pgRestore, "pg_restore", "ATIENDE_PG_RESTORE")
            let dump = fm.temporaryDirectory.appendingPathComponent("atiende-restore-\(UUID().uuidString).dump")
            defer { try? fm.removeItem(at: dump) }
            try extract(databaseEntry["postgresql"]!, from: archive, manifest: manifest, to: dump)
            let tables = try await store.sql.raw("""
                SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()
                """).first()?.decode(column: "n", as: Int.self) ?? 0
            guard tables == 0 else {
                throw AtiendeError(.conflict, code: "restore_target_not_empty", "the database is not empty; restore goes into a new, empty database")
            }
            progress("database", 0.8)
            // One transaction: a restore that fails leaves the database as empty as it was.
            let target = withoutPassword(url)
            try await run(tool, ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname=\(target.url)", dump.path],
                          environment: target.environment)
            restored = try await counts(on: store.sql)
            try checkCounts(restored, manifest)
        default:
            throw AtiendeError(.conflict, code: "backup_other_database",
                               "the archive holds a \(manifest.database) database; this instance runs on the other kind")
        }
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        try? fm.removeItem(at: files.root)
        guard rename(staging.path, files.root.path) == 0 else {
            throw AtiendeError(.unavailable, code: "restore_failed", "could not put the restored attachments at \(files.root.path): \(String(cString: strerror(errno)))")
        }
        if manifest.secretKey == "archive", archive["secret.key"] != nil {
            let key = config.dataDirectory.appendingPathComponent("secret.key")
            let temporary = config.dataDirectory.appendingPathComponent(".secret.key.restoring")
            try extract("secret.key", from: archive, manifest: manifest, to: temporary)
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: temporary.path)
            guard rename(temporary.path, key.path) == 0 else {
                throw AtiendeError(.unavailable, code: "restore_failed", "could not put the instance's key at \(key.path)")
            }
        }
        progress("done", 1)
        return manifest
    }

    /// Writes one entry to `target`, hashing the bytes as they are written; refuses them if they are not the manifest's.
    static func extract(_ path: String, from archive: Archive, manifest: BackupManifest, to target: URL) throws {
        guard let entry = archive[path], entry.type == .file, let expected = manifest.entries[path] else { throw corrupt("\(path) is missing") }
        let fm = FileManager.default
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? fm.removeItem(at: target)
        guard fm.createFile(atPath: target.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw AtiendeError(.unavailable, code: "restore_failed", "could not write \(target.path)")
        }
        let handle = try FileHandle(forWritingTo: target)
        defer { try? handle.close() }
        var hasher = SHA256()
        _ = try archive.extract(entry, bufferSize: 1 << 20) { chunk in
            hasher.update(data: chunk)
            try handle.write(contentsOf: chunk)
        }
        try handle.synchronize()
        guard hasher.finalize().hexString == expected else {
            try? fm.removeItem(at: target)
            throw corrupt("\(path) does not match its checksum")
        }
    }

    static func checkCounts(_ restored: [String: Int], _ manifest: BackupManifest) throws {
        for (table, expected) in manifest.counts.sorted(by: { $0.key < $1.key }) where restored[table] != expected {
            throw AtiendeError(.unavailable, code: "restore_incomplete",
                               "\(table) has \(restored[table] ?? 0) rows after the restore, the archive says \(expected)")
        }
    }

    static func sqliteTables(_ file: URL) async throws -> [String] {
        let connection = try await SQLiteConnection.open(storage: .file(path: file.path))
        do {
            let names = try await connection.sql().raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all()
                .map { try $0.decode(column: "name", as: String.self) }
            try await connection.close()
            return names
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
