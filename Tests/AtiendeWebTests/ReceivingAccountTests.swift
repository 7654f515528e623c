@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Crypto
import Fluent
import Foundation
import Testing
import Vapor

/// Several numbers, pages or Twilio accounts on one provider app: a webhook is only for the inbox of the account it names.
@Suite("Messaging webhooks name their receiving account", .serialized)
struct ReceivingAccountTests {
    @Test("A webhook for another number, page or Twilio account of the same app is refused and stores nothing")
    func receivingAccount() async throws {
        let provider = try await ProviderStandIn.start()
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let whatsapp = try await MessagingInbox.make(app, workspace, channel: "whatsapp", settings: ["phone_number_id": "1234", "api_base": provider.base],
                                                         secrets: ["access_token": "t", "app_secret": "s"])
            let other = whatsappWebhook(messages: [waText("wamid.OTHER", "para otro número")])
            let body = try JSONSerialization.data(withJSONObject: other)
            let rewritten = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"1234\"", with: "\"9999\"")
            let answer = try await app.request(.POST, whatsapp.path, raw: Data(rewritten.utf8),
                                               headers: [("Content-Type", "application/json"), ("X-Hub-Signature-256", HubSignature.sign(Data(rewritten.utf8), secret: "s"))])
            #expect(answer.status == 403 && answer.text.contains("wrong_account"), "\(answer.text)")
            #expect(try await whatsapp.postMeta(app, whatsappWebhook(messages: [waText("wamid.MINE", "para este")]), secret: "s").status == 200)

            let page = try await MessagingInbox.make(app, workspace, channel: "messenger", settings: ["page_id": "PAGE1", "api_base": provider.base],
                                                     secrets: ["page_access_token": "p", "app_secret": "s2"])
            let ms = Int(Date().timeIntervalSince1970 * 1000)
            let foreign: [String: Any] = ["object": "page", "entry": [["id": "PAGE2", "time": ms, "messaging": [
                ["sender": ["id": "PSID-1"], "recipient": ["id": "PAGE2"], "timestamp": ms, "message": ["mid": "m_other", "text": "hola"]]]]]]
            #expect(try await page.postMeta(app, foreign, secret: "s2").status == 403)

            let sms = try await MessagingInbox.make(app, workspace, channel: "twilio",
                                                    settings: ["account_sid": "AC1", "from": "+15550001111", "api_base": provider.base,
                                                               "public_url": "https://desk.example.com/hook"], secrets: ["auth_token": "tok"])
            func post(_ fields: [(String, String)]) async throws -> HTTPAnswer {
                let signature = TwilioAdapter.signature(url: "https://desk.example.com/hook", parameters: fields, authToken: "tok")
                return try await app.request(.POST, sms.path, raw: Data(ProviderHTTP.formEncode(fields).utf8),
                                             headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature)])
            }
            #expect(try await post([("MessageSid", "SM1"), ("AccountSid", "AC2"), ("From", "+56911112222"), ("To", "+15550001111"), ("Body", "x")]).status == 403)
            #expect(try await post([("MessageSid", "SM2"), ("AccountSid", "AC1"), ("From", "+56911112222"), ("To", "+15559999999"), ("Body", "x")]).status == 403)
            #expect(try await Message.query(on: app.store.db).all().map(\.text) == ["para este"])
        }
        try await provider.stop()
    }
}
