import AtiendeCore
import Foundation

/// WhatsApp Business Cloud API. Settings: `phone_number_id`, `api_base` (https://graph.facebook.com), `api_version`.
/// Secrets: `access_token`, `app_secret` (signs webhooks), `verify_token` (the subscription handshake; generated).
public struct WhatsAppAdapter: MessagingAdapter {
    public let http: ProviderHTTP
    public var kind: ChannelKind { .whatsapp }
    public var icon: ChannelIcon {
        ChannelIcon(path: "M12 3a9 9 0 0 0-7.8 13.5L3 21l4.6-1.2A9 9 0 1 0 12 3zM9 8.5c0 3.6 2.9 6.5 6.5 6.5", color: "#128c4a")
    }
    public var fields: [ChannelField] {
        [ChannelField("phone_number_id"), .secret("access_token"), .secret("app_secret"), .apiBase, .publicURL,
         ChannelField("api_version", required: false, inForm: false)]
    }
    public var tokens: [GeneratedToken] { [MetaSubscription.token] }
    /// Free-form replies for 24 hours after the customer's last message, then only approved templates.
    public var replyRules: ReplyRules { ReplyRules(window: Self.window, templates: true, reaches: [.whatsapp, .phone]) }
    public static let window: TimeInterval = 24 * 3600

