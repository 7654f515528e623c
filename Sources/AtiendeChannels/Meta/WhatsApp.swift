import AtiendeCore
import Foundation

/// WhatsApp Business Cloud API. Settings: `phone_number_id`, `api_base` (https://graph.facebook.com), `api_version`.
/// Secrets: `access_token`, `app_secret` (signs webhooks), `verify_token` (the subscription handshake; generated).
public struct WhatsAppAdapter: MessagingAdapter {
    public let http: ProviderHTTP
    public var kind: ChannelKind { .whatsapp }
    public var icon: String { "🟢" }
    public var fields: [ChannelField] {
        [ChannelField("phone_number_id"), .secret("access_token"), .secret("app_secret"), .apiBase, .publicURL,
         ChannelField("api_version", required: false, inForm: false)]
    }
    public var tokens: [GeneratedToken] { [MetaSubscription.token] }
    /// Free-form replies for 24 hours after the customer's last message, then only approved templates.
    public var replyRules: ReplyRules { ReplyRules(window: Self.window, templates: true) }
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
        let object = try jsonObject(request.body, provider: "WhatsApp")
        guard object["object"] as? String == "whatsapp_business_account", let entries = object["entry"] as? [[String: Any]] else {
            throw AtiendeError.invalid("not a WhatsApp Business webhook (object/entry missing)", code: "invalid_payload")
        }
        var events: [ChannelEvent] = []
        var otherNumber: String?
        let mine = settings.values["phone_number_id"] ?? ""
        for entry in entries {
            for change in entry["changes"] as? [[String: Any]] ?? [] {
                guard let value = change["value"] as? [String: Any] else { continue }
                // Events of another number of the same Meta app are not this inbox's.
                if let number = (value["metadata"] as? [String: Any])?["phone_number_id"] as? String, !mine.isEmpty, number != mine {
                    otherNumber = number
                    continue
                }
                var names: [String: String] = [:]
                for contact in value["contacts"] as? [[String: Any]] ?? [] {
                    if let id = contact["wa_id"] as? String, let name = (contact["profile"] as? [String: Any])?["name"] as? String { names[id] = name }
                }
                for message in value["messages"] as? [[String: Any]] ?? [] {
                    guard let from = message["from"] as? String, let id = message["id"] as? String, let type = message["type"] as? String else {
                        throw AtiendeError.invalid("a WhatsApp message needs from, id and type", code: "invalid_payload")
                    }
                    let (text, media) = Self.content(type: type, message)
                    let sender = InboundMessage.Sender(name: names[from], identities: [(.whatsapp, from), (.phone, "+" + from)])
                    events.append(.message(InboundMessage(inboxID: inboxID, providerMessageID: id, sender: sender, text: text,
                                                          sentAt: Date(unixString: message["timestamp"] as? String)), media: media))
                }
                for status in value["statuses"] as? [[String: Any]] ?? [] {
                    guard let id = status["id"] as? String, let raw = status["status"] as? String else { continue }
                    let mapped: DeliveryStatus? = switch raw {
                    case "sent": .sent
                    case "delivered": .delivered
                    case "read": .read
                    case "failed": .failed
                    default: nil
                    }
                    guard let mapped else { continue }
                    var reason: String?
                    if mapped == .failed {
                        let error = (status["errors"] as? [[String: Any]])?.first
                        let code = error?["code"].map { "\($0)" } ?? "?"
                        let details = (error?["error_data"] as? [String: Any])?["details"] as? String
                        reason = "WhatsApp \(code): " + ((error?["title"] as? String) ?? (error?["message"] as? String) ?? "failed")
                            + (details.map { " (\($0))" } ?? "") + (code == "131047" ? " — more than 24 hours passed; send an approved template" : "")
                    }
                    events.append(.status(providerMessageID: id, status: mapped, error: reason))
                }
            }
        }
        if events.isEmpty, let otherNumber { throw otherAccount("WhatsApp", expected: "phone number id \(mine)", given: otherNumber) }
        return events
    }

    /// The text of a message of any type, and the files to fetch for it.
    static func content(type: String, _ message: [String: Any]) -> (String, [MediaRef]) {
        let part = message[type] as? [String: Any] ?? [:]
        switch type {
        case "text": return (part["body"] as? String ?? "", [])
        case "image", "audio", "video", "document", "sticker":
            let mime = part["mime_type"] as? String
            let ext = mime.flatMap { $0.split(separator: "/").last.map { String($0.split(separator: ";")[0]) } } ?? "bin"
            let name = part["filename"] as? String ?? "\(type).\(ext)"
            return (part["caption"] as? String ?? "", [MediaRef(id: part["id"] as? String, filename: name, contentType: mime)])
        case "location":
            let lat = part["latitude"].map { "\($0)" } ?? "", lon = part["longitude"].map { "\($0)" } ?? ""
            let label = [part["name"] as? String, part["address"] as? String].compactMap { $0 }.joined(separator: ", ")
            return ("📍 \(label.isEmpty ? "" : label + " ")https://maps.google.com/?q=\(lat),\(lon)", [])
        case "button": return (part["text"] as? String ?? "", [])
        case "interactive":
            let reply = (part["button_reply"] ?? part["list_reply"]) as? [String: Any]
            return (reply?["title"] as? String ?? "", [])
        case "reaction": return ("\(part["emoji"] as? String ?? "")", [])
        case "contacts":
            let names = (message["contacts"] as? [[String: Any]] ?? []).compactMap { ($0["name"] as? [String: Any])?["formatted_name"] as? String }
            return ("👤 " + names.joined(separator: ", "), [])
        default: return ("[\(type)]", [])
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
        let to = try recipient(message, kind: .whatsapp).replacingOccurrences(of: "+", with: "")
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
        if code == "131047" { text = (text ?? "") + " — more than 24 hours passed; send an approved template" }
        return providerFailure("WhatsApp", status: answer.status, code: code, message: text,
                               temporaryCodes: ["130429", "131048", "131056", "131000", "133004"])
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
