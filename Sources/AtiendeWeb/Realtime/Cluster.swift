import AtiendeCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import SQLKit

/// What the instances of one deployment share. On SQLite there is one instance, and presence is what this process
/// holds (`PresenceHub`, `VisitorHub`). On PostgreSQL each instance also writes who is connected to it into tables it
/// renews every `heartbeat` (a row not renewed for `ttl` no longer counts, so a killed instance's people fade out), and
/// signals — an agent typing or reading, a visitor typing, an inbox changed — reach the other instances by NOTIFY.
final class Cluster: Sendable {
    static let channel = "atiende_cluster"
    static let heartbeat: TimeInterval = 15
    static let ttl: TimeInterval = 45

    enum Signal: Codable, Sendable, Equatable {
        /// An agent typing in (or looking at) a conversation, for the visitors connected elsewhere.
        case agentActivity(workspace: UUID, conversation: Int, typing: Bool, name: String)
        /// A live chat visitor typing, for the agents connected elsewhere.
        case visitorTyping(workspace: UUID, conversation: Int)
        /// An inbox's settings or secrets changed: cached copies are stale.
        case inboxChanged(UUID)
    }

    private struct Envelope: Codable { var from: UUID; var signal: Signal }

    let instanceID = UUID()
    let store: Store
    let logger: Logger
    private let handlers = NIOLockedValueBox<[@Sendable (Signal) -> Void]>([])

    init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Whether there can be other instances to share with.
    var isShared: Bool { store.dialect == .postgres }

    func onSignal(_ handler: @escaping @Sendable (Signal) -> Void) { handlers.withLockedValue { $0.append(handler) } }

    /// Tells the other instances (this one acts on its own signals directly).
    func publish(_ signal: Signal) {
        guard isShared, let data = try? JSONEncoder().encode(Envelope(from: instanceID, signal: signal)) else { return }
        let text = String(decoding: data, as: UTF8.self)
        let store = store, logger = logger
        Task {
            do { try await store.sql.raw("SELECT pg_notify(\(bind: Self.channel), \(bind: text))").run() }
            catch { logger.warning("could not tell the other instances", metadata: ["error": "\(error)"]) }
        }
    }

    /// A NOTIFY payload from `atiende_cluster`.
    func received(_ payload: String) {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(payload.utf8)), envelope.from != instanceID else { return }
        for handler in handlers.withLockedValue({ $0 }) { handler(envelope.signal) }
    }

    // MARK: Presence

    func agentJoined(_ connection: UUID, workspace: UUID, user: UUID) async {
        await write("""
            INSERT INTO agent_presence (connection_id, instance_id, workspace_id, user_id, seen_at)
            VALUES (\(bind: connection), \(bind: instanceID), \(bind: workspace), \(bind: user), \(bind: store.clock.now()))
            """)
    }

    func agentLeft(_ connection: UUID) async {
        await write("DELETE FROM agent_presence WHERE connection_id = \(bind: connection)")
    }

    func visitorJoined(_ connection: UUID, inbox: UUID, thread: String) async {
        await write("""
            INSERT INTO visitor_presence (connection_id, instance_id, inbox_id, thread, seen_at)
            VALUES (\(bind: connection), \(bind: instanceID), \(bind: inbox), \(bind: thread), \(bind: store.clock.now()))
            """)
    }

    func visitorLeft(_ connection: UUID) async {
        await write("DELETE FROM visitor_presence WHERE connection_id = \(bind: connection)")
    }

    /// Whether a member has the desk open on another instance.
    func agentsOnlineElsewhere(workspace: UUID) async -> Bool {
        await exists("""
            SELECT 1 AS found FROM agent_presence WHERE workspace_id = \(bind: workspace) AND instance_id <> \(bind: instanceID)
              AND seen_at > \(bind: store.clock.now().addingTimeInterval(-Self.ttl)) LIMIT 1
            """)
    }

    /// Whether the visitor of a thread has the chat open on another instance.
    func visitorOnlineElsewhere(inbox: UUID, thread: String) async -> Bool {
        await exists("""
            SELECT 1 AS found FROM visitor_presence WHERE inbox_id = \(bind: inbox) AND thread = \(bind: thread)
              AND instance_id <> \(bind: instanceID) AND seen_at > \(bind: store.clock.now().addingTimeInterval(-Self.ttl)) LIMIT 1
            """)
    }

    /// Renews this instance's rows every `heartbeat` and sweeps rows nobody renewed; removes its own when stopped.
    func run() async {
        guard isShared else { return }
        while !Task.isCancelled {
            let now = store.clock.now()
            for table in ["agent_presence", "visitor_presence"] {
                await write("UPDATE \(unsafeRaw: table) SET seen_at = \(bind: now) WHERE instance_id = \(bind: instanceID)")
                await write("DELETE FROM \(unsafeRaw: table) WHERE seen_at < \(bind: now.addingTimeInterval(-4 * Self.ttl))")
            }
            // Counts of keys nobody used again (no limit's window is longer than an hour).
            await write("DELETE FROM rate_events WHERE at < \(bind: now.addingTimeInterval(-3600))")
            try? await Task.sleep(for: .seconds(Self.heartbeat))
        }
        for table in ["agent_presence", "visitor_presence"] {
            await write("DELETE FROM \(unsafeRaw: table) WHERE instance_id = \(bind: instanceID)")
        }
    }

    /// Presence is best effort: a failed write is logged, never a failed connection.
    private func write(_ query: SQLQueryString) async {
        guard isShared else { return }
        do { try await store.sql.raw(query).run() }
        catch { logger.warning("presence not shared", metadata: ["error": "\(error)"]) }
    }

    private func exists(_ query: SQLQueryString) async -> Bool {
        guard isShared else { return false }
        do { return try await store.sql.raw(query).first() != nil }
        catch {
            logger.warning("presence of other instances unknown", metadata: ["error": "\(error)"])
            return false
        }
    }
}
