@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Compensation within authority: granted, requested, approved or rejected, told, sent to integrators, reported", .serialized)
struct CompensationTests {
    @Test("an agent gives up to their limit at once; above it a supervisor decides; the customer hears only of what is given; the integrator's webhook gets it")
    func authority() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { Task { try? await receiver.stop() } }
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agent, agentToken) = try await workspace.member(app, role: .agent)
            let (supervisor, supervisorToken) = try await workspace.member(app, role: .supervisor)
            let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c1", "name": "Ana"], text: "Llegó roto")).status == 200)
            let path = "\(workspace.path)/conversations/1/compensations"
            func give(_ amount: Any, _ token: String, kind: String = "discount", unit: String = "USD") async throws -> HTTPAnswer {
                try await app.request(.POST, path, token: token, json: ["kind": kind, "amount": amount, "unit": unit, "reason": "Llegó roto"])
            }
            func outgoing() async throws -> [String] {
                try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).sort(\.$createdAt).all().map(\.text)
            }
            // Refused, and nothing written.
            #expect(try await give(-5, agentToken).status == 400)
            #expect(try await give(10, agentToken, unit: "DOLARES").status == 400)
            #expect(try await give(2, agentToken, kind: "bonus_time").status == 400, "bonus time is in HOURS")
            #expect(try await app.request(.POST, path, token: agentToken, json: ["kind": "discount", "amount": 10, "unit": "USD", "reason": " "]).status == 400)
            #expect(try await Compensation.query(on: app.store.db).count() == 0)

            // Within the standard limit (200 USD a grant): given at once, the customer told, the integrator sent it.
            let first = try await give("49.90", agentToken)
            #expect(first.status == 201, "\(first.text)")
            #expect(try first.json()["status"] as? String == "granted" && first.json()["amount"] as? Double == 49.9)
            #expect(try await outgoing() == ["Lamentamos lo ocurrido. Te otorgamos un descuento de 49.90 USD. Motivo: Llegó roto."])
            try await OutboundTests.drain(app) {
                receiver.received.contains { String(decoding: $0.body, as: UTF8.self).contains("\"compensation.granted\"") }
            }
            let hook = try #require(receiver.received.first { String(decoding: $0.body, as: UTF8.self).contains("compensation.granted") })
            #expect(hook.headers.first(name: "X-Atiende-Signature")?.hasPrefix("sha256=") == true)

            // Above it: a request, the supervisors told, the customer not yet.
            let big = try await give(250, agentToken)
            #expect(try big.status == 202 && big.json()["status"] as? String == "pending")
            let requestID = try #require(try big.json()["id"] as? String)
            #expect(try await outgoing().count == 1)
            #expect(try await AgentNotification.query(on: app.store.db).filter(\.$userID == supervisor).filter(\.$kind == .compensationRequested).count() == 1)
            #expect(try await app.request(.POST, "\(workspace.path)/compensations/\(requestID)/approve", token: agentToken).status == 403)
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            #expect(try await app.request(.POST, "\(other.path)/compensations/\(requestID)/approve", token: other.token).status == 404)
            let approved = try await app.request(.POST, "\(workspace.path)/compensations/\(requestID)/approve", token: supervisorToken, json: ["note": "Cliente VIP"])
            #expect(try approved.status == 200 && approved.json()["status"] as? String == "approved", "\(approved.text)")
            #expect(try await app.request(.POST, "\(workspace.path)/compensations/\(requestID)/approve", token: supervisorToken).status == 409)
            #expect(try await outgoing().last == "Lamentamos lo ocurrido. Te otorgamos un descuento de 250 USD. Motivo: Llegó roto.")
            #expect(try await AgentNotification.query(on: app.store.db).filter(\.$userID == agent).filter(\.$kind == .compensationDecided).count() == 1)

            // A month's authority: 1,000 USD of one's own grants; the approved one does not count against it.
            for _ in 0..<5 { #expect(try await give(180, agentToken).status == 201) }
            let over = try await give(100, agentToken)
            #expect(over.status == 202, "49.90 + 5 × 180 + 100 is over 1,000 a month")
            let rejected = try await app.request(.POST, "\(workspace.path)/compensations/\(try over.json()["id"] as? String ?? "")/reject",
                                                 token: supervisorToken, json: ["note": "Ya se compensó"])
            #expect(try rejected.status == 200 && rejected.json()["status"] as? String == "rejected")
            #expect(try await outgoing().count == 7, "a rejected request is never told")

            // The limits are the admin's to set, and checked.
            #expect(try await app.request(.PUT, "\(workspace.path)/compensation-policy", token: agentToken, json: ["limits": []]).status == 403)
            #expect(try await app.request(.PUT, "\(workspace.path)/compensation-policy", token: workspace.token,
                                          json: ["limits": [["role": "agent", "unit": "USD", "per_grant": 500, "per_month": 100]]]).status == 400)
            let set = try await app.request(.PUT, "\(workspace.path)/compensation-policy", token: workspace.token,
                                            json: ["limits": [["role": "agent", "unit": "clp", "per_grant": "20000", "per_month": "100000"]]])
            #expect(set.status == 200, "\(set.text)")
            #expect(try await give(100, agentToken).status == 202, "no USD limit for agents any more")
            #expect(try await give(15_000, agentToken, unit: "CLP").status == 201)

            // Reported by agent and kind, and on the customer's history.
            let (browser, _) = try await Browser.signedIn(app, as: supervisor)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            let csv = try await browser.get("/app/\(slug)/reports?period=today&format=csv&table=compensations")
            #expect(csv.text.contains("agent,Descuento,USD,7,\"1199,90\",1,1"), "\(csv.text)")
            let conversation = try await browser.get("/app/\(slug)/conversations/1")
            #expect(conversation.text.contains("Compensaciones") && conversation.text.contains("pedida por agent, aprobada por supervisor"))
        }
    }
}
