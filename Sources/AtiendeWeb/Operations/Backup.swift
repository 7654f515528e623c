import AtiendeCore
import Crypto
import FluentSQLiteDriver
import Foundation
import SQLKit
import ZIPFoundation

/// What an archive says of itself: when and from what it was made, how many rows its tables held, and every entry's
/// SHA-256, so a damaged or altered archive is refused before anything is restored from it.
struct BackupManifest: Codable, Equatable, Sendable {
    static let currentFormat = 1
    static let name = "manifest.json"

    var format: Int
    var createdAt: Date
    /// `sqlite` or `postgresql`: an archive restores into the same kind of database.
    var database: String
    /// The schema changes the database had, in order (names of `AtiendeMigrations`).
    var migrations: [String]
    var counts: [String: Int]
    /// Every entry but the manifest, by its path in the archive, with its SHA-256.
    var entries: [String: String]
    /// Whether the instance's key (which seals inbox secrets and two-factor keys) is in the archive (`archive`) or
    /// came from `ATIENDE_SECRET_KEY`, which the restored instance must be given again (`environment`).
    var secretKey: String

    enum CodingKeys: String, CodingKey {
        case format, database, migrations, counts, entries
        case createdAt = "created_at", secretKey = "secret_key"
    }
}

/// `atiende backup`, `backup verify` and `restore`: one archive (a ZIP) with a consistent copy of the database taken
/// while the server keeps writing (SQLite's `VACUUM INTO`; PostgreSQL's `pg_dump` of an exported snapshot, in whose
/// transaction the rows are also counted), the attachment store, the instance's key when it lives in the data folder,
/// and a manifest. An archive is written under a temporary name and renamed when complete; it is readable only by its
/// owner, since it holds everything.
enum Backup {
    /// The tables whose rows the manifest counts and a restore must find again.
    static let counted = ["workspaces", "users", "memberships", "inboxes", "contacts", "conversations", "messages", "attachments", "events",
                          "surveys", "metric_rollups"]
    static let databaseEntry = ["sqlite": "database/atiende.sqlite", "postgresql": "database/atiende.dump"]

    /// What a long step reports: a phase's name and how much of all of it is done (0…1).
    typealias Progress = @Sendable (String, Double) -> Void

    struct Tools: Sendable {
        var pgDump: String?
        var pgRestore: String?

        static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Tools {
            Tools(pgDump: env["ATIENDE_PG_DUMP"] ?? find("pg_dump", env), pgRestore: env["ATIENDE_PG_RESTORE"] ?? find("pg_restore", env))
        }

        static func find(_ program: String, _ env: [String: String]) -> String? {
            (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map { "\($0)/\(program)" }
                .first { FileManager.default.isExecutableFile(atPath: $0) }
        }

        func require(_ path: String?, _ program: String, _ variable: String) throws -> String {
            guard let path else {
                throw AtiendeError(.unavailable, code: "tool_missing",
                                   "\(program) was not found on PATH: install PostgreSQL's client programs (Debian: postgresql-client) or set \(variable)")
            }
            return path
        }
    }

    // MARK: Making one

