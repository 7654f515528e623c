import AtiendeCore
import Foundation

/// Telegram bots. Settings: `api_base` (https://api.telegram.org). Secrets: `bot_token`, `secret_token` (generated;
/// given to `setWebhook`, then checked on every update in constant time). Private chats only.
public struct TelegramAdapter: MessagingAdapter {
    public let http: ProviderHTTP
    public var kind: ChannelKind { .telegram }
    public var icon: ChannelIcon { ChannelIcon(path: "M21 4 3 11l6 2 2 6 3-4 5 4zM9 13 21 4", color: "#0088cc") }
    public var fields: [ChannelField] { [.secret("bot_token"), .apiBase] }
    /// Given to `setWebhook`, then checked on every update.
    public var tokens: [GeneratedToken] { [GeneratedToken("secret_token", .secret, prefix: "", bytes: 32)] }

    public var replyRules: ReplyRules { ReplyRules(reaches: [.telegram]) }

    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] { [ChannelAddress(.url, label: "inbox.webhook_url", site.webhookURL)] }

    public init(http: ProviderHTTP) { self.http = http }

    func root(_ settings: InboxSettings) -> String {
        (settings.values["api_base"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://api.telegram.org").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    func method(_ name: String, _ settings: InboxSettings, _ secrets: [String: String]) -> String {
        root(settings) + "/bot" + (secrets["bot_token"] ?? "") + "/" + name
    }

    public func verify(_ request: WebhookRequest, settings: InboxSettings, secrets: [String: String], now: Date) throws {
        guard let expected = secrets["secret_token"], !expected.isEmpty else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "the inbox has no secret token")
        }
        guard let given = request.header("X-Telegram-Bot-Api-Secret-Token"), SecretToken.constantTimeEquals(given, expected) else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "X-Telegram-Bot-Api-Secret-Token is missing or wrong")
        }
    }

    public func events(_ request: WebhookRequest, inboxID: UUID, settings: InboxSettings) throws -> [ChannelEvent] {
        guard let update = try? MetaJSON.decoder.decode(TelegramUpdate.self, from: request.body) else {
            throw AtiendeError.invalid("not a Telegram update (update_id, and a message with chat and from)", code: "invalid_payload")
        }
        // A tap on a survey's button: the customer's answer, the number it carries.
        if let callback = update.callbackQuery {
            guard let chat = callback.message?.chat, chat.type == "private", let data = callback.data, let score = SurveyPrompt.score(inPayload: data)
            else { return [] }
            let name = [callback.from.firstName, callback.from.lastName].compactMap { $0 }.joined(separator: " ")
            return [.message(InboundMessage(inboxID: inboxID, providerMessageID: "callback:\(callback.id)",
                                            sender: .init(name: name.isEmpty ? callback.from.username : name, identities: [(.telegram, String(callback.from.id))]),
                                            text: score), media: [])]
        }
        guard let message = update.message ?? update.editedMessage else { return [] }
        guard let from = message.from else { throw AtiendeError.invalid("a Telegram message needs chat and from", code: "invalid_payload") }
        // Groups and channels are not customer conversations.
        guard message.chat.type == "private" else { return [] }
        let name = [from.firstName, from.lastName].compactMap { $0 }.joined(separator: " ")
        var text = message.text ?? message.caption ?? ""
        var media: [MediaRef] = []
        if let largest = message.photo?.last { media.append(MediaRef(id: largest.fileId, filename: "photo.jpg", contentType: "image/jpeg")) }
        for (file, fallback) in [(message.document, "document"), (message.audio, "audio.mp3"), (message.voice, "voice.ogg"), (message.video, "video.mp4")] {
            if let file { media.append(MediaRef(id: file.fileId, filename: file.fileName ?? fallback, contentType: file.mimeType)) }
        }
        if let location = message.location { text = "📍 https://maps.google.com/?q=\(location.latitude),\(location.longitude)" }
        if let sticker = message.sticker { text = sticker.emoji ?? "[sticker]" }
        if update.editedMessage != nil { text = "✏️ " + text }
        // The update id is the idempotency key: a redelivered update is the same message; an edit is a new one.
        return [.message(InboundMessage(inboxID: inboxID, providerMessageID: "update:\(update.updateId)",
                                        sender: .init(name: name.isEmpty ? from.username : name, identities: [(.telegram, String(from.id))]),
                                        text: text, sentAt: message.date.map { Date(timeIntervalSince1970: $0) }), media: media)]
    }

    /// A button's tap is answered in the webhook's own response (Telegram runs the method it names), so the customer's
    /// spinner stops at once.
    public func acknowledgement(for request: WebhookRequest) -> WebhookAcknowledgement {
        guard let update = try? MetaJSON.decoder.decode(TelegramUpdate.self, from: request.body), let callback = update.callbackQuery,
              let body = try? JSONSerialization.data(withJSONObject: ["method": "answerCallbackQuery", "callback_query_id": callback.id, "text": "✓"])
        else { return .ok }
        return WebhookAcknowledgement(contentType: "application/json", body: String(decoding: body, as: UTF8.self))
    }

    public func fetch(_ media: MediaRef, settings: InboxSettings, secrets: [String: String]) async throws -> InboundMessage.File {
        guard let id = media.id else { throw AtiendeError.invalid("a Telegram file without file_id", code: "invalid_payload") }
        let answer = try await http.json(.POST, method("getFile", settings, secrets), ["file_id": id])
        guard answer.json?["ok"] as? Bool == true, let path = (answer.json?["result"] as? [String: Any])?["file_path"] as? String else {
            throw failure(answer)
        }
        return try await http.download(root(settings) + "/file/bot" + (secrets["bot_token"] ?? "") + "/" + path,
                                       filename: media.filename, contentType: media.contentType,
                                       origins: [GuardedHTTP.origin(of: root(settings))].compactMap { $0 })
    }

    public func send(_ message: OutboundMessage) async throws -> OutboundReceipt {
        let chat = try recipient(message, kind: .telegram)
        var ids: [String] = []
        if !message.message.text.isEmpty {
            var body: [String: Any] = ["chat_id": chat, "text": message.message.text]
            // A survey's scale as an inline keyboard (rows of six at most); a tap comes back as a callback query.
            if let survey = message.message.survey {
                let buttons = survey.choices.map { ["text": String($0.score), "callback_data": SurveyPrompt.payload($0.score)] }
                body["reply_markup"] = ["inline_keyboard": stride(from: 0, to: buttons.count, by: 6).map { Array(buttons[$0..<min($0 + 6, buttons.count)]) }]
            }
            let answer = try await http.json(.POST, method("sendMessage", message.settings, message.secrets), body)
            ids.append(try sent(answer))
        }
        for file in message.files {
            let (name, field) = file.contentType.hasPrefix("image/") && file.contentType != "image/gif" ? ("sendPhoto", "photo") : ("sendDocument", "document")
            let answer = try await http.multipart(method(name, message.settings, message.secrets), fields: [("chat_id", chat)],
                                                  file: (field, file.filename, file.contentType, file.data))
            ids.append(try sent(answer))
        }
        return OutboundReceipt(providerMessageID: ids.first)
    }

    func sent(_ answer: ProviderHTTP.Answer) throws -> String {
        guard answer.json?["ok"] as? Bool == true, let result = answer.json?["result"] as? [String: Any], let id = result["message_id"] else {
            throw failure(answer)
        }
        return "\(id)"
    }

    /// `{"ok": false, "error_code": 429, "description", "parameters": {"retry_after": 5}}`: the wait is respected.
    func failure(_ answer: ProviderHTTP.Answer) -> JobFailure {
        let json = answer.json
        let retry = ((json?["parameters"] as? [String: Any])?["retry_after"] as? Double)
        let status = json?["error_code"] as? Int ?? answer.status
        let description = json?["description"] as? String ?? ""
        // 403 "bot was blocked by the user"; 400 "chat not found".
        let typed: DeliveryFailure.Code? = status == 403 ? .rejected : description.contains("chat not found") ? .recipientUnknown : nil
        return providerFailure("Telegram", status: status, code: typed.map { _ in String(status) }, message: description.isEmpty ? nil : description,
                               retryAfter: retry, codes: typed.map { [String(status): $0] } ?? [:])
    }

    /// The bot's name, and its updates pointed at our webhook when this instance knows its public address.
    public func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String {
        let answer = try await http.call(.GET, method("getMe", settings, secrets))
        guard answer.json?["ok"] as? Bool == true, let bot = answer.json?["result"] as? [String: Any] else {
            throw AtiendeError.invalid(failure(answer).reason, code: "credentials_refused")
        }
        let name = "@" + (bot["username"] as? String ?? "")
        guard let webhookURL else { return name }
        try await connect(webhookURL: webhookURL, settings: settings, secrets: secrets)
        return name + " · webhook set"
    }

    /// Points the bot's updates at our webhook, with the secret token Telegram will send back on each.
    public func connect(webhookURL: String, settings: InboxSettings, secrets: [String: String]) async throws {
        let answer = try await http.json(.POST, method("setWebhook", settings, secrets), [
            "url": webhookURL, "secret_token": secrets["secret_token"] ?? "",
            "allowed_updates": ["message", "edited_message", "callback_query"],
        ])
        guard answer.json?["ok"] as? Bool == true else { throw AtiendeError.invalid(failure(answer).reason, code: "credentials_refused") }
    }
}

/// A Telegram Bot API update, as Telegram documents it (only what we read).
struct TelegramUpdate: Decodable {
    var updateId: Int
    var message: Message?
    var editedMessage: Message?
    var callbackQuery: CallbackQuery?

    struct CallbackQuery: Decodable {
        var id: String
        var from: Message.User
        var message: Message?
        var data: String?
    }

    struct Message: Decodable {
        struct Chat: Decodable { var id: Int64; var type: String }
        struct User: Decodable { var id: Int64; var firstName: String?; var lastName: String?; var username: String? }
        struct PhotoSize: Decodable { var fileId: String }
        struct File: Decodable { var fileId: String; var fileName: String?; var mimeType: String? }
        struct Location: Decodable { var latitude: Double; var longitude: Double }
        struct Sticker: Decodable { var emoji: String? }
        var chat: Chat
        var from: User?
        var date: Double?
        var text: String?
        var caption: String?
        var photo: [PhotoSize]?
        var document: File?, audio: File?, voice: File?, video: File?
        var location: Location?
        var sticker: Sticker?
    }
}
