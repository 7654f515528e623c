import AtiendeCore
import Foundation
import Logging
import Metrics

/// Scheduled backups in `serve` (`ATIENDE_BACKUP_DIR`): one instance at a time takes one when the newest archive in the
/// folder is older than the interval, keeps the newest `keep`, and says in /metrics how the last one went; a failure is
/// logged, counted, and told to every workspace's admins (in the app, and by email to those who want that kind).
struct BackupSchedule: Sendable {
    let settings: AppConfig.BackupSettings
    let config: AppConfig
    let services: AtiendeServices
    let logger: Logger

    static let lastSuccess = Gauge(label: "atiende_backup_last_success_timestamp_seconds")
    static let lastBytes = Gauge(label: "atiende_backup_last_size_bytes")
    static let lastSeconds = Gauge(label: "atiende_backup_last_duration_seconds")
    static let failures = Counter(label: "atiende_backup_failures_total")

    /// The folder's archives, newest first (their names are their UTC times).
    static func archives(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix("atiende-backup-") && $0.hasSuffix(".zip") }.sorted(by: >).map { folder.appendingPathComponent($0) }
    }

    func due(now: Date) -> Bool {
        guard let newest = Self.archives(in: settings.directory).first,
              let made = (try? FileManager.default.attributesOfItem(atPath: newest.path))?[.modificationDate] as? Date else { return true }
        return now.timeIntervalSince(made) >= settings.interval
    }

    /// One pass: a backup when one is due, then the archives beyond `keep` removed, oldest first.
    func pass() async {
        let now = services.store.clock.now()
        guard due(now: now) else { return }
        let started = Date()
        do {
            let (archive, _) = try await Backup.create(config: config, store: services.store, files: services.files, into: settings.directory,
                                                       tools: .fromEnvironment(), now: now)
            Self.lastSuccess.record(now.timeIntervalSince1970)
            Self.lastBytes.record(Backup.size(archive))
            Self.lastSeconds.record(Date().timeIntervalSince(started))
            for old in Self.archives(in: settings.directory).dropFirst(settings.keep) { try? FileManager.default.removeItem(at: old) }
            logger.notice("backup written", metadata: ["archive": "\(archive.path)"])
        } catch {
            Self.failures.increment()
            let message = (error as? AtiendeError)?.message ?? "\(error)"
            logger.error("scheduled backup failed", metadata: ["error": "\(message)"])
            do {
                try await Notifications.notifyAdmins(of: .backupFailed, excerpt: message, store: services.store)
            } catch {
                logger.error("admins could not be told that the backup failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