    public func handshake(_ query: [String: String], settings: InboxSettings) throws -> String { try MetaSubscription.answer(query, settings: settings) }
    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] { MetaSubscription.addresses(inbox, site: site) }

    public init(http: ProviderHTTP) { self.http = http }

    func base(_ settings: InboxSettings) -> String {
        let root = settings.values["api_base"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://graph.facebook.com"
        return root.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/" + (settings.values["api_version"] ?? "v21.0")
    }

    func auth(_ secrets: [String: String]) -> [(String, String)] { [("Authorization", "Bearer " + (secrets["access_token"] ?? ""))] }

    public func verify(_ request: WebhookRequest, settings: InboxSettings, secrets: [String: String], now: Date) throws {
        try HubSignature.verify(request, secret: secrets["app_secret"])
    }

    public func events(_ request: WebhookRequest, inboxID: UUID, settings: InboxSettings) throws -> [ChannelEvent] {
        guard let webhook = try? MetaJSON.decoder.decode(WhatsAppWebhook.self, from: request.body),
              webhook.object == "whatsapp_business_account" else {
            throw AtiendeError.invalid("not a WhatsApp Business webhook (object/entry missing)", code: "invalid_payload")
        }
        var events: [ChannelEvent] = []
        var otherNumber: String?
        let mine = settings.values["phone_number_id"] ?? ""
        for change in webhook.entry.flatMap({ $0.changes ?? [] }) {
            guard let value = change.value else { continue }
            // Events of another number of the same Meta app are not this inbox's.
            if let number = value.metadata?.phoneNumberId, !mine.isEmpty, number != mine {
                otherNumber = number
                continue
            }
            var names: [String: String] = [:]
            for contact in value.contacts ?? [] { if let id = contact.waId, let name = contact.profile?.name { names[id] = name } }
            for message in value.messages ?? [] {
                let (text, media) = Self.content(message)
                let sender = InboundMessage.Sender(name: names[message.from], identities: [(.whatsapp, message.from), (.phone, "+" + message.from)])
                events.append(.message(InboundMessage(inboxID: inboxID, providerMessageID: message.id, sender: sender, text: text,
                                                      sentAt: Date(unixString: message.timestamp)), media: media))
            }
            for status in value.statuses ?? [] {
                let mapped: DeliveryStatus? = switch status.status {
                case "sent": .sent
                case "delivered": .delivered
                case "read": .read
                case "failed": .failed
                default: nil
                }
                guard let mapped else { continue }
                events.append(.status(providerMessageID: status.id, status: mapped, failure: mapped == .failed ? Self.failure(status.errors?.first) : nil))
            }
        }
        if events.isEmpty, let otherNumber { throw otherAccount("WhatsApp", expected: "phone number id \(mine)", given: otherNumber) }
        return events
    }

    /// WhatsApp's error codes, typed: the closed 24-hour window, undeliverable, throughput limits, a refused recipient.
    static let codes: [String: DeliveryFailure.Code] = [
        "131047": .windowClosed, "131026": .undeliverable, "131049": .rejected, "131050": .rejected, "131051": .failed,
        "130429": .rateLimited, "131048": .rateLimited, "131056": .rateLimited, "190": .credentials, "131030": .recipientUnknown,
    ]

    static func failure(_ error: WhatsAppWebhook.ErrorInfo?) -> DeliveryFailure {
        let code = error?.code.map(String.init) ?? "?"
        let detail = "WhatsApp \(code): " + (error?.title ?? error?.message ?? "failed") + (error?.errorData?.details.map { " (\($0))" } ?? "")
        return DeliveryFailure(codes[code] ?? .failed, detail)
    }

    /// The text of a message of any type, and the files to fetch for it.
    static func content(_ message: WhatsAppWebhook.Message) -> (String, [MediaRef]) {
        switch message.type {
        case "text": return (message.text?.body ?? "", [])
        case "image", "audio", "video", "document", "sticker":
            let part = [message.image, message.audio, message.video, message.document, message.sticker].compactMap { $0 }.first
            let mime = part?.mimeType
            let ext = mime.flatMap { $0.split(separator: "/").last.map { String($0.split(separator: ";")[0]) } } ?? "bin"
            let name = part?.filename ?? "\(message.type).\(ext)"
            return (part?.caption ?? "", [MediaRef(id: part?.id, filename: name, contentType: mime)])
        case "location":
            let place = message.location
            let label = [place?.name, place?.address].compactMap { $0 }.joined(separator: ", ")
            let at = "\(place?.latitude.map { "\($0)" } ?? ""),\(place?.longitude.map { "\($0)" } ?? "")"
            return ("📍 \(label.isEmpty ? "" : label + " ")https://maps.google.com/?q=\(at)", [])
        case "button": return (message.button?.text ?? "", [])
        case "interactive": return ((message.interactive?.buttonReply ?? message.interactive?.listReply)?.title ?? "", [])
        case "reaction": return (message.reaction?.emoji ?? "", [])
        case "contacts": return ("👤 " + (message.contacts ?? []).compactMap(\.name?.formattedName).joined(separator: ", "), [])
        default: return ("[\(message.type)]", [])
        }
    }

    public func fetch(_ media: MediaRef, settings: InboxSettings, secrets: [String: String]) async throws -> InboundMessage.File {
        guard let id = media.id else { throw AtiendeError.invalid("a WhatsApp file without an id", code: "invalid_payload") }
        let info = try await http.call(.GET, base(settings) + "/" + id, headers: auth(secrets))
        guard info.status == 200, let url = info.json?["url"] as? String else {
            throw JobFailure.temporary("WhatsApp media \(id) answered \(info.status)")
        }
        // The token goes only to Meta's own hosts (or the configured API base).
        return try await http.download(url, headers: auth(secrets), filename: media.filename,
                                       contentType: media.contentType ?? info.json?["mime_type"] as? String,
                                       origins: [GuardedHTTP.origin(of: base(settings))].compactMap { $0 }, hostSuffixes: MetaHosts.media)
    }

    public func send(_ message: OutboundMessage) async throws -> OutboundReceipt {
        let to = try recipient(message, kind: .whatsapp, or: .phone).replacingOccurrences(of: "+", with: "")
        let url = base(message.settings) + "/" + (message.settings.values["phone_number_id"] ?? "") + "/messages"
        var ids: [String] = []
        func post(_ body: [String: Any]) async throws {
            var payload: [String: Any] = ["messaging_product": "whatsapp", "recipient_type": "individual", "to": to]
            for (k, v) in body { payload[k] = v }
            let answer = try await http.json(.POST, url, payload, headers: auth(message.secrets))
            guard (200..<300).contains(answer.status), let id = (answer.json?["messages"] as? [[String: Any]])?.first?["id"] as? String else {
                throw Self.failure(answer)
            }
            ids.append(id)
        }
        if let template = message.message.template {
            var body: [String: Any] = ["name": template.name, "language": ["code": template.language]]
            if !template.parameters.isEmpty {
                body["components"] = [["type": "body", "parameters": template.parameters.map { ["type": "text", "text": $0] }]]
            }
            try await post(["type": "template", "template": body])
            return OutboundReceipt(providerMessageID: ids.first)
        }
        if let survey = message.message.survey, survey.kind.scale.count <= 10 {
            // A survey's scale as a list (WhatsApp lists take up to ten rows; NPS's eleven go as text, answered with a number).
            let en = survey.language == "en"
            let rows: [[String: Any]] = survey.choices.reversed().map { choice in
                var row: [String: Any] = ["id": SurveyPrompt.payload(choice.score), "title": String(choice.score)]
                if let label = choice.label { row["description"] = label }
                return row
            }
            try await post(["type": "interactive", "interactive": [
                "type": "list", "body": ["text": String(message.message.text.prefix(1024))],
                "action": ["button": en ? "Answer" : "Responder", "sections": [["title": en ? "Your rating" : "Tu nota", "rows": rows]]],
            ] as [String: Any]])
            return OutboundReceipt(providerMessageID: ids.first)
        }
        if !message.message.text.isEmpty { try await post(["type": "text", "text": ["body": message.message.text, "preview_url": false]]) }
        for file in message.files {
            let upload = try await http.multipart(base(message.settings) + "/" + (message.settings.values["phone_number_id"] ?? "") + "/media",
                                                  fields: [("messaging_product", "whatsapp"), ("type", file.contentType)],
                                                  file: ("file", file.filename, file.contentType, file.data), headers: auth(message.secrets))
            guard (200..<300).contains(upload.status), let media = upload.json?["id"] as? String else { throw Self.failure(upload) }
            let type = file.contentType.hasPrefix("image/") ? "image" : file.contentType.hasPrefix("audio/") ? "audio"
                : file.contentType.hasPrefix("video/") ? "video" : "document"
            var part: [String: Any] = ["id": media]
            if type == "document" { part["filename"] = file.filename }
            try await post(["type": type, type: part])
        }
        return OutboundReceipt(providerMessageID: ids.first)
    }

    /// Graph API errors: `{"error": {"code", "message", "error_data": {"details"}}}`. 130429/131048/131056 are throughput
    /// limits (try again); 131047 is the closed 24-hour window; 131026 undeliverable.
    static func failure(_ answer: ProviderHTTP.Answer) -> JobFailure {
        let error = answer.json?["error"] as? [String: Any]
        let code = error?["code"].map { "\($0)" }
        var text = error?["message"] as? String
        if let details = (error?["error_data"] as? [String: Any])?["details"] as? String { text = (text ?? "") + " (\(details))" }
        return providerFailure("WhatsApp", status: answer.status, code: code, message: text,
                               temporaryCodes: ["130429", "131048", "131056", "131000", "133004"], codes: codes)
    }

    public func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String {
        let answer = try await http.call(.GET, base(settings) + "/" + (settings.values["phone_number_id"] ?? "") + "?fields=display_phone_number,verified_name",
                                         headers: auth(secrets))
        guard answer.status == 200 else { throw AtiendeError.invalid(Self.failure(answer).reason, code: "credentials_refused") }
        return [answer.json?["verified_name"] as? String, answer.json?["display_phone_number"] as? String].compactMap { $0 }.joined(separator: " · ")
    }
}

