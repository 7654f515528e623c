@testable import AtiendeCore
@testable import AtiendeWeb
import Foundation
import SQLKit
import Testing

@Suite("The inbox's counts are kept by the database")
struct InboxCountsTests {
    /// The counts as the inbox computed them before the triggers, by grouping the open conversations: the reference the
    /// kept counts must equal (it shares no SQL with `InboxCounts`).
    static func grouped(_ workspaceID: UUID, on sql: any SQLDatabase) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try await sql.raw("""
            SELECT inbox_id, team_id, assignee_id, COUNT(*) AS n FROM conversations
            WHERE workspace_id = \(bind: workspaceID) AND status = 'open' GROUP BY inbox_id, team_id, assignee_id
            """).all() {
            let n = try row.decode(column: "n", as: Int.self)
            counts["all", default: 0] += n
            counts["inbox:" + (try row.decode(column: "inbox_id", as: UUID.self)).uuidString.lowercased(), default: 0] += n
            if let team = try row.decode(column: "team_id", as: UUID?.self) { counts["team:" + team.uuidString.lowercased(), default: 0] += n }
            let assignee = try row.decode(column: "assignee_id", as: UUID?.self)
            counts[assignee.map { "assignee:" + $0.uuidString.lowercased() } ?? "unassigned", default: 0] += n
        }
        let labels: SQLQueryString = sql.dialect.name == "postgresql"
            ? "SELECT label, COUNT(*) AS n FROM conversations, unnest(labels) AS label WHERE workspace_id = \(bind: workspaceID) AND status = 'open' GROUP BY label"
            : "SELECT j.value AS label, COUNT(*) AS n FROM conversations, json_each(conversations.labels) AS j WHERE workspace_id = \(bind: workspaceID) AND status = 'open' GROUP BY j.value"
        for row in try await sql.raw(labels).all() {
            counts["label:" + (try row.decode(column: "label", as: String.self)), default: 0] += try row.decode(column: "n", as: Int.self)
        }
        return counts
    }

    @Test("after every change of a random history, the counts kept equal the counts computed from the conversations")
    func randomHistory() async throws {
        try await withApp { app in
            // setup: two workspaces, two inboxes, two people and a team each. ATIENDE_TEST_SEED replays a failing history.
            let seed = ProcessInfo.processInfo.environment["ATIENDE_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64(Date().timeIntervalSince1970)
            var random = SeededRandom(seed: seed)
            let workspaces = [try await WorkspaceFixture.make(app, name: "Uno"), try await WorkspaceFixture.make(app, name: "Dos")]
            var inboxes: [[APIInbox]] = []
            var people: [[UUID?]] = []
            var teams: [[UUID?]] = []
            for workspace in workspaces {
                inboxes.append([try await workspace.apiInbox(app, name: "ERP"), try await workspace.apiInbox(app, name: "Tienda")])
                let (agent, _) = try await workspace.member(app, role: .agent)
                people.append([nil, workspace.adminID, agent])
                let team = try await app.services.teams.create(name: "Ventas", members: [agent], workspace: workspace.id, actor: workspace.adminID)
                teams.append([nil, try team.requireID()])
            }
            let statuses = ["open", "pending", "resolved", "open"]
            let labels = ["vip", "factura", "urgente"]
            var posted = [0, 0]
            func check(_ step: String) async throws {
                for workspace in workspaces {
                    let reference = try await Self.grouped(workspace.id, on: app.store.sql)
                    #expect(try await InboxCounts.kept(workspace: workspace.id, on: app.store.sql) == reference, "seed \(seed), \(step)")
                    _ = try await app.store.write { tx in try await InboxCounts.fold(on: tx.sql) }
                    #expect(try await InboxCounts.kept(workspace: workspace.id, on: app.store.sql) == reference, "folded: seed \(seed), \(step)")
                }
            }
            // act: customers write, and agents change conversations, at random.
            for step in 1...90 {
                let w = Int.random(in: 0...1, using: &random)
                let workspace = workspaces[w]
                if posted[w] == 0 || Int.random(in: 0...2, using: &random) == 0 {
                    // A customer writes: a new conversation, or one of theirs again (which reopens it if it was resolved).
                    let inbox = inboxes[w][Int.random(in: 0...1, using: &random)]
                    let customer = Int.random(in: 0...5, using: &random)
                    let answer = try await inbox.post(app, APIInbox.message("m-\(step)", from: ["id": "c-\(customer)"], text: "paso \(step)"))
                    #expect(answer.status == 200, "\(answer.text)")
                    posted[w] += 1
                } else {
                    let number = try await app.store.sql.raw("""
                        SELECT number FROM conversations WHERE workspace_id = \(bind: workspace.id) ORDER BY number
                        """).all().map { try $0.decode(column: "number", as: Int.self) }.randomElement(using: &random)!
                    var change: [String: Any] = [:]
                    switch Int.random(in: 0...3, using: &random) {
                    case 0: change["status"] = statuses.randomElement(using: &random)!
                    case 1: change["assignee_id"] = people[w].randomElement(using: &random)!.map { $0.uuidString as Any } ?? NSNull()
                    case 2: change["labels"] = labels.filter { _ in Bool.random(using: &random) }
                    default: change["team_id"] = teams[w].randomElement(using: &random)!.map { $0.uuidString as Any } ?? NSNull()
                    }
                    let answer = try await app.request(.PATCH, "\(workspace.path)/conversations/\(number)", token: workspace.token, json: change)
                    #expect(answer.status == 200, "\(change): \(answer.text)")
                }
                // assert
                if step % 15 == 0 { try await check("step \(step)") }
            }
            // A deleted team leaves its conversations (the foreign key sets their team to none); history written in bulk,
            // most of it resolved; counts lost and rebuilt.
            let team = try #require(try await Team.find(teams[0][1], on: app.store.db))
            try await app.services.teams.delete(team, actor: workspaces[0].adminID)
            try await check("team deleted")
            try await SyntheticHistory.write(60, workspace: workspaces[1].id, inboxes: [(inboxes[1][0].id, .api)], agents: [workspaces[1].adminID],
                                             store: app.store, openPercent: 30, chunk: 25)
            try await check("bulk history")
            try await app.store.sql.raw("DELETE FROM conversation_counts").run()
            try await app.store.write { tx in try await InboxCounts.rebuild(workspace: workspaces[1].id, on: tx.sql) }
            #expect(try await InboxCounts.kept(workspace: workspaces[0].id, on: app.store.sql).isEmpty, "only the workspace asked for")
            #expect(try await InboxCounts.kept(workspace: workspaces[1].id, on: app.store.sql) == (try await Self.grouped(workspaces[1].id, on: app.store.sql)))
            try await app.store.write { tx in try await InboxCounts.rebuild(on: tx.sql) }
            try await check("rebuilt")
            // What the sidebar reads, against the conversations themselves.
            let workspace = workspaces[0]
            let counts = try await app.services.inbox.counts(workspace: workspace.id, user: workspace.adminID)
            let open = try await app.store.sql.raw("""
                SELECT COUNT(*) AS n, SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END) AS unassigned,
                       SUM(CASE WHEN assignee_id = \(bind: workspace.adminID) THEN 1 ELSE 0 END) AS mine
                FROM conversations WHERE workspace_id = \(bind: workspace.id) AND status = 'open'
                """).first()!
            #expect(counts.views[.all] ?? 0 == (try open.decode(column: "n", as: Int.self)))
            #expect(counts.views[.unassigned] ?? 0 == (try open.decode(column: "unassigned", as: Int?.self) ?? 0))
            #expect(counts.views[.mine] ?? 0 == (try open.decode(column: "mine", as: Int?.self) ?? 0))
            #expect(counts.inboxes.values.reduce(0, +) == counts.views[.all] ?? 0)
            #expect((counts.views[.all] ?? 0) > 0, "seed \(seed): the history left open conversations to count")
        }
    }
}
