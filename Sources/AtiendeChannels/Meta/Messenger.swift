import AtiendeCore
import Foundation

/// Facebook Messenger and Instagram messaging (both through a Facebook page). Settings: `page_id`, `api_base`,
/// `api_version`. Secrets: `page_access_token`, `app_secret` (signs webhooks), `verify_token` (generated).
public struct MessengerAdapter: MessagingAdapter {
    public let http: ProviderHTTP
    public let kind: ChannelKind
    public var icon: ChannelIcon {
        kind == .instagram
            ? ChannelIcon(path: "M7 3h10a4 4 0 0 1 4 4v10a4 4 0 0 1-4 4H7a4 4 0 0 1-4-4V7a4 4 0 0 1 4-4zM12 8.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7zM17.5 6.5h.01", color: "#c13584")
            : ChannelIcon(path: "M12 3c-5 0-9 3.7-9 8.3 0 2.6 1.3 4.9 3.3 6.4V21l3-1.7c.9.3 1.8.4 2.7.4 5 0 9-3.7 9-8.4S17 3 12 3zM7 13l3.5-3.5 2.5 2.5L17 9", color: "#0866ff")
    }
    public var fields: [ChannelField] { [ChannelField("page_id"), .secret("page_access_token"), .secret("app_secret"), .apiBase, .publicURL] }
    public var tokens: [GeneratedToken] { [MetaSubscription.token] }
    /// Seven days after the customer's last message (the human agent tag after the first 24 hours).
    public var replyRules: ReplyRules { ReplyRules(window: 7 * 24 * 3600, reaches: [identity]) }

