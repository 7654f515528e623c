@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing
import Vapor

/// Several instances behind a load balancer, on one PostgreSQL: what people see must not depend on which instance
/// they reached.
@Suite("Instances sharing one PostgreSQL", .serialized, .enabled(if: TestApp.postgresURL != nil, "needs ATIENDE_TEST_DATABASE_URL"))
struct ClusterTests {
    /// Runs `body` with a second instance on the first one's database, stopped afterwards even when the body fails.
    static func withSecondInstance(_ first: TestApp, clock: any WallClock = SystemClock(), _ body: (TestApp) async throws -> Void) async throws {
        let second = try await TestApp.start(sharing: first, clock: clock)
        do {
            try await body(second)
        } catch {
            try? await second.app.asyncShutdown()
            throw error
        }
        try await second.app.asyncShutdown()
    }

    static func online(_ app: TestApp, _ inbox: ChatInbox, token: String?) async throws -> Bool {
        let (answer, _) = try await inbox.start(app, token: token)
        return (try answer.json()["availability"] as? [String: Any])?["online"] as? Bool ?? false
    }

    @Test("An agent on instance A: a visitor on instance B is told someone is online and sees them typing")
    func presenceAcrossInstances() async throws {
        try await withApp { a in
            try await Self.withSecondInstance(a) { b in
                let workspace = try await WorkspaceFixture.make(a)
                let inbox = try await ChatInbox.make(a, workspace)
                let visitor = try #require(try await inbox.start(b).1)
                #expect(try await Self.online(b, inbox, token: visitor.token) == false, "nobody has the desk open yet")

                let agent = try await EventClient.connect(a, workspace)
                _ = try await waitFor(seconds: 5) { try await Self.online(b, inbox, token: visitor.token) ? true : nil }

                let socket = try await VisitorSocket.connect(b, inbox, visitor)
                try await socket.send(["type": "message", "client_id": "c1", "text": "¿Hay alguien?"])
                #expect(try await socket.wait(for: "ack") != nil)
                try await Task.sleep(for: .milliseconds(300))  // B's LISTEN for signals is up
                try await agent.announce("typing", conversation: 1)
                let typing = try await socket.wait(for: "typing", seconds: 5)
                #expect(typing?["name"] == "Admin", "the typing agent on A reaches the visitor on B")

                // The agent closes the desk: B stops saying someone is online.
                try await agent.close()
                _ = try await waitFor(seconds: 5) { try await Self.online(b, inbox, token: visitor.token) ? nil : true }
            }
        }
    }

    @Test("The deadline scan runs on one instance at a time and moves to another when its instance stops answering")
    func leases() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { a in
            try await Self.withSecondInstance(a, clock: clock) { b in
                let onA = TaskLease(name: "test-scan", owner: UUID(), duration: 15)
                let onB = TaskLease(name: "test-scan", owner: UUID(), duration: 15)
                #expect(try await onA.claim(store: a.store))
                #expect(try await onB.claim(store: b.store) == false, "A holds it")
                clock.advance(by: 10)
                #expect(try await onA.claim(store: a.store), "A renews it while it runs")
                clock.advance(by: 10)
                #expect(try await onB.claim(store: b.store) == false, "renewed 10 s ago: still A's")
                // A is killed (it renews no more): once the lease runs out, B takes the task over.
                clock.advance(by: 6)
                #expect(try await onB.claim(store: b.store))
                #expect(try await onA.claim(store: a.store) == false, "and A, back, does not take it from B")
                // A clean stop hands it over at once.
                try await onB.release(store: b.store)
                #expect(try await onA.claim(store: a.store))
            }
        }
    }

    @Test("A rule written on one instance applies there at once, and on the others within a second")
    func rulesAcrossInstances() async throws {
        try await withApp { a in
            try await Self.withSecondInstance(a) { b in
                let workspace = try await WorkspaceFixture.make(a)
                let inbox = try await workspace.apiInbox(a)
                // Both have read the workspace's rules (the default one) and keep them compiled.
                #expect(try await inbox.post(a, APIInbox.message("m0", from: ["id": "c0"])).status == 200)
                #expect(try await inbox.post(b, APIInbox.message("m1", from: ["id": "c1"])).status == 200)
                _ = try await AutomationTests.rule(a, workspace, ["name": "Etiquetar", "trigger": "message_received",
                                                                  "actions": [["type": "add_label", "value": "visto"]]])
                #expect(try await inbox.post(a, APIInbox.message("m2", from: ["id": "c2"])).status == 200)
                try await Task.sleep(for: .seconds(RuleCache.trust + 0.2))
                #expect(try await inbox.post(b, APIInbox.message("m3", from: ["id": "c3"])).status == 200)
                let labels = try await Conversation.query(on: a.store.db).filter(\.$workspace.$id == workspace.id).sort(\.$number).all().map(\.labels)
                #expect(labels == [[], [], ["visto"], ["visto"]])
            }
        }
    }

    @Test("Rate limits hold across instances: guesses spread over A and B are counted together")
    func rateLimitsAcrossInstances() async throws {
        try await withApp { a in
            try await Self.withSecondInstance(a) { b in
                _ = try await AccountSecurityTests.workspace(a, name: "Tienda", email: "ana@example.com")
                var statuses: [Int] = []
                for attempt in 0..<(SignInThrottle.perSourceAndAccount + 1) {
                    let browser = Browser(attempt.isMultiple(of: 2) ? a : b)
                    statuses.append(try await AccountSecurityTests.signIn(browser, "ana@example.com", "wrong guess \(attempt)"))
                }
                #expect(statuses.dropLast().allSatisfy { $0 == 401 } && statuses.last == 429, "\(statuses)")
                // The same on the other instance: the guessing address waits there too.
                #expect(try await AccountSecurityTests.signIn(Browser(b), "ana@example.com", AccountSecurityTests.password) == 429)
            }
        }
    }
}
