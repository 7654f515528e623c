import AsyncHTTPClient
import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import FluentPostgresDriver
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Vapor

/// A running Atiende on a free loopback port with a fresh database of its own: an SQLite file, or a new
/// PostgreSQL database when `ATIENDE_TEST_DATABASE_URL` is set.
final class TestApp: @unchecked Sendable {
    let app: Application
    let port: Int
    let dataDirectory: URL
    private let dropDatabase: (@Sendable () async throws -> Void)?

    var services: AtiendeServices { app.atiende }
    var store: Store { app.atiende.store }
    var base: String { "http://127.0.0.1:\(port)" }

    static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["ATIENDE_TEST_DATABASE_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// Starts an app. `sharing` runs a second instance on the first one's database (PostgreSQL only).
    static func start(sharing other: TestApp? = nil, clock: any WallClock = SystemClock(), runJobs: Bool = false,
                      backoffMilliseconds: Int = 20, environment: [String: String] = [:], restarting previous: TestApp? = nil,
                      log: (@Sendable (Data) -> Void)? = nil,
                      channels: [@Sendable (ProviderHTTP) -> any ChannelDescriptor] = []) async throws -> TestApp {
        let directory = previous?.dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("atiende-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var env = ["ATIENDE_DATA_DIR": directory.path, "ATIENDE_JOB_BACKOFF_MS": String(backoffMilliseconds),
                   "ATIENDE_RUN_JOBS": runJobs ? "true" : "false", "ATIENDE_WEBHOOK_TIMEOUT_SECONDS": "5",
                   // The tests' stand-ins and mail servers are on loopback; the guard's own tests start without this.
                   "ATIENDE_ALLOW_PRIVATE_TARGETS": "*"]
        env.merge(environment) { $1 }
        var drop: (@Sendable () async throws -> Void)? = previous?.dropDatabase
        if let previous {
            env["DATABASE_URL"] = previous.databaseURL
        } else if let other {
            env["DATABASE_URL"] = other.databaseURL
            // Instances of one deployment share the key that seals channel secrets.
            env["ATIENDE_SECRET_KEY"] = other.config.secretKey
        } else if let admin = postgresURL {
            let name = "atiende_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
            do { try await Self.postgres(admin, "CREATE DATABASE \(name)") } catch { throw StartFailure(error) }
            env["DATABASE_URL"] = Self.replacingDatabase(in: admin, with: name)
            drop = { try await Self.postgres(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        }
        var config = try AppConfig.fromEnvironment(env)
        config.extraChannels = channels
        let app = try await Application.make(Environment(name: "testing", arguments: ["atiende"]))
        app.logger.logLevel = .warning
        if let log {
            // Everything the app logs, at every level, through the same redaction as production logs.
            app.logger = Logger(label: "atiende") { RedactingLogHandler(StructuredLogHandler(logLevel: .trace, label: $0, write: log)) }
            app.logger.logLevel = .trace
            app.http.server.configuration.logger = app.logger
        }
        do {
            try await configure(app, config: config, clock: clock)
            if other == nil && previous == nil { try await SchemaMigration.run(app) }
            useBackgroundWork(app)
            app.http.server.configuration.hostname = "127.0.0.1"
            app.http.server.configuration.port = 0
            try await app.startup()
            guard let port = app.http.server.shared.localAddress?.port else { throw AtiendeError(.unavailable, "server did not bind") }
            return TestApp(app: app, port: port, dataDirectory: directory, config: config, drop: drop)
        } catch {
            try? await app.asyncShutdown()
            try? await drop?()
            throw StartFailure(error)
        }
    }

    /// Why an app did not start, in full: PostgresNIO's errors hide their details from `description`.
    struct StartFailure: Error, CustomStringConvertible {
        let description: String
        init(_ error: any Error) { description = "the test app did not start: " + String(reflecting: error) }
    }

    let config: AppConfig
    var databaseURL: String? {
        if case .postgres(let url) = config.database { return url }
        return nil
    }

    private init(app: Application, port: Int, dataDirectory: URL, config: AppConfig, drop: (@Sendable () async throws -> Void)?) {
        self.app = app
        self.port = port
        self.dataDirectory = dataDirectory
        self.config = config
        self.dropDatabase = drop
    }

    /// Stops this instance (data kept) and starts a new one on the same database, as after a restart.
    func restart(clock: any WallClock = SystemClock(), runJobs: Bool = false) async throws -> TestApp {
        try await app.asyncShutdown()
        return try await TestApp.start(clock: clock, runJobs: runJobs, restarting: self)
    }

    func stop() async throws {
        try await app.asyncShutdown()
        try? await dropDatabase?()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }

    static func postgres(_ url: String, _ statement: String) async throws {
        let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                                              configuration: configuration, id: 1, logger: Logger(label: "test"))
        defer { Task { try? await connection.close().get() } }
        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "test"))
    }
}

/// Runs `body` with a started app and stops it afterwards, even when the body fails.
func withApp(clock: any WallClock = SystemClock(), runJobs: Bool = false, environment: [String: String] = [:],
             channels: [@Sendable (ProviderHTTP) -> any ChannelDescriptor] = [],
             _ body: (TestApp) async throws -> Void) async throws {
    let app = try await TestApp.start(clock: clock, runJobs: runJobs, environment: environment, channels: channels)
    do {
        try await body(app)
    } catch {
        try await app.stop()
        throw error
    }
    try await app.stop()
}

/// A plain HTTP answer.
struct HTTPAnswer: Sendable {
    var status: Int
    var body: Data
    var headers: HTTPHeaders

    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw AtiendeError.invalid("not a JSON object: \(String(decoding: body, as: UTF8.self))")
        }
        return object
    }

    func array() throws -> [[String: Any]] {
        guard let array = try JSONSerialization.jsonObject(with: body) as? [[String: Any]] else {
            throw AtiendeError.invalid("not a JSON array: \(String(decoding: body, as: UTF8.self))")
        }
        return array
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

extension TestApp {
    @discardableResult
    func request(_ method: HTTPMethod, _ path: String, token: String? = nil, json: Any? = nil, raw: Data? = nil,
                 headers extra: [(String, String)] = []) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        } else if let raw {
            request.body = .bytes(ByteBuffer(bytes: raw))
        }
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return HTTPAnswer(status: Int(response.status.code), body: Data(body.readableBytesView), headers: response.headers)
    }
}
