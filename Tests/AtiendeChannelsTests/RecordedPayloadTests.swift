import AsyncHTTPClient
@testable import AtiendeChannels
import AtiendeCore
import AtiendeNetwork
import Foundation
import Testing

/// Payloads in the shapes the providers document and send, replayed through each adapter: what each becomes.
@Suite("Recorded provider payloads through the adapters")
struct RecordedPayloadTests {
    static let http = ProviderHTTP(http: GuardedHTTP(client: HTTPClient.shared, network: .strict))
    let inbox = UUID()

    func payload(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Payloads"))
        return try Data(contentsOf: url)
    }

    func events(_ adapter: any MessagingAdapter, _ name: String, settings: [String: String]) throws -> [ChannelEvent] {
        try adapter.events(WebhookRequest(body: try payload(name), headers: [], url: "https://atiende.example/webhooks/x"),
                           inboxID: inbox, settings: InboxSettings(values: settings))
    }

    func messages(_ events: [ChannelEvent]) -> [(message: InboundMessage, media: [MediaRef])] {
        events.compactMap { if case .message(let message, let media) = $0 { (message, media) } else { nil } }
    }

    @Test("WhatsApp: text, media, location and button replies; delivery and a typed failure; another number refused")
    func whatsapp() throws {
        let adapter = WhatsAppAdapter(http: Self.http)
        let number = ["phone_number_id": "106540352242922"]
        let text = messages(try events(adapter, "whatsapp-text.json", settings: number))
        #expect(text.count == 1)
        #expect(text.first?.message.text == "Does it come in another color?")
        #expect(text.first?.message.sender.name == "Sheena Nelson")
        #expect(text.first?.message.sender.identities.map(\.value) == ["16505551234", "+16505551234"])
        #expect(text.first?.message.sentAt == Date(timeIntervalSince1970: 1_749_416_383))

        let media = messages(try events(adapter, "whatsapp-media.json", settings: number))
        #expect(media.map(\.message.text) == ["This is a photo of my puppy!", "Lucky Shrub Invoice",
                                              "📍 Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301 https://maps.google.com/?q=37.44211676562361,-122.16155960083124",
                                              "Yes, please"])
        #expect(media[0].media == [MediaRef(id: "1003383421387256", filename: "image.jpeg", contentType: "image/jpeg")])
        #expect(media[1].media.first?.filename == "lucky-shrub-invoice.pdf")

        let statuses = try events(adapter, "whatsapp-status-failed.json", settings: number)
        guard statuses.count == 2, case .status("wamid.SENT1", .delivered, nil) = statuses[0],
              case .status("wamid.SENT2", .failed, let failure?) = statuses[1] else {
            Issue.record("\(statuses)")
            return
        }
        #expect(failure.code == .windowClosed && failure.detail.hasPrefix("WhatsApp 131047: Re-engagement message"))

        #expect(throws: AtiendeError.self) { try events(adapter, "whatsapp-text.json", settings: ["phone_number_id": "999"]) }
        #expect(throws: AtiendeError.self) { try events(adapter, "telegram-message.json", settings: number) }
    }

    @Test("Messenger and Instagram: text and attachments, echoes skipped, delivery and read watermarks")
    func messenger() throws {
        let page = MessengerAdapter(http: Self.http, kind: .messenger)
        let all = try events(page, "messenger-message.json", settings: ["page_id": "PAGE-1"])
        let received = messages(all)
        #expect(received.map(\.message.providerMessageID) == ["m_1457764197618:41d102a3e1ae206a38", "m_2"], "the echo is skipped")
        #expect(received[0].message.text == "hello, world!" && received[0].message.sender.identities.first?.kind == .messenger)
        #expect(received[1].media.first?.url == "https://scontent.xx.fbcdn.net/v/t1.15752-9/a.jpg")
        #expect(all.contains { if case .status("m_out_1", .delivered, nil) = $0 { true } else { false } })
        #expect(all.contains { if case .watermark(.messenger, "PSID-1", .read, _) = $0 { true } else { false } })
        #expect(throws: AtiendeError.self) { try events(page, "messenger-message.json", settings: ["page_id": "OTHER"]) }
        #expect(throws: AtiendeError.self) { try events(page, "instagram-message.json", settings: [:]) }

        let instagram = MessengerAdapter(http: Self.http, kind: .instagram)
        let dm = messages(try events(instagram, "instagram-message.json", settings: ["page_id": "IGID-1"]))
        #expect(dm.first?.message.text == "¿Hacen envíos a regiones?" && dm.first?.message.sender.identities.first?.kind == .instagram)
    }

    @Test("Telegram: private text and photos by update id, edits marked, groups ignored")
    func telegram() throws {
        let bot = TelegramAdapter(http: Self.http)
        let text = messages(try events(bot, "telegram-message.json", settings: [:]))
        #expect(text.first?.message.providerMessageID == "update:10000" && text.first?.message.text == "/start")
        #expect(text.first?.message.sender.name == "Test Firstname Test Lastname")
        #expect(text.first?.message.sender.identities.first?.value == "1111111")
        let photo = messages(try events(bot, "telegram-photo.json", settings: [:]))
        #expect(photo.first?.message.text == "my order" && photo.first?.media.first?.id == "AgADBAADlarge", "the largest size")
        #expect(messages(try events(bot, "telegram-edited.json", settings: [:])).first?.message.text == "✏️ /start please")
        #expect(try events(bot, "telegram-group.json", settings: [:]).isEmpty)
        #expect(throws: AtiendeError.self) { try events(bot, "whatsapp-text.json", settings: [:]) }
    }

    @Test("Twilio: SMS and WhatsApp with media from the form fields; an undelivered status typed")
    func twilio() throws {
        let twilio = TwilioAdapter(http: Self.http)
        let account = ["account_sid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"]
        let sms = messages(try events(twilio, "twilio-sms.form", settings: account.merging(["from": "+15017122661"]) { $1 }))
        #expect(sms.first?.message.text == "Hola, ¿están abiertos?" && sms.first?.message.sender.identities.map(\.kind) == [.phone])
        let whatsapp = messages(try events(twilio, "twilio-whatsapp-media.form", settings: account))
        #expect(whatsapp.first?.message.sender.identities.map(\.kind) == [.whatsapp, .phone] && whatsapp.first?.message.sender.name == "Ana")
        #expect(whatsapp.first?.media.first?.contentType == "image/jpeg")
        let status = try events(twilio, "twilio-status-undelivered.form", settings: account)
        guard case .status("SM3", .failed, let failure?) = status.first else {
            Issue.record("\(status)")
            return
        }
        #expect(failure.code == .undeliverable && failure.detail.contains("30003"))
        #expect(throws: AtiendeError.self) { try events(twilio, "twilio-sms.form", settings: ["account_sid": "ACother"]) }
    }
}
