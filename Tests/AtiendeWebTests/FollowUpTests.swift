@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Follow-ups and always answer: reminders, scheduled messages, unanswered conversations resurface", .serialized)
struct FollowUpTests {
    @Test("a reminder brings the conversation back to its agent, open, with a notice; a follow-up message goes unless the customer wrote")
    func followUps() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agentID, agentToken) = try await workspace.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app)
            for i in 1...2 { #expect(try await inbox.post(app, APIInbox.message("m\(i)", from: ["id": "c\(i)", "name": "Ana Soto \(i)"])).status == 200) }
            for n in 1...2 {
                #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(n)", token: workspace.token, json: ["status": "resolved"]).status == 200)
            }
            let soon = ISO8601.string(clock.now().addingTimeInterval(3600))
            let path = "\(workspace.path)/conversations/1/follow-ups"
            #expect(try await app.request(.POST, path, token: agentToken, json: ["kind": "reminder", "due_at": ISO8601.string(clock.now().addingTimeInterval(-60))]).status == 400)
            #expect(try await app.request(.POST, path, token: agentToken, json: ["kind": "reminder", "due_at": soon, "text": "Llamar a Ana"]).status == 201)
            #expect(try await app.request(.POST, path, token: agentToken,
                                          json: ["kind": "message", "due_at": soon, "text": "Hola {{contact.first_name}}, ¿quedó todo funcionando?"]).status == 201)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/2/follow-ups", token: agentToken,
                                          json: ["kind": "message", "due_at": soon, "text": "¿Todo bien?"]).status == 201)
            #expect(try await app.request(.POST, path, token: agentToken, json: ["kind": "message", "due_at": soon, "text": "Hola {{cliente}}"]).status == 400)
            // The customer of #2 writes meanwhile: its follow-up is not sent.
            clock.advance(by: 600)
            #expect(try await inbox.post(app, APIInbox.message("m3", from: ["id": "c2"], text: "Ya funciona, gracias"),
                                         timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            clock.advance(by: 3600)
            #expect(try await app.services.followUps.scan() == 3)
            #expect(try await app.services.followUps.scan() == 0)
            let first = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 1).first())
            #expect(first.status == .open && first.$assignee.id == agentID)
            let sent = try await Message.query(on: app.store.db).filter(\.$conversation.$id == first.requireID()).filter(\.$kind == .outgoing).all()
            #expect(sent.map(\.text) == ["Hola Ana, ¿quedó todo funcionando?"] && sent.first?.senderID == agentID)
            #expect(try await AgentNotification.query(on: app.store.db).filter(\.$userID == agentID).filter(\.$kind == .reminder).count() == 1)
            let second = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 2).first())
            #expect(try await Message.query(on: app.store.db).filter(\.$conversation.$id == second.requireID()).filter(\.$kind == .outgoing).count() == 0)
            let lines = try await Message.query(on: app.store.db).filter(\.$conversation.$id == second.requireID()).filter(\.$kind == .activity).all()
                .compactMap { JSON.decode(ConversationActivity.self, from: $0.text) }
            #expect(lines.contains { $0.change == .followUpSkipped })
        }
    }

    @Test("always answer is on from the start: a customer message unanswered for four hours resurfaces and alerts its agent, once")
    func alwaysAnswer() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agentID, agentToken) = try await workspace.member(app, role: .agent)
            let rules = try await app.request(.GET, "\(workspace.path)/automation-rules", token: workspace.token).array()
            #expect(rules.map { $0["name"] as? String } == ["Siempre responder"] && rules.first?["trigger"] as? String == "unanswered_for")
            let inbox = try await workspace.apiInbox(app)
            for i in 1...2 { #expect(try await inbox.post(app, APIInbox.message("m\(i)", from: ["id": "c\(i)"])).status == 200) }
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["assignee_id": agentID.uuidString]).status == 200)
            // #2 is answered in time; #1 is not.
            clock.advance(by: 3600)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/2/messages", token: agentToken, json: ["text": "Hola"]).status == 201)
            clock.advance(by: 3 * 3600 + 60)
            #expect(try await app.services.automation.scanTimers() == 1)
            #expect(try await app.services.automation.scanTimers() == 0)
            let first = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 1).first())
            #expect(abs(first.lastMessageAt.timeIntervalSince(clock.now())) < 1, "back at the top of the queue")
            #expect(try await AgentNotification.query(on: app.store.db).filter(\.$userID == agentID).filter(\.$kind == .unanswered).count() == 1)
            let lines = try await Message.query(on: app.store.db).filter(\.$conversation.$id == first.requireID()).filter(\.$kind == .activity).all()
                .compactMap { JSON.decode(ConversationActivity.self, from: $0.text) }
            #expect(lines.contains { $0.change == .resurfaced && $0.value == "241" }, "\(lines)")
        }
    }
}
