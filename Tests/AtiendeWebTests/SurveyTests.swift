@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Surveys: CSAT and NPS in the customer's channel, answers, detractors won back", .serialized)
struct SurveyTests {
    /// Runs due jobs until `done` holds.
    static func drain(_ app: TestApp, until done: @Sendable () async throws -> Bool) async throws {
        try await OutboundTests.drain(app, until: done)
    }

    static func survey(_ app: TestApp, number: Int) async throws -> Survey? {
        guard let conversation = try await Conversation.query(on: app.store.db).filter(\.$number == number).first() else { return nil }
        return try await Survey.query(on: app.store.db).filter(\.$conversationID == conversation.requireID()).sort(\.$createdAt, .descending).first()
    }

    @Test("on resolution the inbox's CSAT goes out in its channel; a reply '2, …' answers it without reopening, and the detractor gets a follow-up")
    func textAnswer() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { Task { try? await receiver.stop() } }
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let (agentID, agentToken) = try await workspace.member(app, role: .agent)
            let (supervisorID, _) = try await workspace.member(app, role: .supervisor)
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            let (stranger, _) = try await other.member(app, role: .agent)
            let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
            let policyPath = "\(workspace.path)/inboxes/\(inbox.id.uuidString)/survey"
            #expect(try await app.request(.GET, policyPath, token: agentToken).json()["kind"] is NSNull)
            #expect(try await app.request(.PUT, policyPath, token: agentToken, json: ["kind": "csat"]).status == 403)
            #expect(try await app.request(.PUT, policyPath, token: workspace.token, json: ["kind": "csat", "delay_minutes": 99_999]).status == 400)
            #expect(try await app.request(.PUT, policyPath, token: workspace.token, json: ["kind": "stars"]).status == 400)
            let foreign = try await app.request(.PUT, policyPath, token: workspace.token, json: ["kind": "csat", "detractor_user_id": stranger.uuidString])
            #expect(foreign.status == 404 && foreign.text.contains("member_not_found"))
            #expect(try await app.request(.GET, policyPath, token: agentToken).json()["kind"] is NSNull, "a refused policy changes nothing")
            let set = try await app.request(.PUT, policyPath, token: workspace.token,
                                            json: ["kind": "csat", "once_per_days": 30, "detractor_user_id": supervisorID.uuidString])
            #expect(try set.status == 200 && set.json()["kind"] as? String == "csat", "\(set.text)")

            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c1", "name": "Ana"], text: "No llega mi pedido")).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token,
                                          json: ["assignee_id": agentID.uuidString]).status == 200)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: agentToken, json: ["text": "Ya va en camino"]).status == 201)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: agentToken, json: ["status": "resolved"]).status == 200)
            try await Self.drain(app) { receiver.received.count >= 2 }
            let bodies = receiver.received.map { String(decoding: $0.body, as: UTF8.self) }
            #expect(bodies.contains { $0.contains("Responde con un número del 1") }, "\(bodies)")
            let sent = try #require(try await Self.survey(app, number: 1))
            #expect(sent.status == .sent && sent.agentID == agentID && sent.kind == .csat)

            // The agent lets go of it afterwards: the answer stays theirs.
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["assignee_id": NSNull()]).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("m2", from: ["id": "c1"], text: "2, tardaron mucho")).status == 200)
            let answered = try #require(try await Self.survey(app, number: 1))
            #expect(answered.status == .answered && answered.score == 2 && answered.comment == "tardaron mucho" && answered.agentID == agentID)
            let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 1).first())
            #expect(conversation.status == .resolved && conversation.waitingSince == nil, "an answer does not reopen the conversation")
            let followUp = try #require(try await FollowUp.query(on: app.store.db).filter(\.$conversationID == conversation.requireID()).first())
            #expect(followUp.userID == supervisorID && followUp.kind == .reminder && followUp.text == "CSAT 2/5: tardaron mucho")
            let listed = try await app.request(.GET, "\(workspace.path)/conversations/1/surveys", token: agentToken).array()
            #expect(listed.first?["score"] as? Int == 2 && listed.first?["first_score"] as? Int == 2)

            // Another resolution of the same customer within 30 days is not surveyed again.
            #expect(try await inbox.post(app, APIInbox.message("m3", from: ["id": "c1"], text: "Otra consulta")).status == 200)
            let reopened = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 1).first())
            #expect(reopened.status == .open, "a message that is no score is the customer writing again")
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: agentToken, json: ["status": "resolved"]).status == 200)
            #expect(try await Survey.query(on: app.store.db).count() == 1)

            // On demand, whatever the limit; one waiting at a time.
            let asked = try await app.request(.POST, "\(workspace.path)/conversations/1/surveys", token: agentToken, json: ["kind": "nps"])
            #expect(asked.status == 201, "\(asked.text)")
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/surveys", token: agentToken, json: ["kind": "nps"]).status == 409)
            let crossed = try await app.request(.POST, "\(workspace.path)/conversations/1/surveys", token: other.token, json: [:])
            #expect([403, 404].contains(crossed.status), "another workspace's admin asks nothing here")

            // Won back: the agent wrote after the low answer, and the customer answered the NPS asked on demand with a 9
            // (of another kind: it does not count for the CSAT's detractor) — then a CSAT 5.
            let (browser, _) = try await Browser.signedIn(app, as: supervisorID)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)?.slug)
            #expect(try await browser.get("/app/\(slug)/reports?period=today&format=csv&table=win_back").text.contains("CSAT,1,0,0"))
            clock.advance(by: 300)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: agentToken,
                                          json: ["text": "Lamentamos la demora, Ana"]).status == 201)
            var winBack = try await browser.get("/app/\(slug)/reports?period=today&format=csv&table=win_back")
            #expect(winBack.text.contains("CSAT,1,1,0"), "\(winBack.text)")
            try await Self.drain(app) { try await Survey.query(on: app.store.db).filter(\.$kind == .nps).filter(\.$status == .sent).count() == 1 }
            clock.advance(by: 60)
            #expect(try await inbox.post(app, APIInbox.message("m4", from: ["id": "c1"], text: "9"), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/surveys", token: agentToken, json: ["kind": "csat"]).status == 201)
            try await Self.drain(app) { try await Survey.query(on: app.store.db).filter(\.$kind == .csat).filter(\.$status == .sent).count() == 1 }
            clock.advance(by: 60)
            #expect(try await inbox.post(app, APIInbox.message("m5", from: ["id": "c1"], text: "5"), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            winBack = try await browser.get("/app/\(slug)/reports?period=today&format=csv&table=win_back")
            #expect(winBack.text.contains("CSAT,1,1,1"), "\(winBack.text)")
        }
    }

    @Test("a survey due after a delay is not sent if the customer wrote again meanwhile; spam and machine-only conversations are never surveyed")
    func skipped() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/survey", token: workspace.token,
                                          json: ["kind": "nps", "delay_minutes": 60, "once_per_days": 0]).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c1"])).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"]).status == 200)
            #expect(try await Self.survey(app, number: 1)?.status == .scheduled)
            clock.advance(by: 600)
            #expect(try await inbox.post(app, APIInbox.message("m2", from: ["id": "c1"], text: "Sigue sin funcionar"),
                                         timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            clock.advance(by: 3600)
            try await Self.drain(app) { try await Self.survey(app, number: 1)?.status != .scheduled }
            #expect(try await Self.survey(app, number: 1)?.status == .skipped)

            // Labelled spam: never.
            #expect(try await inbox.post(app, APIInbox.message("m3", from: ["id": "c2"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/2", token: workspace.token,
                                          json: ["labels": ["spam"], "status": "resolved"]).status == 200)
            #expect(try await Self.survey(app, number: 2) == nil)
        }
    }

    @Test("an email survey's link opens its score, chosen, and records nothing until sent; sending again changes it; a forged link finds nothing")
    func emailLinks() async throws {
        try await withApp(environment: ["ATIENDE_PUBLIC_URL": "https://desk.example.com"]) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await EmailInbox.make(app, workspace)
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id)/survey", token: workspace.token, json: ["kind": "nps"]).status == 200)
            #expect(try await inbox.post(app, mail(from: "Ana <ana@cliente.cl>", id: "s1@cliente.cl", body: "Hola")).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"]).status == 200)
            try await Self.drain(app) { try await Self.survey(app, number: 1)?.status == .sent }
            let survey = try #require(try await Self.survey(app, number: 1))
            let message = try #require(try await Message.find(survey.messageID, on: app.store.db))
            #expect(message.text.contains("¿Qué probabilidad hay de que nos recomiendes"))
            let link = try #require(message.text.split(separator: "\n").first { $0.hasPrefix("9: ") }.map { String($0.dropFirst(3)) })
            #expect(link.hasPrefix("https://desk.example.com/survey/") && link.hasSuffix("/9"))
            let path = String(link.dropFirst("https://desk.example.com".count))
            let base = String(path.dropLast(2))
            let customer = Browser(app)

            // A mail scanner opens every link (GET or HEAD): nothing is recorded.
            for score in [9, 1] {
                let opened = try await customer.get(base + "/\(score)")
                #expect(opened.status == 200 && opened.text.contains("value=\"\(score)\" required=\"required\" checked=\"checked\""), "\(opened.text.prefix(300))")
            }
            #expect(try await app.request(.HEAD, path).status == 200)
            #expect(try await Survey.find(survey.id, on: app.store.db)?.score == nil)

            // The customer sends it: recorded once; sent again, changed.
            let page = try await customer.get(path)
            let csrf = try #require(Browser.csrf(in: page))
            let sent = try await customer.post(base, form: [("_csrf", csrf), ("score", "9"), ("comment", "Muy amables")])
            #expect(sent.status == 200 && sent.text.contains("Tu respuesta: 9 de 10"), "\(sent.text.prefix(400))")
            #expect(try await customer.post(base, form: [("_csrf", csrf), ("score", "9"), ("comment", "Muy amables")]).status == 200)
            #expect(try await Message.query(on: app.store.db).filter(\.$kind == .activity).all()
                .compactMap { JSON.decode(ConversationActivity.self, from: $0.text) }.filter { $0.change == .surveyAnswered }.count == 1)
            #expect(try await customer.post(base, form: [("_csrf", csrf), ("score", "3"), ("comment", "Lo pensé mejor")]).status == 200)
            let after = try #require(try await Survey.find(survey.id, on: app.store.db))
            #expect(after.score == 3 && after.firstScore == 9 && after.comment == "Lo pensé mejor")
            #expect(try await customer.post(base, form: [("_csrf", csrf), ("score", "11")]).status == 400)
            #expect(try await customer.get(base + "/11").status == 400)
            let forged = try await customer.get("/survey/s" + String(repeating: "A", count: 32) + "/9")
            #expect(forged.status == 404 && forged.text.contains("Este enlace de encuesta no es válido"))
            #expect(try await Survey.find(survey.id, on: app.store.db)?.score == 3)
            // 9 → 3 makes a detractor: nobody handled it and nobody is set, so the first supervisor or admin gets the follow-up.
            let followUp = try #require(try await FollowUp.query(on: app.store.db).first())
            #expect(followUp.userID == workspace.adminID && followUp.text == "NPS 3/10: Lo pensé mejor")
        }
    }

    @Test("a detractor who corrects the answer within minutes cancels the win-back follow-up still to come")
    func correctedDetractor() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/survey", token: workspace.token, json: ["kind": "csat"]).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c1"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"]).status == 200)
            try await Self.drain(app) { try await Self.survey(app, number: 1)?.status == .sent }
            #expect(try await inbox.post(app, APIInbox.message("m2", from: ["id": "c1"], text: "9.5"), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            #expect(try await Self.survey(app, number: 1)?.score == nil, "a decimal is no answer on the scale")
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"]).status == 200)
            let survey = try #require(try await Self.survey(app, number: 1))
            try await app.services.surveys.answer(survey, score: 1, comment: nil)
            let followUp = try #require(try await FollowUp.query(on: app.store.db).first())
            #expect(followUp.doneAt == nil && followUp.dueAt > clock.now())
            clock.advance(by: 120)
            try await app.services.surveys.answer(survey, score: 4, comment: nil)
            let cancelled = try #require(try await FollowUp.find(followUp.id, on: app.store.db))
            #expect(cancelled.outcome == .cancelled)
            clock.advance(by: 3600)
            #expect(try await app.services.followUps.scan() == 0, "nothing comes due")
            #expect(try await Conversation.query(on: app.store.db).filter(\.$number == 1).first()?.status == .resolved)
        }
    }
}
