@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Service levels through the whole app, with a clock the tests move", .serialized)
struct ServiceLevelFlowTests {
    func conversation(_ app: TestApp, _ number: Int) async throws -> Conversation {
        try #require(try await Conversation.query(on: app.store.db).filter(\.$number == number).first())
    }

    @Test("deadlines: note vs reply, pause while pending, warning and breach once, a breach that fell due during a restart")
    func deadlines() async throws {
        let t0 = ISO8601.date("2026-11-23T13:00:00Z")!
        let clock = ManualClock(t0)
        let app = try await TestApp.start(clock: clock)
        var again = app
        do {
            // setup: a default policy in calendar time, escalating breaches to urgent.
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let policy = try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token, json: [
                "name": "Estándar", "is_default": true,
                "rules": ["rules": [["targets": ["first_response": 3600, "next_response": 1800, "resolution": 86_400]]],
                          "business_time": false, "escalate_priority": "urgent"] as [String: Any]])
            #expect(policy.status == 201, "\(policy.text)")
            func post(_ id: String, from: String = "c-1") async throws {
                let answer = try await inbox.post(app, APIInbox.message(id, from: ["id": from]), timestamp: Int(clock.now().timeIntervalSince1970))
                #expect(answer.status == 200, "\(answer.text)")
            }
            try await post("m-1")
            var c = try await conversation(app, 1)
            #expect(c.firstResponseDueAt == t0.addingTimeInterval(3600) && c.resolutionDueAt == t0.addingTimeInterval(86_400))
            #expect(c.slaDueAt == c.firstResponseDueAt && c.slaNextAlertAt == t0.addingTimeInterval(2700))

            // A private note changes nothing; pending pauses; open resumes with the paused time added.
            let path = "\(workspace.path)/conversations/1"
            #expect(try await app.request(.POST, "\(path)/messages", token: workspace.token, json: ["text": "ojo", "private": true]).status == 201)
            #expect(try await conversation(app, 1).firstResponseDueAt == t0.addingTimeInterval(3600))
            clock.advance(by: 600)
            #expect(try await app.request(.PATCH, path, token: workspace.token, json: ["status": "pending"]).status == 200)
            #expect(try await conversation(app, 1).firstResponseDueAt == nil)
            clock.advance(by: 1200)
            #expect(try await app.request(.PATCH, path, token: workspace.token, json: ["status": "open"]).status == 200)
            c = try await conversation(app, 1)
            #expect(c.firstResponseDueAt == t0.addingTimeInterval(3600 + 1200))

            // 75 % used: one warning, to the admin; a second scan sends nothing.
            let scanner = ServiceLevelScanner(store: app.store)
            clock.advance(by: 2100 - 600 + 1)
            #expect(try await scanner.scan() == 0, "not yet: 2,101 s used of 2,700")
            clock.advance(by: 600)
            #expect(try await scanner.scan() == 1)
            #expect(try await scanner.scan() == 0)
            let warnings = try await AgentNotification.query(on: app.store.db).filter(\.$kind == .slaWarning).all()
            #expect(warnings.map(\.userID) == [workspace.adminID])
            #expect(try await Event.query(on: app.store.db).filter(\.$type == "sla.warning").count() == 1)

            // The server is down while the deadline passes; the next instance's first scan sends the breach once.
            clock.advance(by: 3600)
            again = try await app.restart(clock: clock)
            let rescanner = ServiceLevelScanner(store: again.store)
            #expect(try await rescanner.scan() == 1)
            #expect(try await rescanner.scan() == 0)
            c = try await conversation(again, 1)
            #expect(c.priority == .urgent, "escalated by the policy")
            #expect(try await Event.query(on: again.store.db).filter(\.$type == "sla.breached").count() == 1)
            // The escalation is a change like any other: its event, by the system (no actor), after the breach.
            let escalation = try #require(try await Event.query(on: again.store.db).filter(\.$type == "conversation.updated")
                .sort(\.$id, .descending).first())
            #expect(escalation.actorID == nil && escalation.payload.contains("\"priority\""), "\(escalation.payload)")

