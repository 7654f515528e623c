import AtiendeCore
import Fluent
import Vapor

/// The workspace event stream: everything after `since`, then live events, over WebSocket or by polling.
enum EventsController {
    static let batch = 500

    static func since(_ req: Request) throws -> Int64 {
        guard let raw = req.query[String.self, at: "since"], !raw.isEmpty else { return 0 }
        guard let since = Int64(raw), since >= 0 else {
            throw AtiendeError.invalid("since must be an event id (a whole number, 0 or more)", code: "invalid_since")
        }
        return since
    }

    /// `GET …/events?since=`: a WebSocket upgrade streams; a plain GET returns one page (`limit`), for polling.
    static func events(_ req: Request) async throws -> Response {
        let upgrade = req.headers[.upgrade].contains { $0.lowercased() == "websocket" }
        return upgrade ? try await stream(req) : try await list(req)
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let start = try since(req)
        let events = try await EventLog.after(start, workspace: scope.workspaceID, limit: try req.pageLimit(default: 100), on: req.db)
        let body = "{\"data\":[" + events.map { EventWire.json($0) }.joined(separator: ",") + "],\"last_id\":\(events.last?.seq ?? start)}"
        let response = Response(status: .ok, body: .init(string: body))
        response.headers.contentType = .json
        return response
    }

    /// The WebSocket form. Sends every event after `since`, in order, then
    /// live ones as they commit (here or, on PostgreSQL, on any instance).
    static func stream(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let start = try since(req)
        let services = req.atiende
        let name = try await User.find(scope.userID, on: req.db)?.name ?? ""
        // The upgrade handler runs on the connection's event loop before any frame is read, so the text handler
        // is in place for the browser's first presence frame; the event stream itself runs in a task.
        let onUpgrade: @Sendable (Request, WebSocket) -> Void = { req, ws in
            ws.pingInterval = .seconds(25)  // keeps a quiet socket inside the server's idle timeout, and finds dead peers
            let (subscription, wakes) = services.hub.subscribe(to: scope.workspaceID)
            services.presence.join(subscription, userID: scope.userID, name: name, workspaceID: scope.workspaceID, socket: ws)
            Task { await services.cluster.agentJoined(subscription, workspace: scope.workspaceID, user: scope.userID) }
            ws.onText { _, text in services.presence.received(text, from: subscription) }
            // Routing knows who has the desk open: seen now, every minute while the socket stays, and when it closes.
            let seen = { @Sendable in
                do { try await services.availability.seen(scope.userID, workspace: scope.workspaceID) }
                catch { req.logger.warning("availability not recorded", metadata: ["error": "\(error)"]) }
            }
            let heartbeat = Task {
                while !Task.isCancelled && !ws.isClosed {
                    await seen()
                    try? await Task.sleep(for: .seconds(60))
                }
            }
            ws.onClose.whenComplete { _ in
                services.hub.unsubscribe(subscription)
                services.presence.leave(subscription)
                heartbeat.cancel()
                Task {
                    await services.cluster.agentLeft(subscription)
                    await seen()
                }
            }
            let logger = req.logger
            Task {
                var last = start
                var woken = wakes.makeAsyncIterator()
                do {
                    repeat {
                        // Drain everything committed after `last`, then wait to be woken.
                        while true {
                            let events = try await services.hub.events(after: last, workspace: scope.workspaceID, limit: batch, db: services.store.db)
                            for event in events {
                                try await ws.send(event.wire)
                                last = event.seq
                            }
                            if events.count < batch { break }
                        }
                    } while await woken.next() != nil && !ws.isClosed
                } catch {
                    logger.debug("event stream closed", metadata: ["error": "\(error)"])
                }
                services.hub.unsubscribe(subscription)
                if !ws.isClosed { try? await ws.close() }
            }
        }
        return req.webSocket(maxFrameSize: .init(integerLiteral: 1 << 16), onUpgrade: onUpgrade)
    }
}
