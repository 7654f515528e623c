import AtiendeCore
import Foundation
import Vapor

/// `atiende backup [--to DIR]` and `atiende backup verify ARCHIVE` (a command group would take `--to` for a
/// subcommand's name).
struct BackupCommand: AnyAsyncCommand {
    var help: String { "Makes a consistent backup while the server runs (or checks one: backup verify ARCHIVE)." }

    func chosen(_ context: inout CommandContext) -> any AnyAsyncCommand {
        guard context.input.arguments.first == "verify" else { return CreateBackupCommand() }
        context.input.arguments.removeFirst()
        context.input.executablePath.append("verify")
        return VerifyBackupCommand()
    }

    func run(using context: inout CommandContext) async throws { try await chosen(&context).run(using: &context) }

    func outputHelp(using context: inout CommandContext) throws { try chosen(&context).outputHelp(using: &context) }

    func renderCompletionFunctions(using context: CommandContext, shell: Shell) -> String { "" }
}

struct CreateBackupCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "to", help: "the folder to write the archive in (default: DATA_DIR/backups)") var to: String?
    }
    var help: String { "Makes a consistent backup while the server runs." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let config = app.atiende.config
        let folder = signature.to.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? config.dataDirectory.appendingPathComponent("backups")
        let started = Date()
        let bar = ProgressBar()
        let (archive, manifest) = try await Backup.create(config: config, store: app.atiende.store, files: app.atiende.files, into: folder,
                                                          tools: .fromEnvironment(), now: app.atiende.store.clock.now(), progress: bar.show)
        bar.finish()
        context.console.print("Wrote \(archive.path) (\(ByteCountFormatter.string(fromByteCount: Backup.size(archive), countStyle: .file)), "
                              + "\(manifest.counts["conversations"] ?? 0) conversations, \(manifest.counts["messages"] ?? 0) messages, "
                              + "\(manifest.entries.keys.filter { $0.hasPrefix("files/") }.count) files) in "
                              + String(format: "%.1f s.", Date().timeIntervalSince(started)))
        if manifest.secretKey == "environment" {
            context.console.print("The instance's key comes from ATIENDE_SECRET_KEY and is not in the archive: keep it to restore.")
        }
    }
}

struct VerifyBackupCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "archive", help: "the archive to check") var archive: String
    }
    var help: String { "Checks every entry of an archive against its manifest." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let bar = ProgressBar()
        let manifest = try Backup.verify(URL(fileURLWithPath: signature.archive), progress: bar.show)
        bar.finish()
        context.console.print("\(signature.archive) is intact: \(manifest.database), made \(ISO8601.string(manifest.createdAt)), "
                              + "\(manifest.counts["conversations"] ?? 0) conversations, \(manifest.entries.count) entries.")
    }
}

/// `atiende restore ARCHIVE`: into an empty database and attachment store, then the schema brought up to date.
struct RestoreCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "archive", help: "the archive to restore") var archive: String
    }
    var help: String { "Restores a backup into an empty database and attachment store." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        // SQLite's file is replaced: start-up's connection to the old one is closed first, and new ones open the new one.
        app.databases.reinitialize()
        let bar = ProgressBar()
        let manifest = try await Backup.restore(URL(fileURLWithPath: signature.archive), config: app.atiende.config, store: app.atiende.store,
                                                files: app.atiende.files, tools: .fromEnvironment(), progress: bar.show)
        bar.finish()
        app.databases.reinitialize()
        try await SchemaMigration.run(app)
        context.console.print("Restored \(manifest.counts["conversations"] ?? 0) conversations, \(manifest.counts["messages"] ?? 0) messages and "
                              + "\(manifest.entries.keys.filter { $0.hasPrefix("files/") }.count) files from the backup of "
                              + "\(ISO8601.string(manifest.createdAt)).")
        if manifest.secretKey == "environment" {
            context.console.print("Start it with the ATIENDE_SECRET_KEY it had: inbox secrets and two-factor keys are sealed with it.")
        }
    }
}

/// A bar on standard error while it is a terminal (nothing in logs or pipes), and how long each phase it was told of
/// took (`summary`: "history 41 s, metrics 12 s"), terminal or not.
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var last = -1
    private let shown = isatty(STDERR_FILENO) == 1
    private var phases: [(name: String, started: Date, seconds: TimeInterval?)] = []

    var show: Backup.Progress { { [self] phase, done in draw(phase, done) } }

    var summary: String {
        lock.withLock {
            phases.map { "\($0.name) \(Int($0.seconds ?? Date().timeIntervalSince($0.started))) s" }.joined(separator: ", ")
        }
    }

    private func draw(_ phase: String, _ done: Double) {
        lock.lock()
        defer { lock.unlock() }
        if phases.last?.name != phase {
            if let current = phases.indices.last { phases[current].seconds = Date().timeIntervalSince(phases[current].started) }
            phases.append((phase, Date(), nil))
        }
        guard shown else { return }
        let percent = Int((min(max(done, 0), 1) * 100).rounded(.down))
        guard percent != last else { return }
        last = percent
        let filled = percent * 30 / 100
        FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: 30 - filled))] \(percent)% \(phase)   ".utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