            // A public reply stops the response clock (missed); the customer's next message starts the next-response clock.
            #expect(try await again.request(.POST, "\(path)/messages", token: workspace.token, json: ["text": "Hola"]).status == 201)
            c = try await conversation(again, 1)
            #expect(c.firstResponseDueAt == nil && c.nextResponseDueAt == nil)
            let answer = try await inbox.post(again, APIInbox.message("m-2", from: ["id": "c-1"]), timestamp: Int(clock.now().timeIntervalSince1970))
            #expect(answer.status == 200)
            #expect(try await conversation(again, 1).nextResponseDueAt == clock.now().addingTimeInterval(1800))
            // Resolving stops every clock.
            #expect(try await again.request(.PATCH, path, token: workspace.token, json: ["status": "resolved"]).status == 200)
            c = try await conversation(again, 1)
            #expect(c.slaDueAt == nil && c.slaNextAlertAt == nil)

            // Compliance: one first response, missed.
            let report = try await again.request(.GET, "\(workspace.path)/reports/service-levels?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z",
                                                 token: workspace.token)
            #expect(report.status == 200, "\(report.text)")
            let groups = try #require(try report.json()["groups"] as? [[String: Any]])
            let first = try #require(groups.first?["first_response"] as? [String: Any])
            #expect(first["total"] as? Int == 1 && first["met"] as? Int == 0)
            #expect(try await again.request(.GET, "\(workspace.path)/reports/service-levels?group_by=moon", token: workspace.token).status == 400)
        } catch {
            try? await again.stop()
            throw error
        }
        try await again.stop()
    }

    @Test("a policy change mid-conversation moves the deadline; business hours and holidays are respected")
    func policyChangeAndHours() async throws {
        // Thursday 17 September 2026, 17:00 in Santiago (UTC-3); Friday 18 is a holiday.
        let clock = ManualClock(ISO8601.date("2026-09-17T20:00:00Z")!)
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let created = try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token, json: [
                "name": "Oficina", "rules": ["rules": [["targets": ["first_response": 7200]]], "business_time": true] as [String: Any]])
            let policyID = try #require(try created.json()["id"] as? String)
            let put = try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/service-levels", token: workspace.token, json: [
                "sla_policy_id": policyID,
                "business_hours": ["time_zone": "America/Santiago",
                                   "week": ["mon": [["start": 540, "end": 1080]], "tue": [["start": 540, "end": 1080]], "wed": [["start": 540, "end": 1080]],
                                            "thu": [["start": 540, "end": 1080]], "fri": [["start": 540, "end": 1080]]],
                                   "holidays": [["date": "2026-09-18", "name": "Fiestas Patrias"]]] as [String: Any]])
            #expect(put.status == 200, "\(put.text)")
            #expect(try await inbox.post(app, APIInbox.message("h-1", from: ["id": "c"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            // 1 h on Thursday, Friday is a holiday, the weekend is closed: Monday 21 September 10:00 (13:00Z).
            #expect(try await conversation(app, 1).firstResponseDueAt == ISO8601.date("2026-09-21T13:00:00Z"))
            // The policy now promises 30 minutes: already past, so the deadline is Thursday 17:30.
            let patched = try await app.request(.PATCH, "\(workspace.path)/sla-policies/\(policyID)", token: workspace.token,
                                                json: ["rules": ["rules": [["targets": ["first_response": 1800]]], "business_time": true] as [String: Any]])
            #expect(patched.status == 200)
            #expect(try await conversation(app, 1).firstResponseDueAt == ISO8601.date("2026-09-17T20:30:00Z"))
            // Bad input changes nothing.
            let bad = try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/service-levels", token: workspace.token,
                                            json: ["business_hours": ["time_zone": "Mars/Base", "week": [:]] as [String: Any]])
            #expect(bad.status == 400)
            #expect(try await Inbox.find(inbox.id, on: app.store.db)?.businessHoursJSON?.contains("Santiago") == true)
        }
    }

    @Test("automatic first and after-hours answers go out once through the API channel, never to automatic messages")
    func automaticAnswers() async throws {
        let receiver = try await WebhookReceiver.start()
        // Saturday 21 November 2026, 12:00 in Santiago: closed.
        let clock = ManualClock(ISO8601.date("2026-11-21T15:00:00Z")!)
        try await withApp(clock: clock, runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
            let put = try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/service-levels", token: workspace.token, json: [
                "business_hours": ["time_zone": "America/Santiago",
                                   "week": ["mon": [["start": 540, "end": 1080]], "tue": [["start": 540, "end": 1080]]]] as [String: Any],
                "auto_replies": ["language": "es",
                                 "first_answer": ["es": "Gracias. Tu número de solicitud es el {number}."],
                                 "after_hours": ["es": "Gracias {name}. Estamos fuera de horario ({hours}); respondemos desde el {next_opening}. Solicitud {number}."]]
                    as [String: Any]])
            #expect(put.status == 200, "\(put.text)")
            let ts = { Int(clock.now().timeIntervalSince1970) }
            #expect(try await inbox.post(app, APIInbox.message("a-1", from: ["id": "c-1", "name": "Marta"]), timestamp: ts()).status == 200)
            #expect(try await inbox.post(app, ["message_id": "a-2", "from": ["id": "bot-1"], "text": "Respuesta automática", "automatic": true],
                                         timestamp: ts()).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("a-3", from: ["id": "c-1", "name": "Marta"]), timestamp: ts()).status == 200)
            // Monday 10:00: open, the first answer.
            clock.set(ISO8601.date("2026-11-23T13:00:00Z")!)
            #expect(try await inbox.post(app, APIInbox.message("a-4", from: ["id": "c-3"]), timestamp: ts()).status == 200)

            var texts: [String] = []
            for _ in 0..<100 {
                texts = receiver.received.compactMap { (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["text"] as? String }
                if texts.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .milliseconds(300))
            texts = receiver.received.compactMap { (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["text"] as? String }
            #expect(texts.count == 2, "\(texts)")
            #expect(texts.contains { $0.hasPrefix("Gracias Marta. Estamos fuera de horario (lun–mar 09:00–18:00); respondemos desde el lunes") && $0.hasSuffix("Solicitud 1.") },
                    "\(texts)")
            #expect(texts.contains("Gracias. Tu número de solicitud es el 3."), "\(texts)")
            let automatic = try await Message.query(on: app.store.db).filter(\.$senderType == .system).all()
            #expect(automatic.count == 2)
            // The automatic answer is not a person's first response.
            #expect(try await conversation(app, 1).firstResponseAt == nil)
        }
        try await receiver.stop()
    }
}

