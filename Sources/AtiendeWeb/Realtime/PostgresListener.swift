import AtiendeCore
import FluentPostgresDriver
import Foundation
import Logging
import NIOCore

/// Keeps one connection LISTENing on a channel, so what other instances NOTIFY reaches this one: committed events
/// (`atiende_events`) and the cluster's signals (`atiende_cluster`). Reconnects with back-off and calls `connected`
/// each time, so a listener can catch up on what it may have missed.
struct PostgresListener: Sendable {
    let url: String
    let channel: String
    let eventLoop: any EventLoop
    let logger: Logger
    let connected: @Sendable () -> Void
    let received: @Sendable (String) -> Void

    /// Events: a notification names a workspace whose streams should read on.
    static func events(url: String, hub: EventHub, eventLoop: any EventLoop, logger: Logger) -> PostgresListener {
        PostgresListener(url: url, channel: "atiende_events", eventLoop: eventLoop, logger: logger, connected: { hub.notifyAll() }) { payload in
            if let workspaceID = UUID(uuidString: payload) { hub.notify(workspaceID) }
        }
    }

    func run() async {
        var delay: Double = 0.5
        while !Task.isCancelled {
            do {
                let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
                let connection = try await PostgresConnection.connect(
                    on: eventLoop, configuration: configuration, id: 0, logger: logger).get()
                defer { Task { try? await connection.close().get() } }
                try await connection.listen(on: channel) { notifications in
                    connected()
                    delay = 0.5
                    for try await notification in notifications { received(notification.payload) }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("listener connection lost, retrying", metadata: ["channel": "\(channel)", "error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay * 2, 10)
        }
    }
}