    /// Makes an archive in `directory`; returns where it is and its manifest.
    static func create(config: AppConfig, store: Store, files: FileStore, into directory: URL, tools: Tools, now: Date,
                       progress: Progress = { _, _ in }) async throws -> (URL, BackupManifest) {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stamp = ISO8601.string(now).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "").prefix(15)
        let final = directory.appendingPathComponent("atiende-backup-\(stamp)Z.zip")
        let partial = directory.appendingPathComponent(".\(final.lastPathComponent).\(UUID().uuidString).partial")
        let staging = directory.appendingPathComponent(".atiende-backup-\(UUID().uuidString)", isDirectory: true)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? fm.removeItem(at: staging) }
        do {
            progress("database", 0)
            let kind: String, snapshot: URL, counts: [String: Int]
            switch config.database {
            case .sqlite:
                kind = "sqlite"
                snapshot = staging.appendingPathComponent("atiende.sqlite")
                try await store.sql.raw("VACUUM INTO \(literal: snapshot.path)").run()
                counts = try await sqliteCounts(snapshot)
            case .postgres(let url):
                kind = "postgresql"
                snapshot = staging.appendingPathComponent("atiende.dump")
                counts = try await pgDump(url: url, to: snapshot, store: store, tool: try tools.require(tools.pgDump, "pg_dump", "ATIENDE_PG_DUMP"))
            }
            let migrations = try await store.sql.raw("SELECT name FROM _fluent_migrations ORDER BY batch, created_at").all()
                .map { try $0.decode(column: "name", as: String.self) }
            let attachments = storedFiles(files.root)
            let key = config.dataDirectory.appendingPathComponent("secret.key")
            // The key is the data folder's when that file holds the one this instance runs with (else it came from the environment).
            let keyInArchive = (try? String(contentsOf: key, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == config.secretKey
            var sources: [(String, URL, CompressionMethod)] = [(databaseEntry[kind]!, snapshot, .deflate)]
            sources += attachments.map { ("files/\($0.lastPathComponent)", $0, .none) }
            if keyInArchive { sources.append(("secret.key", key, .none)) }
            let total = Double(max(1, sources.reduce(Int64(0)) { $0 + size($1.1) }))
            var done: Int64 = 0
            let archive = try Archive(url: partial, accessMode: .create)
            var entries: [String: String] = [:]
            for (path, url, method) in sources {
                entries[path] = try add(path, from: url, method: method, to: archive) { read in
                    done += Int64(read)
                    progress(path.hasPrefix("files/") ? "files" : "database", Double(done) / total)
                }
            }
            // Whole seconds: what the manifest's ISO 8601 keeps.
            let manifest = BackupManifest(format: BackupManifest.currentFormat, createdAt: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)), database: kind, migrations: migrations,
                                          counts: counts, entries: entries, secretKey: keyInArchive ? "archive" : "environment")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            let data = try encoder.encode(manifest)
            try archive.addEntry(with: BackupManifest.name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: partial.path)
            try fm.moveItem(at: partial, to: final)
            progress("done", 1)
            return (final, manifest)
        } catch {
            try? fm.removeItem(at: partial)
            throw error
        }
    }

    /// Adds a file, read once: its SHA-256 is computed from the very bytes archived.
    static func add(_ path: String, from url: URL, method: CompressionMethod, to archive: Archive, read: (Int) -> Void) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        let size = size(url)
        try archive.addEntry(with: path, type: .file, uncompressedSize: size, compressionMethod: method, bufferSize: 1 << 20) { _, chunk in
            let data = try handle.read(upToCount: chunk) ?? Data()
            hasher.update(data: data)
            read(data.count)
            return data
        }
        return hasher.finalize().hexString
    }

    static func size(_ url: URL) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// The attachment store's files (named by their SHA-256), leaving out half-written temporaries.
    static func storedFiles(_ root: URL) -> [URL] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { url in
            let name = url.lastPathComponent
            return name.count == 64 && name.allSatisfy(\.isHexDigit) && (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
        }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func counts(on sql: any SQLDatabase) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in counted {
            counts[table] = try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
        return counts
    }

    static func sqliteCounts(_ file: URL) async throws -> [String: Int] {
        let connection = try await SQLiteConnection.open(storage: .file(path: file.path))
        do {
            let counts = try await counts(on: connection.sql())
            try await connection.close()
            return counts
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// `pg_dump` of a snapshot exported by a read-only transaction that counts the rows of that same snapshot and stays
    /// open until the dump is done.
    static func pgDump(url: String, to file: URL, store: Store, tool: String) async throws -> [String: Int] {
        try await store.db.transaction { db in
            guard let sql = db as? any SQLDatabase else { throw AtiendeError(.unavailable, "not an SQL database") }
            try await sql.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").run()
            let snapshot = try await sql.raw("SELECT pg_export_snapshot() AS s").first()?.decode(column: "s", as: String.self) ?? ""
            let counts = try await counts(on: sql)
            let target = withoutPassword(url)
            try await run(tool, ["--format=custom", "--no-owner", "--no-privileges", "--snapshot=\(snapshot)", "--file=\(file.path)",
                                 "--dbname=\(target.url)"], environment: target.environment)
            return counts
        }
    }

    /// A PostgreSQL URL without its password, and the password for the program's environment (`PGPASSWORD`), so it
    /// never shows in the process list.
    static func withoutPassword(_ url: String) -> (url: String, environment: [String: String]) {
        guard var parts = URLComponents(string: url), let password = parts.password else { return (url, [:]) }
        parts.password = nil
        return (parts.string ?? url, ["PGPASSWORD": password])
    }

    /// Runs a program to its end; its standard error (kept in a file, so a long one cannot block it) becomes the message
    /// of the failure.
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("atiende-\(UUID().uuidString).stderr")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil, attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(at: log) }
        let errors = try FileHandle(forWritingTo: log)
        defer { try? errors.close() }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        guard status == 0 else {
            let said = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            throw AtiendeError(.unavailable, code: "tool_failed", "\(URL(fileURLWithPath: tool).lastPathComponent) failed (\(status)): \(said.prefix(2000))")
        }
    }

    // MARK: Checking one

    /// The largest manifest read: one line per attachment, so millions of them fit.
    static let manifestLimit: UInt64 = 256 << 20

    static func corrupt(_ detail: String) -> AtiendeError {
        AtiendeError.invalid("the archive is damaged or was altered: \(detail); nothing was restored from it", code: "backup_corrupt")
    }

    /// Reads the manifest and checks every entry against its SHA-256, and that nothing is in the archive the manifest
    /// does not name. Returns the manifest.
    static func verify(_ url: URL, progress: Progress = { _, _ in }) throws -> BackupManifest {
        guard FileManager.default.fileExists(atPath: url.path) else { throw AtiendeError.notFound("archive \(url.path)") }
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch { throw corrupt("it is not a ZIP archive") }
        guard let entry = archive[BackupManifest.name] else { throw corrupt("it has no manifest.json (is it an Atiende backup?)") }
        guard entry.type == .file, entry.uncompressedSize <= manifestLimit else { throw corrupt("its manifest is not one Atiende wrote") }
        var data = Data()
        do { _ = try archive.extract(entry) { data.append($0) } } catch { throw corrupt("its manifest cannot be read") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let manifest = try? decoder.decode(BackupManifest.self, from: data) else { throw corrupt("its manifest is not one Atiende wrote") }
        guard manifest.format == BackupManifest.currentFormat, let dbEntry = databaseEntry[manifest.database],
              manifest.entries[dbEntry] != nil else {
            throw corrupt("its manifest describes a format (\(manifest.format), \(manifest.database)) this Atiende does not read")
        }
        var seen = Set<String>()
        let total = Double(max(1, archive.reduce(Int64(0)) { $0 + Int64($1.uncompressedSize) }))
        var done: Int64 = 0
        for entry in archive where entry.path != BackupManifest.name {
            guard let expected = manifest.entries[entry.path] else { throw corrupt("\(entry.path) is not in its manifest") }
            // Only files: a link or a folder in an archive could point a restore outside its target.
            guard entry.type == .file else { throw corrupt("\(entry.path) is not a file") }
            var hasher = SHA256()
            do {
                _ = try archive.extract(entry, bufferSize: 1 << 20) { chunk in
                    hasher.update(data: chunk)
                    done += Int64(chunk.count)
                    progress("verify", Double(done) / total)
                }
            } catch { throw corrupt("\(entry.path) cannot be read (\(error))") }
            let actual = hasher.finalize().hexString
            guard actual == expected else { throw corrupt("\(entry.path) does not match its checksum") }
            if entry.path.hasPrefix("files/"), entry.path.dropFirst(6) != actual { throw corrupt("\(entry.path) is not the file its name says") }
            seen.insert(entry.path)
        }
        if let missing = Set(manifest.entries.keys).subtracting(seen).sorted().first { throw corrupt("\(missing) is missing") }
        return manifest
    }
}