@Suite("Escalation notices and working hours")
struct NoticeHoursTests {
    @Test("a breach at the weekend escalates at once but tells people at Monday's opening when the policy says so")
    func weekend() async throws {
        // Saturday 21 November 2026, 12:00 in Santiago.
        let clock = ManualClock(ISO8601.date("2026-11-21T15:00:00Z")!)
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token, json: [
                "name": "24/7 con avisos en horario", "is_default": true,
                "rules": ["rules": [["targets": ["first_response": 600]]], "business_time": false, "notify_in_business_hours": true,
                          "escalate_priority": "high"] as [String: Any]]).status == 201)
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/service-levels", token: workspace.token, json: [
                "business_hours": ["time_zone": "America/Santiago", "week": ["mon": [["start": 540, "end": 1080]]]] as [String: Any]]).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("w-1", from: ["id": "c"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            clock.advance(by: 601)
            #expect(try await ServiceLevelScanner(store: app.store).scan() == 1)
            #expect(try await Conversation.query(on: app.store.db).first()?.priority == .high, "escalated at once")
            #expect(try await AgentNotification.query(on: app.store.db).count() == 0, "nobody is woken at the weekend")
            let notice = try #require(try await Job.query(on: app.store.db).filter(\.$kind == JobKind.serviceLevelNotice.rawValue).first())
            #expect(notice.runAt == ISO8601.date("2026-11-23T12:00:00Z"), "Monday 09:00 in Santiago")
        }
    }
}

