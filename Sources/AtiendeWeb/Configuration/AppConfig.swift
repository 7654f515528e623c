import AtiendeChannels
import AtiendeCore
import AtiendeNetwork
import Foundation

/// Everything Atiende reads from the environment, read once at start-up. A malformed value stops start-up
/// with a message that names the variable.
public struct AppConfig: Sendable {
    public enum DatabaseTarget: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    public var database: DatabaseTarget
    public var dataDirectory: URL
    public var secretKey: String
    public var publicURL: String?
    public var runJobs: Bool
    public var jobConcurrency: Int
    public var jobBackoffSeconds: Double
    public var maxBodyBytes: Int
    public var attachmentMaxBytes: Int
    public var webhookTimeoutSeconds: Int
    /// A client connection with nothing read or written for this long is closed (unfinished headers, idle sockets).
    public var idleTimeoutSeconds: Int
    /// Live chat WebSockets one address may hold, and this instance in all.
    public var widgetSocketsPerAddress: Int
    public var widgetSocketsTotal: Int
    /// How long a live chat reply may stay unread before it is mailed to a visitor who left an email.
    public var widgetAwayMailSeconds: Int
    /// A member with no browser connected for this long is offline to routing, whatever they chose.
    public var offlineAfterSeconds: Int
    /// Whether report metrics are recorded as things happen (off only to measure what recording costs; `atiende metrics
    /// rebuild` fills the rollups in afterwards).
    public var recordMetrics: Bool = true
    /// The SMTP/LMTP receiver for a mail server to relay to; 0 = off.
    public var mailPort: Int
    public var mailHost: String
    /// How often IMAP mailboxes are polled, in seconds.
    public var imapPollSeconds: Int
    /// The SMTP server for the instance's own mail (notifications, chat replies to visitors who left); nil = none.
    public var systemMail: SystemMail?
    /// What workspace settings may connect to: never internal addresses but those `ATIENDE_ALLOW_PRIVATE_TARGETS` names.
    public var outbound: OutboundGuard
    /// Reverse proxies whose `X-Forwarded-Proto`/`X-Forwarded-Host` say how people reach us (when no public URL is set).
    public var trustedProxies: AddressRanges
    /// Scheduled backups in `serve` (`ATIENDE_BACKUP_DIR`); nil = none.
    public var backups: BackupSettings?
    /// Channels added to the built-in ones (`ChannelRegistry`), each made with the instance's outbound HTTP.
    public var extraChannels: [@Sendable (ProviderHTTP) -> any ChannelDescriptor] = []

    public struct BackupSettings: Sendable, Equatable {
        public var directory: URL
        public var interval: TimeInterval
        /// How many archives are kept there (the oldest go first).
        public var keep: Int
    }

