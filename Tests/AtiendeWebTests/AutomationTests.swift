@testable import AtiendeCore
@testable import AtiendeWeb
import Crypto
import Fluent
import Foundation
import Testing

@Suite("Automation rules: triggers, conditions, actions, loop guard, time-based rules, preview", .serialized)
struct AutomationTests {
    static func rule(_ app: TestApp, _ workspace: WorkspaceFixture, _ body: [String: Any]) async throws -> [String: Any] {
        let answer = try await app.request(.POST, "\(workspace.path)/automation-rules", token: workspace.token, json: body)
        #expect(answer.status == 201, "\(answer.text)")
        return try answer.json()
    }

    static func lines(_ app: TestApp, _ number: Int, _ workspace: WorkspaceFixture) async throws -> [ConversationActivity] {
        let conversation = try #require(try await Conversation.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).filter(\.$number == number).first())
        return try await Message.query(on: app.store.db).filter(\.$conversation.$id == conversation.requireID()).filter(\.$kind == .activity)
            .sort(\.$createdAt).all().compactMap { JSON.decode(ConversationActivity.self, from: $0.text) }
    }

    @Test("a new conversation that says 'urgente' from a VIP gets high priority and a label, with the rule's line; the rule counts its runs")
    func eventRule() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let made = try await Self.rule(app, workspace, [
                "name": "VIP a prioridad alta", "trigger": "conversation_created",
                "conditions": ["match": "all", "conditions": [["field": "text", "op": "contains", "value": "URGENTE"],
                                                              ["field": "inbox", "op": "is", "value": inbox.id.uuidString]]],
                "actions": [["type": "set_priority", "value": "high"], ["type": "add_label", "value": "VIP"]]])
            #expect((made["secret"] as? String)?.hasPrefix("whsec_") == true)
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c1"], text: "Es úrgente, por favor")).status == 200)
            #expect(try await inbox.post(app, APIInbox.message("m2", from: ["id": "c2"], text: "Consulta normal")).status == 200)
            let conversations = try await Conversation.query(on: app.store.db).sort(\.$number).all()
            #expect(conversations[0].priority == .high && conversations[0].labels == ["vip"])
            #expect(conversations[1].priority == .none && conversations[1].labels.isEmpty)
            let lines = try await Self.lines(app, 1, workspace)
            #expect(lines.first == ConversationActivity(change: .rule, value: "VIP a prioridad alta"))
            #expect(lines.contains { $0.change == .priority && $0.value == "high" })
            let stored = try #require(try await AutomationRule.query(on: app.store.db).filter(\.$name == "VIP a prioridad alta").first())
            #expect(stored.runCount == 1)
        }
    }

    @Test("a rule whose action would set it off again runs once; a chain of two rules stops; a storm pauses with one line and an event")
    func loopGuard() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            _ = try await Self.rule(app, workspace, ["name": "Etiqueta más", "trigger": "labels_changed",
                                                      "actions": [["type": "add_label", "value": "revisar"]]])
            _ = try await Self.rule(app, workspace, ["name": "Y otra", "trigger": "labels_changed",
                                                      "actions": [["type": "add_label", "value": "segunda"]]])
            #expect(try await inbox.post(app, APIInbox.message("m1", from: ["id": "c1"])).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["labels": ["vip"]]).status == 200)
            let conversation = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(Set(conversation.labels) == ["vip", "revisar", "segunda"])
            let runs = try await AutomationRule.query(on: app.store.db).filter(\.$trigger == .labelsChanged).sort(\.$position).all().map(\.runCount)
            #expect(runs == [1, 1], "each once: its own action never sets it off again, \(runs)")

            // A rule on every message, in a conversation that gets 25 at once: 20 runs, then a pause, said once.
            _ = try await Self.rule(app, workspace, ["name": "Nota por mensaje", "trigger": "message_received",
                                                      "actions": [["type": "add_note", "text": "Otro mensaje"]]])
            for i in 1...25 { #expect(try await inbox.post(app, APIInbox.message("s-\(i)", from: ["id": "c2"])).status == 200) }
            let lines = try await Self.lines(app, 2, workspace)
            #expect(lines.filter { $0.change == .rule && $0.value == "Nota por mensaje" }.count == RuleRunner.perMinute)
            #expect(lines.filter { $0.change == .rulesPaused }.count == 1)
            #expect(try await Event.query(on: app.store.db).filter(\.$type == "automation.paused").count() == 1)
            let storm = try #require(try await AutomationRule.query(on: app.store.db).filter(\.$name == "Nota por mensaje").first())
            #expect(storm.runCount == RuleRunner.perMinute, "counted once per run, never for a paused one")
        }
    }

    @Test("a time-based rule fires once per conversation, also across a restart, and not when the conversation left the state")
    func timed() async throws {
        let clock = ManualClock(Date())
        var app = try await TestApp.start(clock: clock)
        let workspace = try await WorkspaceFixture.make(app)
        let inbox = try await workspace.apiInbox(app)
        for i in 1...3 { #expect(try await inbox.post(app, APIInbox.message("m\(i)", from: ["id": "c\(i)"])).status == 200) }
        // #1 was already pending when the rule was made (its timer is backfilled); #2 goes pending after; #3 never.
        #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "pending"]).status == 200)
        _ = try await Self.rule(app, workspace, ["name": "Seguimiento", "trigger": "pending_for", "after_minutes": 60,
                                                  "actions": [["type": "add_label", "value": "sin-respuesta"], ["type": "set_status", "value": "open"]]])
        #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/2", token: workspace.token, json: ["status": "pending"]).status == 200)
        clock.advance(by: 30 * 60)
        #expect(try await app.services.automation.scanTimers() == 0)
        clock.advance(by: 31 * 60)
        app = try await app.restart(clock: clock)
        #expect(try await app.services.automation.scanTimers() == 2)
        #expect(try await app.services.automation.scanTimers() == 0)
        app = try await app.restart(clock: clock)
        #expect(try await app.services.automation.scanTimers() == 0, "once, also after a restart")
        let conversations = try await Conversation.query(on: app.store.db).sort(\.$number).all()
        #expect(conversations.map(\.labels) == [["sin-respuesta"], ["sin-respuesta"], []])
        #expect(conversations.map(\.status) == [.open, .open, .open])
        // Pending again and answered before the hour: nothing fires.
        #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/3", token: workspace.token, json: ["status": "pending"]).status == 200)
        clock.advance(by: 10 * 60)
        #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/3", token: workspace.token, json: ["status": "resolved"]).status == 200)
        clock.advance(by: 3600)
        #expect(try await app.services.automation.scanTimers() == 0)
        try await app.stop()
    }

    @Test("values given by the names people read are stored as what they name, and shown back by those names to be edited")
    func valuesByName() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            _ = try await workspace.apiInbox(app, name: "Tienda web")
            let (agentID, _) = try await workspace.member(app, role: .agent)
            let agent = try #require(try await User.find(agentID, on: app.store.db))
            let agentName = agent.name
            let canned = try await app.request(.POST, "\(workspace.path)/canned-responses", token: workspace.token,
                                               json: ["shortcut": "envio", "title": "Envío", "shared": true, "variants": ["es": "Hola"]]).json()["id"] as? String
            let made = try await Self.rule(app, workspace, [
                "name": "Por nombre", "trigger": "message_received",
                "conditions": ["match": "all", "conditions": [["field": "priority", "op": "is", "value": "Urgente"],
                                                              ["field": "business_hours", "op": "is", "value": "cerrado"],
                                                              ["field": "inbox", "op": "is", "value": "tienda WEB"]]],
                "actions": [["type": "set_priority", "value": "Alta"], ["type": "assign_agent", "value": agentName.uppercased()],
                            ["type": "send_canned", "value": "/envio"], ["type": "set_status", "value": "Pending"]]])
            let conditions = try #require((made["conditions"] as? [String: Any])?["conditions"] as? [[String: Any]])
            #expect(conditions.map { $0["value"] as? String }.prefix(2) == ["urgent", "closed"])
            #expect(UUID(uuidString: conditions[2]["value"] as? String ?? "") != nil)
            let actions = try #require(made["actions"] as? [[String: Any]]).map { $0["value"] as? String }
            #expect(actions == ["high", agentID.uuidString, canned?.uppercased(), "pending"], "\(actions)")

            // The page shows them back by name, so saving the form again keeps them.
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await browser.get("/app/\(slug)/settings/rules?edit=\(made["id"] as? String ?? "")").text
            for shown in [#"value="Urgente""#, #"value="cerrado""#, #"value="Tienda web""#, #"value="Alta""#, "value=\"\(agent.email)\"", #"value="/envio""#] {
                #expect(page.contains(shown), "\(shown)")
            }
            #expect(!page.contains(agentID.uuidString), "no ids for a person to read")

            // A name that stands for nothing is refused, saying which action in the page's language.
            let refused = try await app.request(.POST, "\(workspace.path)/automation-rules", token: workspace.token, json: [
                "name": "Mal", "trigger": "message_received", "actions": [["type": "set_priority", "value": "altísima"]]])
            #expect(refused.status == 400)
            #expect((try refused.json()["error"] as? [String: Any])?["code"] as? String == "invalid_action")
            // A name two inboxes share names neither: refused as such, and shown back by id rather than by that name.
            _ = try await workspace.apiInbox(app, name: "Duplicada")
            _ = try await workspace.apiInbox(app, name: "duplicada")
            let ambiguous = try await app.request(.POST, "\(workspace.path)/automation-rules", token: workspace.token, json: [
                "name": "Ambigua", "trigger": "message_received", "actions": [["type": "add_label", "value": "x"]],
                "conditions": ["match": "all", "conditions": [["field": "inbox", "op": "is", "value": "Duplicada"]]]])
            let ambiguousCode = (try ambiguous.json()["error"] as? [String: Any])?["code"] as? String
            #expect(ambiguous.status == 400 && ambiguousCode == "ambiguous_name", "\(ambiguous.text)")
            let message = ErrorPages.message(code: "invalid_action", fallback: "", parameters: ["action": "rules.action.set_priority"], t: Localizer(.es))
            #expect(message.contains("«Poner prioridad»"), "\(message)")
        }
    }

    @Test("preview lists what the conditions matched in the last 7 days; bad ids, patterns and targets are refused")
    func previewAndRefusals() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            for (i, text) in ["Necesito la factura", "¿Dónde está mi pedido?", "Otra FACTURA, por favor"].enumerated() {
                #expect(try await inbox.post(app, APIInbox.message("p\(i)", from: ["id": "c\(i)"], text: text)).status == 200)
            }
            let before = try await app.count(Event.self)
            let preview = try await app.request(.POST, "\(workspace.path)/automation-rules/preview", token: workspace.token, json: [
                "trigger": "message_received", "conditions": ["match": "any", "conditions": [["field": "text", "op": "contains", "value": "factura"]]]])
            let numbers = try preview.json()["numbers"] as? [Int]
            #expect(preview.status == 200 && numbers == [3, 1], "\(preview.text)")
            #expect(try await app.count(Event.self) == before, "a preview changes nothing")

            let other = try await WorkspaceFixture.make(app, name: "Otra")
            let theirInbox = try await other.apiInbox(app)
            let theirCanned = try await app.request(.POST, "\(other.path)/canned-responses", token: other.token,
                                                    json: ["shortcut": "x", "title": "X", "shared": true, "variants": ["es": "Hola"]]).json()["id"] as? String ?? ""
            let cases: [([String: Any], Int)] = [
                (["name": "x", "trigger": "message_received", "actions": [["type": "add_label", "value": "a"]],
                  "conditions": ["match": "all", "conditions": [["field": "inbox", "op": "is", "value": theirInbox.id.uuidString]]]], 404),
                (["name": "x", "trigger": "message_received", "actions": [["type": "send_canned", "value": theirCanned]]], 404),
                (["name": "x", "trigger": "message_received", "actions": [["type": "add_label", "value": "a"]],
                  "conditions": ["match": "all", "conditions": [["field": "text", "op": "matches", "value": "(unclosed"]]]], 400),
                (["name": "x", "trigger": "pending_for", "actions": [["type": "add_label", "value": "a"]]], 400),
                (["name": "x", "trigger": "message_received", "actions": [] as [Any]], 400),
                (["name": "x", "trigger": "message_received", "actions": [["type": "send_message", "text": "Hola {{cliente}}"]]], 400),
                (["name": "x", "trigger": "message_received", "actions": [["type": "send_webhook", "value": "ftp://x"]]], 400),
                (["name": "x", "trigger": "whenever", "actions": [["type": "add_label", "value": "a"]]], 400),
                // Another workspace's canned response by its shortcut is no name here.
                (["name": "x", "trigger": "message_received", "actions": [["type": "send_canned", "value": "/x"]]], 404),
            ]
            for (body, status) in cases {
                let answer = try await app.request(.POST, "\(workspace.path)/automation-rules", token: workspace.token, json: body)
                #expect(answer.status == status, "\(body) → \(answer.status) \(answer.text)")
            }
            #expect(try await AutomationRule.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).count() == 1, "only the workspace's 'always answer'")
            let (_, agentToken) = try await workspace.member(app, role: .agent)
            #expect(try await app.request(.POST, "\(workspace.path)/automation-rules", token: agentToken,
                                          json: ["name": "x", "trigger": "message_received", "actions": [["type": "add_label", "value": "a"]]]).status == 403)
        }
    }

    @Test("a rule's webhook is signed with its secret; a reply it cannot send is said in the timeline and the message is still taken")
    func webhookAndFailures() async throws {
        let receiver = try await WebhookReceiver.start()
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let form = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Formulario", "channel": "webform"])
            let formID = try #require(UUID(uuidString: try form.json()["id"] as? String ?? ""))
            let made = try await Self.rule(app, workspace, ["name": "Avisar al ERP", "trigger": "conversation_created",
                                                             "actions": [["type": "send_webhook", "value": receiver.url],
                                                                         ["type": "send_message", "text": "Recibimos tu solicitud"]]])
            let secret = try #require(made["secret"] as? String)
            let inbox = try #require(try await Inbox.find(formID, on: app.store.db))
            _ = try await app.services.ingest.receive(InboundMessage(inboxID: formID, providerMessageID: "f1",
                                                                     sender: .init(name: "Ana", identities: [(.email, "ana@example.com")]),
                                                                     text: "Hola"), in: inbox, countryCode: nil)
            let hook = try await waitFor { receiver.received.first }
            let timestamp = try #require(hook.headers.first(name: "X-Atiende-Timestamp"))
            #expect(hook.headers.first(name: "X-Atiende-Signature") == WebhookSignature.sign(secret: secret, timestamp: timestamp, body: hook.body))
            let json = try #require(try JSONSerialization.jsonObject(with: hook.body) as? [String: Any])
            #expect(json["event"] as? String == "automation.rule" && json["trigger"] as? String == "conversation_created")
            let lines = try await Self.lines(app, 1, workspace)
            #expect(lines.contains { $0.change == .ruleFailed && ($0.value ?? "").contains("Avisar al ERP") }, "\(lines)")
            #expect(try await app.count(Message.self) >= 1)
        }
        try await receiver.stop()
    }
}