extension NoticeHoursTests {
    @Test("each person is told within their own working hours, set on their account page; without them, the inbox's")
    func personalHours() async throws {
        // Saturday 21 November 2026, 12:00 in Santiago (16:00 in Madrid).
        let clock = ManualClock(ISO8601.date("2026-11-21T15:00:00Z")!)
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let (supervisor, _) = try await workspace.member(app, role: .supervisor)
            let (agent, _) = try await workspace.member(app, role: .agent)
            #expect(try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token, json: [
                "name": "24/7, avisos en horario", "is_default": true,
                "rules": ["rules": [["targets": ["first_response": 600]]], "business_time": false, "notify_in_business_hours": true] as [String: Any]]).status == 201)
            // The supervisor works Monday to Friday, 09:00-18:00 in Madrid; the agent has no hours of their own, and the inbox is open 24/7.
            let (browser, csrf) = try await Browser.signedIn(app, as: supervisor)
            var form = [("_csrf", csrf), ("name", "Sofía"), ("language", "es"), ("time_zone", "Europe/Madrid"), ("has_hours", "1")]
            for day in ["mon", "tue", "wed", "thu", "fri"] { form.append(("day_\(day)", "09:00-18:00")) }
            form += [("day_sat", ""), ("day_sun", "")]
            #expect(try await browser.post("/account", form: form).status == 303)
            let saved = try #require(try await User.find(supervisor, on: app.store.db)?.workingHours)
            #expect(saved.timeZone == "Europe/Madrid" && saved.week[.mon]?.first?.start == 540 && saved.week[.sat] == nil)
            #expect(try await browser.get("/account").text.contains("value=\"09:00-18:00\""))

            #expect(try await inbox.post(app, APIInbox.message("p-1", from: ["id": "c"]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["assignee_id": agent.uuidString]).status == 200)
            let before = try await AgentNotification.query(on: app.store.db).count()
            clock.advance(by: 601)
            #expect(try await ServiceLevelScanner(store: app.store).scan() == 1)
            let now = try await AgentNotification.query(on: app.store.db).filter(\.$kind == .slaBreach).all().map(\.userID)
            #expect(now.contains(agent) && !now.contains(supervisor), "the agent at once (24/7 inbox), not the supervisor at the weekend")
            #expect(try await AgentNotification.query(on: app.store.db).count() > before)
            let job = try #require(try await Job.query(on: app.store.db).filter(\.$kind == JobKind.serviceLevelNotice.rawValue).first())
            #expect(job.runAt == ISO8601.date("2026-11-23T08:00:00Z"), "Monday 09:00 in Madrid")
            #expect(job.payload.contains(supervisor.uuidString.lowercased()) || job.payload.contains(supervisor.uuidString))
        }
    }
}

@Suite("Policy changes in a large workspace")
struct RetargetTests {
    @Test("a policy change recomputes the first chunk at once and the rest in jobs, a chunk per transaction")
    func chunks() async throws {
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            try await SyntheticHistory.write(1200, workspace: workspace.id, inboxes: [(inbox.id, .api)], agents: [], store: app.store, openPercent: 100)
            let created = try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token,
                                                json: ["name": "Todo", "is_default": true, "rules": ["rules": [["targets": ["first_response": 3600]]]]])
            #expect(created.status == 201)
            var withDeadline = 0
            // Up to 30 s: the jobs' chunks take long on a busy machine.
            for _ in 0..<600 {
                withDeadline = try await Conversation.query(on: app.store.db).filter(\.$firstResponseDueAt != nil).count()
                if withDeadline == 1200 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(withDeadline == 1200)
        }
    }
}

