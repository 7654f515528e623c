import AtiendeCore
import FluentPostgresDriver
import Foundation
import Logging
import NIOCore

/// Keeps one connection LISTENing on `atiende_events`, so events committed by other instances reach this
/// instance's subscribers. Reconnects with back-off; after a reconnect it wakes everyone to re-read.
struct PostgresListener: Sendable {
    let url: String
    let hub: EventHub
    let eventLoop: any EventLoop
    let logger: Logger

    func run() async {
        var delay: Double = 0.5
        while !Task.isCancelled {
            do {
                let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
                let connection = try await PostgresConnection.connect(
                    on: eventLoop, configuration: configuration, id: 0, logger: logger).get()
                defer { Task { try? await connection.close().get() } }
                try await connection.listen(on: "atiende_events") { notifications in
                    hub.notifyAll()
                    delay = 0.5
                    for try await notification in notifications {
                        if let workspaceID = UUID(uuidString: notification.payload) { hub.notify(workspaceID) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("event listener connection lost, retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay * 2, 10)
        }
    }
}