/// Where Meta serves the files of messages (WhatsApp's media URLs, Messenger and Instagram attachments).
enum MetaHosts {
    static let media = ["fbsbx.com", "fbcdn.net", "facebook.com", "whatsapp.net", "cdninstagram.com"]
}

/// A WhatsApp Cloud API webhook, as Meta documents it (only what we read).
struct WhatsAppWebhook: Decodable {
    var object: String
    var entry: [Entry]

    struct Entry: Decodable { var changes: [Change]? }
    struct Change: Decodable { var value: Value? }
    struct Value: Decodable {
        var metadata: Metadata?
        var contacts: [Contact]?
        var messages: [Message]?
        var statuses: [Status]?
    }
    struct Metadata: Decodable { var phoneNumberId: String? }
    struct Contact: Decodable {
        struct Profile: Decodable { var name: String? }
        var waId: String?
        var profile: Profile?
    }
    struct Message: Decodable {
        var from: String
        var id: String
        var timestamp: String?
        var type: String
        var text: Text?
        var image: Media?, audio: Media?, video: Media?, document: Media?, sticker: Media?
        var location: Location?
        var button: Button?
        var interactive: Interactive?
        var reaction: Reaction?
        var contacts: [SharedContact]?
    }
    struct Text: Decodable { var body: String? }
    struct Media: Decodable { var id: String?; var mimeType: String?; var caption: String?; var filename: String? }
    struct Location: Decodable { var latitude: Double?; var longitude: Double?; var name: String?; var address: String? }
    struct Button: Decodable { var text: String? }
    struct Interactive: Decodable {
        struct Reply: Decodable { var title: String? }
        var buttonReply: Reply?
        var listReply: Reply?
    }
    struct Reaction: Decodable { var emoji: String? }
    struct SharedContact: Decodable {
        struct Name: Decodable { var formattedName: String? }
        var name: Name?
    }
    struct Status: Decodable {
        var id: String
        var status: String
        var errors: [ErrorInfo]?
    }
    struct ErrorInfo: Decodable {
        struct Data: Decodable { var details: String? }
        var code: Int?
        var title: String?
        var message: String?
        var errorData: Data?
    }
}

/// Meta's payloads are snake_case JSON.
enum MetaJSON {
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}