@Suite("Demand spikes")
struct DemandSpikeTests {
    @Test("above capacity, new customers are told the expected wait and supervisors hear once")
    func spike() async throws {
        let receiver = try await WebhookReceiver.start()
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app, webhook: receiver.url)
            let put = try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id.uuidString)/service-levels", token: workspace.token, json: [
                "auto_replies": ["language": "es", "capacity": 1, "first_answer": ["es": "Recibido {number}."],
                                 "busy": ["es": "Hay mucha demanda: la espera estimada es de {wait}. Solicitud {number}."]] as [String: Any]])
            #expect(put.status == 200, "\(put.text)")
            for i in 1...3 {
                #expect(try await inbox.post(app, APIInbox.message("d-\(i)", from: ["id": "c-\(i)"])).status == 200)
            }
            var texts: [String] = []
            for _ in 0..<100 {
                texts = receiver.received.compactMap { (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["text"] as? String }
                if texts.count >= 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(texts.sorted() == ["Hay mucha demanda: la espera estimada es de unos minutos. Solicitud 2.",
                                       "Hay mucha demanda: la espera estimada es de unos minutos. Solicitud 3.", "Recibido 1."], "\(texts)")
            let alerts = try await AgentNotification.query(on: app.store.db).filter(\.$kind == .overCapacity).all()
            #expect(alerts.count == 1 && alerts.first?.userID == workspace.adminID && alerts.first?.conversationNumber == 2)
        }
        try await receiver.stop()
    }
}

@Suite("The service-levels admin page")
struct ServiceSettingsPageTests {
    @Test("hours, holidays and rules are read from their text forms, and bad ones are refused")
    func parsing() throws {
        #expect(try ServiceSettingsPage.parseHours("09:00-13:00, 14:00-18:30", day: "mon") == [.init(540, 780), .init(840, 1110)])
        #expect(try ServiceSettingsPage.parseHours("24h", day: "sat") == [.init(0, 1440)])
        #expect(try ServiceSettingsPage.parseHours("", day: "sun").isEmpty)
        #expect(throws: AtiendeError.self) { try ServiceSettingsPage.parseHours("9 to 5", day: "mon") }
        #expect(ServiceSettingsPage.parseHolidays("2026-09-18 Fiestas Patrias\n\n2026-12-25 Navidad").map(\.name) == ["Fiestas Patrias", "Navidad"])
        let known: [ChannelKind] = [.whatsapp, .email]
        let rules = try ServiceSettingsPage.parseRules("* * 60 60 -\nwhatsapp urgent 0.25 0.5 240", known: known)
        #expect(rules.count == 2 && rules[1].channel == .whatsapp && rules[1].priority == .urgent)
        #expect(rules[1].targets == .init(firstResponse: 15, nextResponse: 30, resolution: 14_400))
        #expect(ServiceSettingsPage.rulesText(.init(rules: rules)) == "* * 60 60 -\nwhatsapp urgent 0.25 0.5 240")
        #expect(throws: AtiendeError.self) { try ServiceSettingsPage.parseRules("sms * 60 60 -", known: known) }
        #expect(throws: AtiendeError.self) { try ServiceSettingsPage.parseRules("* * 60", known: known) }
    }

