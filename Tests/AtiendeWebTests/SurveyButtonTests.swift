@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Surveys as the channels' own buttons: a WhatsApp list, a Telegram inline keyboard, Messenger quick replies", .serialized)
struct SurveyButtonTests {
    @Test("WhatsApp asks CSAT as a list and its list reply answers; NPS's eleven scores go as text to answer with a number")
    func whatsapp() async throws {
        let provider = try await ProviderStandIn.start()
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await MessagingInbox.make(app, workspace, channel: "whatsapp",
                                                      settings: ["phone_number_id": "1234", "api_base": provider.base],
                                                      secrets: ["access_token": "EAAG-token", "app_secret": "app-secret"])
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id)/survey", token: workspace.token, json: ["kind": "csat"]).status == 200)
            #expect(try await inbox.postMeta(app, whatsappWebhook(messages: [waText("wamid.A1", "Hola, ¿tienen stock?")]), secret: "app-secret").status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"]).status == 200)
            let asked = try await waitFor { provider.calls("/1234/messages").first { $0.json?["type"] as? String == "interactive" } }
            let list = try #require(asked.json?["interactive"] as? [String: Any])
            let rows = ((list["action"] as? [String: Any])?["sections"] as? [[String: Any]])?.first?["rows"] as? [[String: Any]] ?? []
            #expect(list["type"] as? String == "list" && rows.map { $0["title"] as? String } == ["5", "4", "3", "2", "1"])
            #expect(rows.first?["description"] as? String == "excelente" && rows.first?["id"] as? String == "survey:5")
            #expect(((list["body"] as? [String: Any])?["text"] as? String)?.hasPrefix("¿Cómo calificarías la atención") == true)
            // The customer taps "2" in the list.
            let reply: [String: Any] = ["from": "56911112222", "id": "wamid.A2", "timestamp": String(Int(Date().timeIntervalSince1970)), "type": "interactive",
                                        "interactive": ["type": "list_reply", "list_reply": ["id": "survey:2", "title": "2", "description": ""]]]
            #expect(try await inbox.postMeta(app, whatsappWebhook(messages: [reply]), secret: "app-secret").status == 200)
            let survey = try #require(try await Survey.query(on: app.store.db).first())
            #expect(survey.score == 2 && survey.status == .answered)
            #expect(try await Conversation.query(on: app.store.db).first()?.status == .resolved)

            // NPS: eleven scores do not fit a list: a text that says to answer with a number.
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id)/survey", token: workspace.token,
                                          json: ["kind": "nps", "trigger": "manual"]).status == 200)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/surveys", token: workspace.token, json: [:]).status == 201)
            let text = try await waitFor { provider.calls("/1234/messages").first { (($0.json?["text"] as? [String: Any])?["body"] as? String)?.contains("del 0 (nada probable) al 10") == true } }
            #expect(text.json?["type"] as? String == "text")
        }
        try await provider.stop()
    }

    @Test("Telegram asks with an inline keyboard and the tap's callback query answers, once; Messenger offers quick replies")
    func telegramAndMessenger() async throws {
        let provider = try await ProviderStandIn.start()
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await MessagingInbox.make(app, workspace, channel: "telegram", settings: ["api_base": provider.base],
                                                      secrets: ["bot_token": "123:ABC"])
            let secret = try #require(try await Inbox.find(UUID(uuidString: inbox.id), on: app.store.db)?.secrets(with: app.services.secrets)["secret_token"])
            func post(_ update: [String: Any]) async throws -> HTTPAnswer {
                try await app.request(.POST, inbox.path, raw: try JSONSerialization.data(withJSONObject: update),
                                      headers: [("Content-Type", "application/json"), ("X-Telegram-Bot-Api-Secret-Token", secret)])
            }
            let rosa: [String: Any] = ["id": 4242, "is_bot": false, "first_name": "Rosa", "last_name": "Díaz"]
            let chat: [String: Any] = ["id": 4242, "type": "private", "first_name": "Rosa"]
            #expect(try await post(["update_id": 800, "message": ["message_id": 1, "date": Int(Date().timeIntervalSince1970), "text": "Hola",
                                                                  "from": rosa, "chat": chat]]).status == 200)
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id)/survey", token: workspace.token, json: ["kind": "nps"]).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"]).status == 200)
            let asked = try await waitFor { provider.calls("/bot123:ABC/sendMessage").first { $0.json?["reply_markup"] != nil } }
            let keyboard = (asked.json?["reply_markup"] as? [String: Any])?["inline_keyboard"] as? [[[String: Any]]] ?? []
            #expect(keyboard.map { $0.count } == [6, 5] && keyboard.first?.first?["callback_data"] as? String == "survey:0")
            let tap: [String: Any] = ["update_id": 801, "callback_query": ["id": "cb-1", "from": rosa, "chat_instance": "ci", "data": "survey:9",
                                                                           "message": ["message_id": 2, "date": 0, "chat": chat, "text": "¿Qué probabilidad…?"]]]
            let answered = try await post(tap)
            let acknowledged = try answered.json()
            #expect(answered.status == 200 && acknowledged["method"] as? String == "answerCallbackQuery"
                    && acknowledged["callback_query_id"] as? String == "cb-1", "the tap is answered in the webhook's response")
            #expect(try await post(tap).status == 200, "Telegram redelivers: the callback id is the key")
            let survey = try #require(try await Survey.query(on: app.store.db).first())
            #expect(survey.score == 9 && survey.kind == .nps)
            #expect(try await Message.query(on: app.store.db).filter(\.$kind == .incoming).count() == 2)
            let tampered: [String: Any] = ["update_id": 802, "callback_query": ["id": "cb-2", "from": rosa, "chat_instance": "ci", "data": "survey:99",
                                                                                "message": ["message_id": 2, "date": 0, "chat": chat]]]
            #expect(try await post(tampered).status == 200)
            #expect(try await Message.query(on: app.store.db).filter(\.$kind == .incoming).count() == 2, "a payload not on any scale is ignored")
            #expect(try await Survey.find(survey.id, on: app.store.db)?.score == 9)

            // Messenger: the same scale as quick replies.
            let messenger = try await MessagingInbox.make(app, workspace, channel: "messenger", settings: ["page_id": "PAGE", "api_base": provider.base],
                                                          secrets: ["page_access_token": "page-token", "app_secret": "m-secret"])
            #expect(try await app.request(.PUT, "\(workspace.path)/inboxes/\(messenger.id)/survey", token: workspace.token,
                                          json: ["kind": "csat", "trigger": "manual"]).status == 200)
            let hello: [String: Any] = ["object": "page", "entry": [["id": "PAGE", "time": 1, "messaging": [[
                "sender": ["id": "PSID-1"], "recipient": ["id": "PAGE"], "timestamp": Int(Date().timeIntervalSince1970 * 1000),
                "message": ["mid": "m.1", "text": "Hola"]]]]]]
            #expect(try await messenger.postMeta(app, hello, secret: "m-secret").status == 200)
            let number = try #require(try await Conversation.query(on: app.store.db).filter(\.$channel == .messenger).first()?.number)
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/\(number)/surveys", token: workspace.token, json: [:]).status == 201)
            let offered = try await waitFor { provider.calls("/me/messages").first { ($0.json?["message"] as? [String: Any])?["quick_replies"] != nil } }
            let replies = (offered.json?["message"] as? [String: Any])?["quick_replies"] as? [[String: Any]] ?? []
            #expect(replies.map { $0["title"] as? String } == ["1", "2", "3", "4", "5"])
        }
        try await provider.stop()
    }
}