    public struct ConfigError: Error, CustomStringConvertible {
        public let variable: String
        public let problem: String
        public var description: String { "\(variable): \(problem)" }
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfig {
        func value(_ name: String) -> String? {
            guard let raw = env[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        func int(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
            guard let raw = value(name) else { return fallback }
            guard let parsed = Int(raw), range.contains(parsed) else {
                throw ConfigError(variable: name, problem: "'\(raw)' is not a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return parsed
        }
        func bool(_ name: String, default fallback: Bool) throws -> Bool {
            guard let raw = value(name)?.lowercased() else { return fallback }
            switch raw {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw ConfigError(variable: name, problem: "'\(raw)' is not true or false")
            }
        }

        let dataDirectory = URL(fileURLWithPath: value("ATIENDE_DATA_DIR") ?? "data", isDirectory: true).standardizedFileURL
        let database: DatabaseTarget
        if let url = value("DATABASE_URL") {
            if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
                guard URL(string: url)?.host != nil else {
                    throw ConfigError(variable: "DATABASE_URL", problem: "'\(url)' is not a valid postgres:// URL")
                }
                database = .postgres(url: url)
            } else if url.hasPrefix("sqlite://") || url.hasPrefix("sqlite:") {
                let path = url.replacingOccurrences(of: "sqlite://", with: "").replacingOccurrences(of: "sqlite:", with: "")
                guard !path.isEmpty else { throw ConfigError(variable: "DATABASE_URL", problem: "sqlite URL has no file path") }
                database = .sqlite(path: path)
            } else {
                throw ConfigError(variable: "DATABASE_URL", problem: "must start with postgres:// or sqlite://")
            }
        } else {
            database = .sqlite(path: dataDirectory.appendingPathComponent("atiende.sqlite").path)
        }

        let secretKey: String
        if let key = value("ATIENDE_SECRET_KEY") {
            guard SecretBox(base64Key: key) != nil else {
                throw ConfigError(variable: "ATIENDE_SECRET_KEY", problem: "must be 32 bytes in base64 (openssl rand -base64 32)")
            }
            secretKey = key
        } else {
            secretKey = try Self.localSecretKey(in: dataDirectory)
        }

        if let url = value("ATIENDE_PUBLIC_URL"), URL(string: url)?.scheme == nil {
            throw ConfigError(variable: "ATIENDE_PUBLIC_URL", problem: "'\(url)' is not an absolute URL")
        }

        var systemMail: SystemMail?
        if let url = value("ATIENDE_SMTP_URL") {
            systemMail = try SystemMail.parse(url: url, from: value("ATIENDE_MAIL_FROM") ?? "")
        }

        let outbound: OutboundGuard
        do {
            outbound = try OutboundGuard(allowing: value("ATIENDE_ALLOW_PRIVATE_TARGETS"))
        } catch {
            throw ConfigError(variable: "ATIENDE_ALLOW_PRIVATE_TARGETS", problem: "\(error)")
        }

        let trustedProxies: AddressRanges
        do {
            trustedProxies = try AddressRanges(value("ATIENDE_TRUSTED_PROXIES"))
        } catch {
            throw ConfigError(variable: "ATIENDE_TRUSTED_PROXIES", problem: "\(error)")
        }

        var backups: BackupSettings?
        if let folder = value("ATIENDE_BACKUP_DIR") {
            backups = BackupSettings(directory: URL(fileURLWithPath: folder, isDirectory: true).standardizedFileURL,
                                     interval: TimeInterval(try int("ATIENDE_BACKUP_INTERVAL_HOURS", default: 24, range: 1...720) * 3600),
                                     keep: try int("ATIENDE_BACKUP_KEEP", default: 7, range: 1...1000))
        }

        var config = AppConfig(
            database: database,
            dataDirectory: dataDirectory,
            secretKey: secretKey,
            publicURL: value("ATIENDE_PUBLIC_URL"),
            runJobs: try bool("ATIENDE_RUN_JOBS", default: true),
            jobConcurrency: try int("ATIENDE_JOB_CONCURRENCY", default: 8, range: 1...256),
            jobBackoffSeconds: Double(try int("ATIENDE_JOB_BACKOFF_MS", default: 5000, range: 1...3_600_000)) / 1000,
            maxBodyBytes: try int("ATIENDE_MAX_BODY_MB", default: 40, range: 1...1024) * 1024 * 1024,
            attachmentMaxBytes: try int("ATIENDE_ATTACHMENT_MAX_MB", default: 25, range: 1...1024) * 1024 * 1024,
            webhookTimeoutSeconds: try int("ATIENDE_WEBHOOK_TIMEOUT_SECONDS", default: 15, range: 1...300),
            idleTimeoutSeconds: try int("ATIENDE_IDLE_TIMEOUT_SECONDS", default: 60, range: 1...3600),
            widgetSocketsPerAddress: try int("ATIENDE_WIDGET_SOCKETS_PER_ADDRESS", default: 50, range: 1...1_000_000),
            widgetSocketsTotal: try int("ATIENDE_WIDGET_SOCKETS_MAX", default: 20_000, range: 1...1_000_000),
            widgetAwayMailSeconds: try int("ATIENDE_WIDGET_AWAY_MAIL_SECONDS", default: 60, range: 1...86_400),
            offlineAfterSeconds: try int("ATIENDE_OFFLINE_AFTER_SECONDS", default: 300, range: 30...86_400),
            recordMetrics: try bool("ATIENDE_RECORD_METRICS", default: true),
            mailPort: try int("ATIENDE_MAIL_PORT", default: 0, range: 0...65535),
            mailHost: value("ATIENDE_MAIL_HOST") ?? "127.0.0.1",
            imapPollSeconds: try int("ATIENDE_IMAP_POLL_SECONDS", default: 60, range: 1...86_400),
            systemMail: systemMail,
            outbound: outbound,
            trustedProxies: trustedProxies)
        config.backups = backups
        return config
    }

    /// With no key configured, a single-machine install keeps one in its data folder (mode 0600).
    static func localSecretKey(in directory: URL) throws -> String {
        let file = directory.appendingPathComponent("secret.key")
        if let existing = try? String(contentsOf: file, encoding: .utf8), SecretBox(base64Key: existing) != nil {
            return existing.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let key = SecretBox.generateBase64Key()
            try Data(key.utf8).write(to: file, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            return key
        } catch {
            throw ConfigError(variable: "ATIENDE_SECRET_KEY", problem: "not set, and \(file.path) could not be written: \(error)")
        }
    }
}