    @Test("an admin sets hours, a policy and answers through the page; the inbox shows the SLA badge and the at-risk view")
    func page() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let inbox = try await workspace.apiInbox(app)
            let (browser, csrf) = try await Browser.signedIn(app, as: workspace.adminID)
            #expect(try await browser.get("/app/\(slug)/settings/service").status == 200)
            let path = "/app/\(slug)/settings/service"
            #expect(try await browser.post(path, form: [("_csrf", csrf), ("action", "policy"), ("name", "Estándar"), ("is_default", "1"),
                                                        ("warn_at_percent", "80"), ("rules", "* * 60 60 -")]).status == 303)
            let policy = try #require(try await ServiceLevelPolicy.query(on: app.store.db).first())
            #expect(policy.isDefault && policy.rules.warnAtPercent == 80 && policy.rules.businessTime == false)
            #expect(try await browser.post(path, form: [("_csrf", csrf), ("action", "policy"), ("name", "Mala"), ("rules", "* * sixty")]).status == 400)
            #expect(try await app.count(ServiceLevelPolicy.self) == 1)
            #expect(try await browser.post(path, form: [("_csrf", csrf), ("action", "inbox"), ("inbox_id", inbox.id.uuidString.lowercased()),
                                                        ("has_hours", "1"), ("time_zone", "America/Santiago"), ("day_mon", "09:00-18:00"),
                                                        ("holidays", "2026-09-18 Fiestas Patrias"), ("first_answer_es", "Recibido: {number}")]).status == 303)
            let stored = try #require(try await Inbox.find(inbox.id, on: app.store.db))
            #expect(stored.businessHoursJSON?.contains("Fiestas Patrias") == true && stored.autoRepliesJSON?.contains("Recibido") == true)

            #expect(try await inbox.post(app, APIInbox.message("s-1", from: ["id": "c"])).status == 200)
            let all = try await browser.get("/app/\(slug)/inbox?view=all")
            #expect(all.status == 200 && all.text.contains("data-countdown") && all.text.contains("#1"), "the list shows the SLA badge")
            // A conversation that just arrived is not at risk yet.
            let atRisk = try await browser.get("/app/\(slug)/inbox?view=all&sort=sla_due&sla=at_risk")
            #expect(atRisk.status == 200 && !atRisk.text.contains("data-countdown"))
            let byDeadline = try await browser.get("/app/\(slug)/inbox?view=all&sort=sla_due")
            #expect(byDeadline.text.contains("data-countdown") && byDeadline.text.contains("#1"), "sorting by deadline filters nothing")
            #expect(try await browser.get("/app/\(slug)/conversations/1").text.contains("Primera respuesta: SLA"))
        }
    }

    @Test("'SLA at risk' lists only conversations past their warning point or breached, soonest deadline first")
    func atRisk() async throws {
        let t0 = ISO8601.date("2026-11-23T13:00:00Z")!
        let clock = ManualClock(t0)
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            #expect(try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token, json: [
                "name": "Estándar", "is_default": true,
                "rules": ["rules": [["targets": ["first_response": 3600]]], "business_time": false, "warn_at_percent": 75] as [String: Any]]).status == 201)
            func post(_ id: String) async throws {
                #expect(try await inbox.post(app, APIInbox.message(id, from: ["id": id]), timestamp: Int(clock.now().timeIntervalSince1970)).status == 200)
            }
            try await post("a")
            clock.advance(by: 2800)
            try await post("b")
            var filter = InboxQuery.Filter()
            filter.sort = .slaDue
            filter.atRisk = true
            func atRisk() async throws -> [Int] {
                try await app.services.inbox.rows(workspace: workspace.id, user: workspace.adminID, filter: filter).map(\.conversation.number)
            }
            #expect(try await atRisk() == [1], "the first is at 78 %, the second just started")
            clock.advance(by: 900)
            #expect(try await atRisk() == [1], "the first breached, the second at 25 %")
            clock.advance(by: 2000)
            #expect(try await atRisk() == [1, 2], "both: soonest deadline first")
            // Sorting by deadline alone still lists every conversation that has one.
            filter.atRisk = false
            #expect(try await atRisk() == [1, 2], "the sort is no filter")
        }
    }
}
