@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

/// Scheduled backups in `serve`: taken when due, the newest kept, the outcome in /metrics, and a failure told to admins.
@Suite("Scheduled backups", .serialized)
struct BackupScheduleTests {
    @Test("serve with ATIENDE_BACKUP_DIR takes a backup at once when none is there, keeps the newest, and says so in /metrics")
    func scheduled() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atiende-backups-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Three old archives already there: with `keep` 2 only the new one and the newest old one stay.
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, name) in ["atiende-backup-20261101T000000Z.zip", "atiende-backup-20261102T000000Z.zip", "atiende-backup-20261103T000000Z.zip"].enumerated() {
            let url = folder.appendingPathComponent(name)
            try Data("old".utf8).write(to: url)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -86_400 * Double(30 - index))], ofItemAtPath: url.path)
        }
        try await withApp(environment: ["ATIENDE_BACKUP_DIR": folder.path, "ATIENDE_BACKUP_KEEP": "2"]) { app in
            _ = try await WorkspaceFixture.make(app)
            var archives: [URL] = []
            for _ in 0..<200 where archives.count != 2 || archives.first?.lastPathComponent.hasPrefix("atiende-backup-2026110") == true {
                try await Task.sleep(for: .milliseconds(100))
                archives = BackupSchedule.archives(in: folder)
            }
            #expect(archives.count == 2 && archives[1].lastPathComponent == "atiende-backup-20261103T000000Z.zip", "\(archives)")
            #expect(try Backup.verify(archives[0]).database == (TestApp.postgresURL == nil ? "sqlite" : "postgresql"))
            let metrics = try await app.request(.GET, "/metrics")
            #expect(metrics.text.contains("atiende_backup_last_success_timestamp_seconds") && metrics.text.contains("atiende_backup_last_size_bytes"))
            // Not due again within the interval.
            let schedule = BackupSchedule(settings: try #require(app.config.backups), config: app.config, services: app.services, logger: app.app.logger)
            #expect(!schedule.due(now: Date()))
            #expect(schedule.due(now: Date().addingTimeInterval(24 * 3600 + 60)))
        }
    }

    @Test("a backup that fails is told to every workspace's admins, and only to them, and counted")
    func failure() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agentID, _) = try await workspace.member(app, role: .agent)
            // A folder that cannot be made: under a regular file.
            let blocker = app.dataDirectory.appendingPathComponent("not-a-folder")
            try Data("x".utf8).write(to: blocker)
            let settings = AppConfig.BackupSettings(directory: blocker.appendingPathComponent("backups"), interval: 3600, keep: 3)
            await BackupSchedule(settings: settings, config: app.config, services: app.services, logger: app.app.logger).pass()
            let alerts = try await AgentNotification.query(on: app.store.db).filter(\.$kind == .backupFailed).all()
            #expect(alerts.count == 1 && alerts.first?.userID == workspace.adminID && alerts.first?.conversationNumber == 0)
            #expect(alerts.first?.excerpt.isEmpty == false)
            #expect(try await AgentNotification.query(on: app.store.db).filter(\.$userID == agentID).count() == 0)
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            let page = try await browser.get("/app/\(slug)/notifications")
            #expect(page.text.contains("Falló el respaldo programado") && !page.text.contains("/conversations/0"))
            #expect(try await app.request(.GET, "/metrics").text.contains("atiende_backup_failures_total"))
        }
    }
}
