@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Routing: availability, capacity, round-robin, least-loaded, one owner, timers", .serialized)
struct RoutingTests {
    /// A workspace with `agents` members, each with a browser connected, and an API inbox with `policy`.
    struct Desk {
        var workspace: WorkspaceFixture
        var agents: [(id: UUID, token: String)]
        var inbox: APIInbox
    }

    static func desk(_ app: TestApp, agents count: Int, policy: [String: Any]) async throws -> Desk {
        let workspace = try await WorkspaceFixture.make(app)
        var agents: [(id: UUID, token: String)] = []
        for _ in 0..<count {
            let agent = try await workspace.member(app, role: .agent)
            try await app.services.availability.seen(agent.0, workspace: workspace.id)
            agents.append((agent.0, agent.1))
        }
        let inbox = try await workspace.apiInbox(app)
        let set = try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id)/assignment", token: workspace.token, json: policy)
        #expect(set.status == 200, "\(set.text)")
        return Desk(workspace: workspace, agents: agents, inbox: inbox)
    }

    static func owners(_ app: TestApp, _ workspace: WorkspaceFixture) async throws -> [UUID?] {
        try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).sort(\.$number).all().map(\.$assignee.id)
    }

    static func arrive(_ app: TestApp, _ desk: Desk, _ range: ClosedRange<Int>) async throws {
        for i in range {
            #expect(try await desk.inbox.post(app, APIInbox.message("m-\(i)", from: ["id": "c-\(i)", "name": "Cliente \(i)"])).status == 200)
        }
    }

    @Test("round-robin over 10 available agents gives each 100 ± 1 of 1,000 new conversations; the offline admin gets none")
    func roundRobin() async throws {
        try await withApp { app in
            let desk = try await Self.desk(app, agents: 10, policy: ["mode": "round_robin"])
            let inbox = try #require(try await Inbox.find(desk.inbox.id, on: app.store.db))
            for i in 1...1000 {
                _ = try await app.services.ingest.receive(InboundMessage(inboxID: desk.inbox.id, providerMessageID: "rr-\(i)",
                                                                         sender: .init(name: "C \(i)", identities: [(.external, "rr-\(i)")]), text: "Hola"),
                                                          in: inbox, countryCode: nil)
            }
            let owners = try await Self.owners(app, desk.workspace)
            #expect(owners.allSatisfy { $0 != nil })
            let counts = Dictionary(grouping: owners.compactMap { $0 }, by: { $0 }).mapValues(\.count)
            #expect(Set(counts.keys) == Set(desk.agents.map(\.id)), "the admin, with no browser connected, got none")
            #expect(counts.values.allSatisfy { (99...101).contains($0) }, "\(counts.values.sorted())")
        }
    }

    @Test("least-loaded never goes past a capacity; an agent freeing up takes the oldest waiting; busy and offline agents get none")
    func leastLoaded() async throws {
        try await withApp { app in
            let desk = try await Self.desk(app, agents: 4, policy: ["mode": "least_loaded"])
            let (a, b, busy, gone) = (desk.agents[0], desk.agents[1], desk.agents[2], desk.agents[3])
            for agent in [a, b] {
                #expect(try await app.request(.PUT, "\(desk.workspace.path)/users/\(agent.id)/routing", token: desk.workspace.token,
                                              json: ["capacity": ["api": 2], "languages": ["es"]]).status == 200)
            }
            #expect(try await app.request(.PUT, "\(desk.workspace.path)/users/\(busy.id)/availability", token: busy.token, json: ["status": "busy"]).status == 200)
            #expect(try await app.request(.PUT, "\(desk.workspace.path)/users/\(busy.id)/availability", token: a.token, json: ["status": "online"]).status == 403)
            // Gone: their last browser left longer ago than the offline time.
            try await app.store.write { tx in
                try await tx.sql.raw("UPDATE memberships SET last_seen_at = \(bind: Date().addingTimeInterval(-3600)) WHERE user_id = \(bind: gone.id)").run()
            }
            try await Self.arrive(app, desk, 1...6)
            var owners = try await Self.owners(app, desk.workspace)
            let counts = Dictionary(grouping: owners.compactMap { $0 }, by: { $0 }).mapValues(\.count)
            #expect(counts == [a.id: 2, b.id: 2], "\(counts)")
            #expect(owners[4] == nil && owners[5] == nil)
            let board = try await app.request(.GET, "\(desk.workspace.path)/availability", token: a.token).array()
            let mine = try #require(board.first { $0["user_id"] as? String == a.id.uuidString })
            #expect(mine["status"] as? String == "online" && (mine["open"] as? [String: Int]) == ["api": 2])
            #expect(board.first { $0["user_id"] as? String == gone.id.uuidString }?["status"] as? String == "offline")
            #expect(board.first { $0["user_id"] as? String == busy.id.uuidString }?["status"] as? String == "busy")

            // A resolves one: the oldest waiting (#5) is theirs, with its activity line.
            let first = try #require(owners.firstIndex(of: a.id)) + 1
            #expect(try await app.request(.PATCH, "\(desk.workspace.path)/conversations/\(first)", token: a.token, json: ["status": "resolved"]).status == 200)
            owners = try await Self.owners(app, desk.workspace)
            #expect(owners[4] == a.id && owners[5] == nil)
            let five = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 5).first())
            let lines = try await Message.query(on: app.store.db).filter(\.$conversation.$id == five.requireID()).filter(\.$kind == .activity).all()
            #expect(lines.contains { $0.senderType == .system && $0.text.contains("assignee") })
        }
    }

    @Test("a conversation waiting with nobody available is assigned when someone comes online")
    func comesOnline() async throws {
        try await withApp { app in
            let desk = try await Self.desk(app, agents: 1, policy: ["mode": "round_robin"])
            let agent = desk.agents[0]
            #expect(try await app.request(.PUT, "\(desk.workspace.path)/users/\(agent.id)/availability", token: agent.token, json: ["status": "away"]).status == 200)
            try await Self.arrive(app, desk, 1...2)
            #expect(try await Self.owners(app, desk.workspace) == [nil, nil])
            #expect(try await app.request(.PUT, "\(desk.workspace.path)/users/\(agent.id)/availability", token: agent.token, json: ["status": "online"]).status == 200)
            #expect(try await Self.owners(app, desk.workspace) == [agent.id, agent.id])
            let events = try await Event.query(on: app.store.db).filter(\.$type == "member.availability_changed").count()
            #expect(events == 3, "connected, away, back online")
        }
    }

    @Test("50 agents taking one conversation at once: one owner, one activity line, the rest told someone has it")
    func oneOwner() async throws {
        try await withApp { app in
            let desk = try await Self.desk(app, agents: 50, policy: ["mode": "manual"])
            try await Self.arrive(app, desk, 1...1)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for agent in desk.agents {
                    group.addTask { try await app.request(.POST, "\(desk.workspace.path)/conversations/1/claim", token: agent.token).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1 && statuses.filter { $0 == 409 }.count == 49, "\(statuses.sorted())")
            let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == desk.workspace.id).first())
            let lines = try await Message.query(on: app.store.db).filter(\.$conversation.$id == conversation.requireID()).filter(\.$kind == .activity).all()
            #expect(lines.count == 1 && conversation.$assignee.id != nil)
        }
    }

    @Test("no reply within the inbox's time: back to the queue and to someone else, with a line saying why; a live chat of an agent who left is handed on")
    func timers() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let desk = try await Self.desk(app, agents: 2, policy: ["mode": "round_robin", "no_reply_minutes": 10])
            try await Self.arrive(app, desk, 1...1)
            let first = try #require(try await Self.owners(app, desk.workspace)[0])
            let other = try #require(desk.agents.first { $0.id != first })
            let scanner = RoutingScanner(store: app.store, router: app.services.availability.router)
            clock.advance(by: 9 * 60)
            for agent in desk.agents { try await app.services.availability.seen(agent.id, workspace: desk.workspace.id) }
            #expect(try await scanner.scan() == 0)
            clock.advance(by: 2 * 60)
            #expect(try await scanner.scan() == 1)
            #expect(try await Self.owners(app, desk.workspace) == [other.id])
            let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == desk.workspace.id).first())
            let lines = try await Message.query(on: app.store.db).filter(\.$conversation.$id == conversation.requireID()).filter(\.$kind == .activity).all()
                .compactMap { JSON.decode(ConversationActivity.self, from: $0.text) }
            #expect(lines.contains(ConversationActivity(change: .requeued, value: first.uuidString)))
            // The new owner answers: no more deadline, nothing moves.
            #expect(try await app.request(.POST, "\(desk.workspace.path)/conversations/1/messages", token: other.token, json: ["text": "Hola"]).status == 201)
            clock.advance(by: 3600)
            for agent in desk.agents { try await app.services.availability.seen(agent.id, workspace: desk.workspace.id) }
            #expect(try await scanner.scan() == 0)
            #expect(try await Conversation.find(conversation.id, on: app.store.db)?.replyDueAt == nil)

            // A chat inbox that hands on after 2 minutes without the agent's browser.
            let chat = try await app.request(.POST, "\(desk.workspace.path)/inboxes", token: desk.workspace.token, json: ["name": "Chat", "channel": "webchat"])
            let chatID = try #require(try chat.json()["id"] as? String)
            #expect(try await app.request(.PUT, "\(desk.workspace.path)/inboxes/\(chatID)/assignment", token: desk.workspace.token,
                                          json: ["mode": "round_robin", "chat_handoff_minutes": 2]).status == 200)
            let chatInbox = try #require(try await Inbox.find(UUID(uuidString: chatID), on: app.store.db))
            _ = try await app.services.ingest.receive(InboundMessage(inboxID: chatInbox.requireID(), providerMessageID: "w-1",
                                                                     sender: .init(name: nil, identities: [(.visitor, "v-1")]), text: "¿Hola?"),
                                                      in: chatInbox, countryCode: nil)
            let chatOwner = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 2).filter(\.$workspace.$id == desk.workspace.id).first()?.$assignee.id)
            let stays = try #require(desk.agents.first { $0.id != chatOwner })
            clock.advance(by: 3 * 60)
            try await app.services.availability.seen(stays.id, workspace: desk.workspace.id)
            #expect(try await scanner.scan() == 1)
            #expect(try await Conversation.query(on: app.store.db).filter(\.$number == 2).filter(\.$workspace.$id == desk.workspace.id).first()?.$assignee.id == stays.id)
        }
    }

    @Test("who lets a conversation go does not get it back from routing for half an hour, not even from the scan")
    func releaseHold() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let desk = try await Self.desk(app, agents: 1, policy: ["mode": "round_robin"])
            let agent = desk.agents[0]
            try await Self.arrive(app, desk, 1...1)
            #expect(try await Self.owners(app, desk.workspace) == [agent.id])
            let released = try await app.request(.PATCH, "\(desk.workspace.path)/conversations/1", token: agent.token, json: ["assignee_id": NSNull()])
            #expect(released.status == 200, "\(released.text)")
            #expect(try await Self.owners(app, desk.workspace) == [nil])
            // The scan that hands out waiting conversations (every 10 s) keeps it from them too.
            let scanner = RoutingScanner(store: app.store, router: app.services.availability.router)
            clock.advance(by: 60)
            try await app.services.availability.seen(agent.id, workspace: desk.workspace.id)
            _ = try await scanner.scan()
            #expect(try await Self.owners(app, desk.workspace) == [nil])
            // Half an hour later, with nobody else, it is theirs again.
            clock.advance(by: Router.releaseHold)
            try await app.services.availability.seen(agent.id, workspace: desk.workspace.id)
            _ = try await scanner.scan()
            #expect(try await Self.owners(app, desk.workspace) == [agent.id])
        }
    }

    @Test("policies and routing refuse what does not belong: another workspace's team, a bad capacity, an unknown mode")
    func refusals() async throws {
        try await withApp { app in
            let desk = try await Self.desk(app, agents: 1, policy: ["mode": "manual"])
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            let team = try await app.request(.POST, "\(other.path)/teams", token: other.token, json: ["name": "Suyo"]).json()["id"] as? String ?? ""
            let path = "\(desk.workspace.path)/inboxes/\(desk.inbox.id)/assignment"
            #expect(try await app.request(.PUT, path, token: desk.workspace.token, json: ["mode": "round_robin", "team_id": team]).status == 404)
            #expect(try await app.request(.PUT, path, token: desk.workspace.token, json: ["mode": "randomly"]).status == 400)
            #expect(try await app.request(.PUT, path, token: desk.workspace.token, json: ["mode": "round_robin", "no_reply_minutes": 0]).status == 400)
            #expect(try await app.request(.PUT, path, token: desk.agents[0].token, json: ["mode": "round_robin"]).status == 403)
            let routing = "\(desk.workspace.path)/users/\(desk.agents[0].id)/routing"
            #expect(try await app.request(.PUT, routing, token: desk.workspace.token, json: ["capacity": ["api": -1]]).status == 400)
            #expect(try await app.request(.PUT, routing, token: desk.workspace.token, json: ["capacity": ["fax": 1]]).status == 400)
            #expect(try await app.request(.PUT, "\(other.path)/users/\(desk.agents[0].id)/routing", token: other.token, json: ["capacity": ["api": 1]]).status == 404)
            let policy = try await app.request(.GET, path, token: desk.agents[0].token).json()
            #expect(policy["mode"] as? String == "manual")
            // Its own team, with times: saved.
            let mine = try await app.request(.POST, "\(desk.workspace.path)/teams", token: desk.workspace.token, json: ["name": "Nivel 2"]).json()["id"] as? String ?? ""
            let saved = try await app.request(.PUT, path, token: desk.workspace.token,
                                              json: ["mode": "manual", "team_id": mine, "match_language": false, "chat_handoff_minutes": 1, "no_reply_minutes": 1])
            #expect(saved.status == 200, "\(saved.text)")
            // The panel's "any member" and the bulk bar's "apply a macro…" submit an empty value, not their label.
            let slug = try #require(try await Workspace.find(desk.workspace.id, on: app.store.db)).slug
            let (admin, _) = try await Browser.signedIn(app, as: desk.workspace.adminID)
            let settings = try await admin.get(SiteURL.settings(slug, .inboxes).path).text
            #expect(settings.contains(#"<select name="team_id" data-type="omit-empty"><option value>"#))
            #expect(try await app.request(.POST, "\(desk.workspace.path)/macros", token: desk.workspace.token,
                                          json: ["name": "M", "actions": ["add_labels": ["x"]]]).status == 201)
            #expect(try await admin.get("/app/\(slug)/inbox").text.contains(#"data-bulk-macro="1"><option value>"#))
        }
    }
}