    public func handshake(_ query: [String: String], settings: InboxSettings) throws -> String { try MetaSubscription.answer(query, settings: settings) }
    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] { MetaSubscription.addresses(inbox, site: site) }
    /// Free replies within a day of the customer's message; then the human agent tag (up to 7 days).
    public static let standardWindow: TimeInterval = 24 * 3600

    public init(http: ProviderHTTP, kind: ChannelKind) {
        self.http = http
        self.kind = kind
    }

    var identity: IdentityKind { kind == .instagram ? .instagram : .messenger }
    var name: String { kind == .instagram ? "Instagram" : "Messenger" }

    func base(_ settings: InboxSettings) -> String {
        let root = settings.values["api_base"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://graph.facebook.com"
        return root.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/" + (settings.values["api_version"] ?? "v21.0")
    }

    func token(_ secrets: [String: String]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return (secrets["page_access_token"] ?? "").addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    public func verify(_ request: WebhookRequest, settings: InboxSettings, secrets: [String: String], now: Date) throws {
        try HubSignature.verify(request, secret: secrets["app_secret"])
    }

    public func events(_ request: WebhookRequest, inboxID: UUID, settings: InboxSettings) throws -> [ChannelEvent] {
        let expected = kind == .instagram ? "instagram" : "page"
        guard let webhook = try? MetaJSON.decoder.decode(MessengerWebhook.self, from: request.body), webhook.object == expected else {
            throw AtiendeError.invalid("not a \(name) webhook (object must be '\(expected)', with entry)", code: "invalid_payload")
        }
        var events: [ChannelEvent] = []
        var otherPage: String?
        let mine = settings.values["page_id"] ?? ""
        for entry in webhook.entry {
            // Another page (or Instagram account) of the same app is another inbox.
            if let page = entry.id, !mine.isEmpty, page != mine {
                otherPage = page
                continue
            }
            for item in entry.messaging ?? [] {
                let sender = item.sender.id
                let at = item.timestamp.map { Date(timeIntervalSince1970: $0 / 1000) }
                if let message = item.message {
                    // Our own sends come back as echoes; they are already in the conversation.
                    if message.isEcho == true { continue }
                    var media: [MediaRef] = []
                    var lines: [String] = []
                    for (n, attachment) in (message.attachments ?? []).enumerated() {
                        let type = attachment.type ?? "file"
                        if let url = attachment.payload?.url, ["image", "audio", "video", "file"].contains(type) {
                            let ext = type == "image" ? "jpg" : type == "audio" ? "mp4" : type == "video" ? "mp4" : "bin"
                            media.append(MediaRef(url: url, filename: "\(type)-\(n + 1).\(ext)"))
                        } else if let title = attachment.title ?? attachment.payload?.title {
                            lines.append(title)
                        }
                    }
                    let text = ([message.text].compactMap { $0 } + lines).joined(separator: "\n")
                    events.append(.message(InboundMessage(inboxID: inboxID, providerMessageID: message.mid,
                                                          sender: .init(name: nil, identities: [(identity, sender)]),
                                                          text: text, sentAt: at), media: media))
                } else if let delivery = item.delivery {
                    for mid in delivery.mids ?? [] { events.append(.status(providerMessageID: mid, status: .delivered, failure: nil)) }
                    if let watermark = delivery.watermark {
                        events.append(.watermark(identity: identity, value: sender, status: .delivered, until: Date(timeIntervalSince1970: watermark / 1000)))
                    }
                } else if let read = item.read {
                    if let watermark = read.watermark {
                        events.append(.watermark(identity: identity, value: sender, status: .read, until: Date(timeIntervalSince1970: watermark / 1000)))
                    } else if let mid = read.mid {
                        events.append(.status(providerMessageID: mid, status: .read, failure: nil))
                    }
                }
            }
        }
        if events.isEmpty, let otherPage { throw otherAccount(name, expected: "page \(mine)", given: otherPage) }
        return events
    }

    public func fetch(_ media: MediaRef, settings: InboxSettings, secrets: [String: String]) async throws -> InboundMessage.File {
        guard let url = media.url else { throw AtiendeError.invalid("a \(name) file without a URL", code: "invalid_payload") }
        return try await http.download(url, filename: media.filename, contentType: media.contentType,
                                       origins: [GuardedHTTP.origin(of: base(settings))].compactMap { $0 }, hostSuffixes: MetaHosts.media)
    }

    public func send(_ message: OutboundMessage) async throws -> OutboundReceipt {
        let to = try recipient(message, kind: identity)
        let url = base(message.settings) + "/me/messages?access_token=" + token(message.secrets)
        // Within a day of the customer's message a reply is a RESPONSE; later (up to 7 days) it needs the human agent tag.
        let late = message.lastIncomingAt.map { message.now.timeIntervalSince($0) > Self.standardWindow } ?? false
        var envelope: [String: Any] = ["recipient": ["id": to], "messaging_type": late ? "MESSAGE_TAG" : "RESPONSE"]
        if late { envelope["tag"] = "HUMAN_AGENT" }
        var ids: [String] = []
        if !message.message.text.isEmpty {
            var body = envelope
            var content: [String: Any] = ["text": message.message.text]
            // A survey's scale as quick replies: a tap sends its number.
            if let survey = message.message.survey {
                content["quick_replies"] = survey.choices.map { ["content_type": "text", "title": String($0.score), "payload": SurveyPrompt.payload($0.score)] }
            }
            body["message"] = content
            let answer = try await http.json(.POST, url, body)
            guard (200..<300).contains(answer.status), let id = answer.json?["message_id"] as? String else { throw failure(answer) }
            ids.append(id)
        }
        for file in message.files {
            let type = file.contentType.hasPrefix("image/") ? "image" : file.contentType.hasPrefix("audio/") ? "audio"
                : file.contentType.hasPrefix("video/") ? "video" : "file"
            var fields: [(String, String)] = [
                ("recipient", String(decoding: try JSONSerialization.data(withJSONObject: ["id": to]), as: UTF8.self)),
                ("messaging_type", late ? "MESSAGE_TAG" : "RESPONSE"),
                ("message", "{\"attachment\":{\"type\":\"\(type)\",\"payload\":{\"is_reusable\":false}}}"),
            ]
            if late { fields.append(("tag", "HUMAN_AGENT")) }
            let answer = try await http.multipart(url, fields: fields, file: ("filedata", file.filename, file.contentType, file.data))
            guard (200..<300).contains(answer.status), let id = answer.json?["message_id"] as? String else { throw failure(answer) }
            ids.append(id)
        }
        return OutboundReceipt(providerMessageID: ids.first)
    }

    /// Graph API errors; code 4/613 and 2 are rate limits and outages; subcode 2018278 is outside the window.
    func failure(_ answer: ProviderHTTP.Answer) -> JobFailure {
        let error = answer.json?["error"] as? [String: Any]
        let code = error?["code"].map { "\($0)" }
        let subcode = error?["error_subcode"].map { "\($0)" }
        // 2018278: outside the messaging window; 551: this person is not available; 190: the token expired.
        let typed: [String: DeliveryFailure.Code] = ["551": .undeliverable, "190": .credentials, "4": .rateLimited, "613": .rateLimited, "10": .rejected]
        return providerFailure(name, status: answer.status, code: subcode == "2018278" ? "2018278" : code, message: error?["message"] as? String,
                               temporaryCodes: ["1", "2", "4", "613"], codes: typed.merging(["2018278": .windowClosed]) { $1 })
    }

    public func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String {
        let answer = try await http.call(.GET, base(settings) + "/me?fields=id,name&access_token=" + token(secrets))
        guard answer.status == 200 else { throw AtiendeError.invalid(failure(answer).reason, code: "credentials_refused") }
        return answer.json?["name"] as? String ?? ""
    }
}

/// A Messenger or Instagram webhook, as Meta documents it (only what we read).
struct MessengerWebhook: Decodable {
    var object: String
    var entry: [Entry]

    struct Entry: Decodable {
        var id: String?
        var messaging: [Item]?
    }
    struct Item: Decodable {
        struct Party: Decodable { var id: String }
        var sender: Party
        var timestamp: Double?
        var message: Message?
        var delivery: Delivery?
        var read: Read?
    }
    struct Message: Decodable {
        var mid: String
        var text: String?
        var isEcho: Bool?
        var attachments: [Attachment]?
    }
    struct Attachment: Decodable {
        struct Payload: Decodable { var url: String?; var title: String? }
        var type: String?
        var title: String?
        var payload: Payload?
    }
    struct Delivery: Decodable { var mids: [String]?; var watermark: Double? }
    struct Read: Decodable { var watermark: Double?; var mid: String? }
}
