@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor

/// A WebSocket client of the event stream that records the events it receives.
final class EventClient: @unchecked Sendable {
    private let events = NIOLockedValueBox<[[String: Any]]>([])
    private var socket: WebSocket?

    var ids: [Int64] { events.withLockedValue { $0.compactMap { ($0["id"] as? NSNumber)?.int64Value } } }
    var received: [[String: Any]] { events.withLockedValue { $0 } }

    static func connect(_ app: TestApp, _ workspace: WorkspaceFixture, since: Int64? = nil, token: String? = nil) async throws -> EventClient {
        let client = EventClient()
        var url = "ws://127.0.0.1:\(app.port)\(workspace.path)/events"
        if let since { url += "?since=\(since)" }
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token ?? workspace.token)")
        try await WebSocket.connect(to: url, headers: headers, on: MultiThreadedEventLoopGroup.singleton) { ws in
            client.socket = ws
            ws.onText { _, text in
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
                client.events.withLockedValue { $0.append(object) }
            }
        }.get()
        // The connect future can complete before the upgrade hands us the socket; a frame sent before would be dropped.
        for _ in 0..<500 where client.socket == nil { try await Task.sleep(for: .milliseconds(10)) }
        return client
    }

    func close() async throws { try await socket?.close() }

    func sendText(_ text: String) async throws { try await socket?.send(text) }

    /// Waits until `count` events arrived (or fails after a while).
    func wait(for count: Int, seconds: Double = 10) async throws {
        try await wait(seconds: seconds) { $0.count >= count }
    }

    /// Waits until the events received so far satisfy `done` (or fails after a while).
    func wait(seconds: Double = 10, until done: ([[String: Any]]) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !done(received) && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    var types: [String] { received.compactMap { $0["type"] as? String } }
}

@Suite("Realtime event stream", .serialized)
struct RealtimeTests {
    @Test("a client receives events live, in order, with the payload")
    func live() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            // After the fixture's token (1, api_token.created) and the inbox's own event (2, inbox.created).
            let client = try await EventClient.connect(app, workspace, since: 2)
            try await inbox.post(app, APIInbox.message("1", from: ["id": "c", "name": "Ana"], text: "¿Dónde está mi pedido?"))
            try await client.wait { $0.contains { $0["type"] as? String == "message.created" } }
            // (The client's own connection is said first: its member is online.)
            #expect(client.types.first == "member.availability_changed")
            let types = client.received.compactMap { $0["type"] as? String }.filter { !$0.hasPrefix("member.") }
            #expect(types == ["contact.created", "conversation.created", "message.created"])
            #expect(client.ids == [3, 4, 5, 6])
            let message = (client.received.last?["payload"] as? [String: Any])?["message"] as? [String: Any]
            #expect(message?["text"] as? String == "¿Dónde está mi pedido?")
            try await client.close()
        }
    }

    @Test("a client that disconnects, misses 100 events and reconnects with its last id receives all 100")
    func resume() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let first = try await EventClient.connect(app, workspace)
            try await inbox.post(app, APIInbox.message("0", from: ["id": "c"]))
            // inbox.created, the member online (its connection, at any point), then the message's three.
            try await first.wait { $0.contains { $0["type"] as? String == "message.created" } && $0.count >= 5 }
            let last = try #require(first.ids.max())
            try await first.close()

            // 100 events while nobody listens: one new message each on an existing conversation.
            for i in 1...100 { #expect(try await inbox.post(app, APIInbox.message("m-\(i)", from: ["id": "c"])).status == 200) }

            let second = try await EventClient.connect(app, workspace, since: last)
            try await second.wait(for: 100)
            #expect(second.ids == Array((last + 1)...(last + 100)))
            // And it keeps receiving live ones after the backlog.
            try await inbox.post(app, APIInbox.message("m-101", from: ["id": "c"]))
            try await second.wait(for: 101)
            #expect(second.ids.last == last + 101)
            try await second.close()

            // The same through polling, for clients without WebSockets.
            let page = try await app.request(.GET, "\(workspace.path)/events?since=\(last)&limit=200", token: workspace.token)
            #expect((try page.json()["data"] as? [Any])?.count == 101)
        }
    }

    @Test("the stream refuses strangers and other workspaces' members")
    func refused() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let other = try await WorkspaceFixture.make(app, name: "Other")
            await #expect(throws: (any Error).self) { try await EventClient.connect(app, workspace, token: other.token) }
            await #expect(throws: (any Error).self) { try await EventClient.connect(app, workspace, token: "atd_nope") }
            let polled = try await app.request(.GET, "\(workspace.path)/events", token: other.token)
            #expect(polled.status == 404)
        }
    }

    @Test("with PostgreSQL, a second instance on the same database delivers events created by the first",
          .enabled(if: TestApp.postgresURL != nil, "needs ATIENDE_TEST_DATABASE_URL"))
    func acrossInstances() async throws {
        try await withApp { first in
            let second = try await TestApp.start(sharing: first)
            do {
                let workspace = try await WorkspaceFixture.make(first)
                let inbox = try await workspace.apiInbox(first)
                let client = try await EventClient.connect(second, workspace)
                try await Task.sleep(for: .milliseconds(300))  // the second instance's LISTEN is up
                try await inbox.post(first, APIInbox.message("1", from: ["id": "c"]))
                // Whatever else the workspace's setup announced, the message's events arrive, in order and without gaps.
                try await client.wait { $0.contains { $0["type"] as? String == "message.created" } }
                let types = client.types
                #expect(types.suffix(2) == ["conversation.created", "message.created"])
                let ids = client.ids
                #expect(ids == Array((ids.first ?? 0)...(ids.last ?? 0)))
                try await client.close()
            } catch {
                try? await second.app.asyncShutdown()
                throw error
            }
            try await second.app.asyncShutdown()
        }
    }
}
