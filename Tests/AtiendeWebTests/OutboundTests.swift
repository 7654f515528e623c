@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Agent replies and the job runner", .serialized)
struct OutboundTests {
    /// Runs due jobs until `done` holds or the time runs out.
    static func drain(_ app: TestApp, until done: @Sendable () async throws -> Bool) async throws {
        for _ in 0..<400 {
            try await app.services.jobs.runOnce()
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// A customer message, an agent reply to it, and the jobs run until the reply is marked failed.
    static func replyFailing(_ app: TestApp, _ receiver: WebhookReceiver) async throws -> WorkspaceFixture {
        let workspace = try await WorkspaceFixture.make(app)
        let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
        #expect(try await inbox.post(app, APIInbox.message("in-1", from: ["id": "c"])).status == 200)
        _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "hola"])
        try await drain(app) {
            try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus == .failed
        }
        return workspace
    }

    @Test("a reply is POSTed, signed, to the webhook and marked sent; a note is not sent")
    func replyDelivered() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { Task { try? await receiver.stop() } }
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
            #expect(try await inbox.post(app, APIInbox.message("in-1", from: ["id": "cliente-7", "name": "Ana"], thread: "t-1")).status == 200)

            let reply = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                              json: ["text": "¡Hola Ana! Ya revisamos tu pedido."])
            #expect(reply.status == 201, "\(reply.text)")
            #expect(try reply.json()["delivery_status"] as? String == "queued")
            let note = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                             json: ["text": "nota interna", "private": true])
            #expect(try note.json()["kind"] as? String == "note")

            try await Self.drain(app) { !receiver.received.isEmpty }
            let delivered = try #require(receiver.received.first)
            #expect(receiver.received.count == 1)
            // The signature verifies with the inbox secret, exactly like inbound posts.
            try APIChannel.verify(secret: inbox.secret, timestamp: delivered.headers.first(name: "X-Atiende-Timestamp"),
                                  signature: delivered.headers.first(name: "X-Atiende-Signature"), body: delivered.body, now: Date())
            let body = try #require(try JSONSerialization.jsonObject(with: delivered.body) as? [String: Any])
            #expect(body["text"] as? String == "¡Hola Ana! Ya revisamos tu pedido.")
            #expect((body["to"] as? [String: Any])?["id"] as? String == "cliente-7")
            #expect((body["conversation"] as? [String: Any])?["thread_id"] as? String == "t-1")

            let messages = try await app.request(.GET, "\(workspace.path)/conversations/1/messages", token: workspace.token)
            let outgoing = try #require((try messages.json()["data"] as? [[String: Any]])?.first { $0["kind"] as? String == "outgoing" })
            #expect(outgoing["delivery_status"] as? String == "sent")
            #expect(outgoing["provider_message_id"] as? String == "ext-1")
            let conversation = try await app.request(.GET, "\(workspace.path)/conversations/1", token: workspace.token)
            #expect(try conversation.json()["first_response_at"] is String)
            #expect(try await app.count(Job.self) == 0)
        }
    }

    @Test("temporary failures are retried with back-off until the webhook accepts")
    func retried() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [500, 503, 429])
        defer { Task { try? await receiver.stop() } }
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
            #expect(try await inbox.post(app, APIInbox.message("in-1", from: ["id": "c"])).status == 200)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                          json: ["text": "respuesta"]).status == 201)
            try await Self.drain(app) {
                try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus == .sent
            }
            #expect(receiver.received.count == 4)
            #expect(Set(receiver.received.compactMap { $0.headers.first(name: "Idempotency-Key") }).count == 1)
            let message = try #require(try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first())
            #expect(message.deliveryStatus == .sent)
            #expect(message.deliveryError == nil)
        }
    }

    @Test("after the last try the job is dead-lettered, the message shows why, and it can be retried")
    func deadLettered() async throws {
        let receiver = try await WebhookReceiver.start(statuses: Array(repeating: 500, count: JobQueue.defaultMaxAttempts))
        defer { Task { try? await receiver.stop() } }
        try await withApp { app in
            let workspace = try await Self.replyFailing(app, receiver)
            #expect(receiver.received.count == JobQueue.defaultMaxAttempts)
            let message = try #require(try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first())
            #expect(message.deliveryStatus == .failed)
            #expect(message.deliveryError?.contains("500") == true)

            let failed = try await app.request(.GET, "\(workspace.path)/jobs/failed", token: workspace.token)
            let jobs = try failed.array()
            #expect(jobs.count == 1)
            #expect(jobs.first?["kind"] as? String == "channel.send")
            #expect((jobs.first?["last_error"] as? String)?.contains("500") == true)
            let events = try await Event.query(on: app.store.db).filter(\.$type == "job.dead_lettered").count()
            #expect(events == 1)

            // The page offers to send it again; sending it again while it is not failed is refused.
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let resendPath = "\(workspace.path)/conversations/1/messages/\(try message.requireID().uuidString.lowercased())/resend"
            let button = "/api/v1/workspaces/\(workspace.id.uuidString.lowercased())/conversations/1/messages/\(try message.requireID().uuidString.lowercased())/resend"
            #expect(try await browser.get("/app/\(slug)/conversations/1").text.contains("data-api=\"\(button)\""))

            // The receiver works again now: a retry delivers it.
            let retry = try await app.request(.POST, "\(workspace.path)/jobs/\(jobs.first?["id"] as? String ?? "")/retry", token: workspace.token)
            #expect(retry.status == 202)
            try await Self.drain(app) {
                try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus == .sent
            }
            #expect(try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus == .sent)
        }
    }

    @Test("a failed try leaves the reply queued and says so: retrying, which try of how many, and why, in the agent's language")
    func retryingShown() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [503])
        defer { Task { try? await receiver.stop() } }
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
            #expect(try await inbox.post(app, APIInbox.message("in-1", from: ["id": "c"])).status == 200)
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "hola"])
            try await Self.drain(app) { receiver.received.count >= 1 }
            let retrying = try await waitFor { try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).filter(\.$deliveryAttempt == 2).first() }
            #expect(retrying.deliveryStatus == .queued && retrying.deliveryErrorCode == "unreachable" && retrying.deliveryError?.contains("503") == true)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await browser.get("/app/\(slug)/conversations/1").text
            #expect(page.contains("Reintentando — intento 2 de \(JobQueue.defaultMaxAttempts)") && page.contains("No se pudo contactar al proveedor"))
            // The next try goes through: nothing of the failure is left.
            try await Self.drain(app) {
                try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus == .sent
            }
            let sent = try #require(try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first())
            #expect(sent.deliveryAttempt == nil && sent.deliveryError == nil && sent.deliveryErrorCode == nil)
        }
    }

    @Test("a 4xx from the webhook is permanent: dead-lettered at once")
    func permanentFailure() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [422])
        defer { Task { try? await receiver.stop() } }
        try await withApp { app in
            let workspace = try await Self.replyFailing(app, receiver)
            #expect(receiver.received.count == 1)
            let message = try #require(try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first())
            #expect(message.deliveryError?.contains("422") == true)
            // Sent again from the page's button: queued, the failure cleared, one more try made.
            let path = "\(workspace.path)/conversations/1/messages/\(try message.requireID().uuidString.lowercased())/resend"
            let resent = try await app.request(.POST, path, token: workspace.token)
            #expect(resent.status == 202)
            let queued = try #require(try await Message.find(message.id, on: app.store.db))
            #expect(queued.deliveryStatus == .queued && queued.deliveryError == nil)
            try await Self.drain(app) { receiver.received.count >= 2 }
            #expect(receiver.received.count == 2)
        }
    }

    @Test("a crashed worker's job runs again once its lock expires")
    func expiredLock() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            try await app.store.write { tx in
                try await JobQueue.enqueue(.wakeSnoozed, payload: WakePayload(conversationID: UUID(), until: tx.now),
                                           workspace: workspace.id, in: tx)
            }
            // A worker claims it and "dies".
            let claimed = try await JobQueue.claim(limit: 5, lease: 60, store: app.store)
            #expect(claimed.count == 1)
            #expect(try await JobQueue.claim(limit: 5, lease: 60, store: app.store).isEmpty)
            clock.advance(by: 61)
            let again = try await JobQueue.claim(limit: 5, lease: 60, store: app.store)
            #expect(again.map(\.id) == claimed.map(\.id))
            #expect(again.first?.attempts == 2)
        }
    }

    @Test("snoozed conversations wake up at their time")
    func snoozeWakes() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await inbox.post(app, APIInbox.message("1", from: ["id": "c"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            let until = ISO8601.string(clock.now().addingTimeInterval(3600))
            let snooze = try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                               json: ["status": "snoozed", "snoozed_until": until])
            #expect(snooze.status == 200, "\(snooze.text)")
            let past = try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                             json: ["status": "snoozed", "snoozed_until": "2001-01-01T00:00:00Z"])
            #expect(past.status == 400)
            try await app.services.jobs.runOnce()
            #expect(try await app.request(.GET, "\(workspace.path)/conversations/1", token: workspace.token).json()["status"] as? String == "snoozed")
            clock.advance(by: 3601)
            try await app.services.jobs.runOnce()
            #expect(try await app.request(.GET, "\(workspace.path)/conversations/1", token: workspace.token).json()["status"] as? String == "open")
        }
    }
}
