import AtiendeCore
import Crypto
import Foundation

/// Twilio SMS and WhatsApp. Settings: `account_sid`, `from` (`+1555…` or `whatsapp:+1555…`), `api_base`
/// (https://api.twilio.com), `public_url` (the URL Twilio calls, when we sit behind a proxy that changes it).
/// Secrets: `auth_token`.
public struct TwilioAdapter: MessagingAdapter {
    public let http: ProviderHTTP
    public var kind: ChannelKind { .twilio }
    public var icon: ChannelIcon { ChannelIcon(path: "M8 2h8a1 1 0 0 1 1 1v18a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zM11 18h2", color: "#e11d48") }
    public var fields: [ChannelField] {
        [ChannelField("account_sid"), ChannelField("from"), .secret("auth_token"), .apiBase, .publicURL,
         ChannelField("status_callback", .setting, .url, required: false, inForm: false)]
    }
    /// An empty TwiML answer: Twilio sends nothing back on its own.
    public func acknowledgement(for request: WebhookRequest) -> WebhookAcknowledgement {
        WebhookAcknowledgement(contentType: "application/xml", body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>")
    }

    /// SMS to a phone number, or WhatsApp through Twilio (`from` is `whatsapp:+…`).
    public var replyRules: ReplyRules { ReplyRules(reaches: [.phone, .whatsapp]) }

    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] { [ChannelAddress(.url, label: "inbox.webhook_url", site.webhookURL)] }

    /// Twilio reports delivery to the same webhook, when this instance knows its public address. `from` is a number in
    /// international format (`+56…`), the same on WhatsApp (`whatsapp:+56…`), a messaging service (`MG…`) or an
    /// alphanumeric sender (up to 11 letters and digits).
    public func validate(_ settings: inout InboxSettings, secrets: inout [String: String], site: ChannelSite?) throws {
        let from = settings.values["from"] ?? ""
        let number = from.hasPrefix("whatsapp:") ? String(from.dropFirst("whatsapp:".count)) : from
        let e164 = number.first == "+" && (8...16).contains(number.count) && number.dropFirst().allSatisfy(\.isASCII) && number.dropFirst().allSatisfy(\.isNumber)
        let service = from.hasPrefix("MG") && from.count == 34 && from.dropFirst(2).allSatisfy(\.isHexDigit)
        let alphanumeric = !from.hasPrefix("whatsapp:") && (1...11).contains(from.count) && from.contains(where: \.isLetter)
            && from.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == " ") }
        guard e164 || service || alphanumeric else {
            throw AtiendeError.invalid("settings.from must be a number like +15017122661, whatsapp:+15017122661, a messaging service (MG…) or a sender name",
                                       code: "invalid_settings", parameters: ["field": "inbox.from", "expected": "input.phone", "channel": kind.rawValue])
        }
        if let site, (settings.values["status_callback"] ?? "").isEmpty { settings.values["status_callback"] = site.webhookURL }
    }

    public init(http: ProviderHTTP) { self.http = http }

    /// `base64(HMAC-SHA1(auth token, url + every parameter name and value, sorted by name))`.
    public static func signature(url: String, parameters: [(String, String)], authToken: String) -> String {
        let sorted = parameters.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        let text = url + sorted.map { $0.0 + $0.1 }.joined()
        return Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(authToken.utf8)))).base64EncodedString()
    }

    /// A form body's fields in order (`+` is a space).
    public static func formFields(_ body: Data) -> [(String, String)] {
        String(decoding: body, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    public func verify(_ request: WebhookRequest, settings: InboxSettings, secrets: [String: String], now: Date) throws {
        guard let token = secrets["auth_token"], !token.isEmpty else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "the inbox has no auth token")
        }
        guard let given = request.header("X-Twilio-Signature"), !given.isEmpty else {
            throw AtiendeError(.unauthorized, code: "missing_signature", "X-Twilio-Signature is required")
        }
        let expected = Self.signature(url: request.url, parameters: Self.formFields(request.body), authToken: token)
        guard SecretToken.constantTimeEquals(expected, given) else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "X-Twilio-Signature does not match the URL and parameters")
        }
    }

    public func events(_ request: WebhookRequest, inboxID: UUID, settings: InboxSettings) throws -> [ChannelEvent] {
        let fields = Self.formFields(request.body)
        let value = { (name: String) in fields.first { $0.0 == name }?.1 }
        guard let sid = value("MessageSid") ?? value("SmsSid"), !sid.isEmpty else {
            throw AtiendeError.invalid("a Twilio request needs MessageSid", code: "invalid_payload")
        }
        // Another Twilio account, or another of its numbers, is another inbox.
        let account = settings.values["account_sid"] ?? ""
        if let given = value("AccountSid"), !account.isEmpty, given != account {
            throw otherAccount("Twilio", expected: "account \(account)", given: given)
        }
        if let status = value("MessageStatus"), status != "received" {
            let mapped: DeliveryStatus? = switch status {
            case "sent": .sent
            case "delivered": .delivered
            case "read": .read
            case "failed", "undelivered": .failed
            default: nil
            }
            guard let mapped else { return [] }
            let code = value("ErrorCode")
            let failure = mapped == .failed
                ? DeliveryFailure(code.flatMap { Self.codes[$0] } ?? .failed, "Twilio \(code ?? "?"): \(value("ErrorMessage") ?? Self.explain(code))") : nil
            return [.status(providerMessageID: sid, status: mapped, failure: failure)]
        }
        guard let from = value("From"), !from.isEmpty else { throw AtiendeError.invalid("a Twilio message needs From", code: "invalid_payload") }
        if let to = value("To"), let ours = settings.values["from"], !ours.isEmpty, to != ours {
            throw otherAccount("Twilio", expected: ours, given: to)
        }
        let number = from.hasPrefix("whatsapp:") ? String(from.dropFirst("whatsapp:".count)) : from
        // The same phone number on WhatsApp and on SMS is the same person.
        let identities: [(kind: IdentityKind, value: String)] = from.hasPrefix("whatsapp:") ? [(.whatsapp, number), (.phone, number)] : [(.phone, number)]
        let count = Int(value("NumMedia") ?? "0") ?? 0
        let media = (0..<min(count, 10)).compactMap { n -> MediaRef? in
            guard let url = value("MediaUrl\(n)") else { return nil }
            let type = value("MediaContentType\(n)")
            let ext = type.flatMap { $0.split(separator: "/").last.map(String.init) } ?? "bin"
            return MediaRef(url: url, filename: "media-\(n + 1).\(ext)", contentType: type)
        }
        return [.message(InboundMessage(inboxID: inboxID, providerMessageID: sid,
                                        sender: .init(name: value("ProfileName"), identities: identities), text: value("Body") ?? ""), media: media)]
    }

    /// Twilio's error codes, typed.
    static let codes: [String: DeliveryFailure.Code] = [
        "30003": .undeliverable, "30004": .rejected, "30005": .recipientUnknown, "30006": .undeliverable, "30007": .rejected,
        "63016": .windowClosed, "21211": .recipientUnknown, "21610": .rejected, "20003": .credentials, "20429": .rateLimited,
        "21408": .rejected, "21614": .recipientUnknown,
    ]

    static func explain(_ code: String?) -> String {
        switch code {
        case "30003": "unreachable destination handset"
        case "30004": "message blocked"
        case "30005": "unknown destination handset"
        case "30006": "landline or unreachable carrier"
        case "30007": "filtered as spam by the carrier"
        case "63016": "outside the WhatsApp 24-hour window; send an approved template"
        default: "not delivered"
        }
    }

    func base(_ settings: InboxSettings) -> String {
        (settings.values["api_base"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://api.twilio.com").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    func auth(_ settings: InboxSettings, _ secrets: [String: String]) -> [(String, String)] {
        [("Authorization", ProviderHTTP.basicAuth(settings.values["account_sid"] ?? "", secrets["auth_token"] ?? ""))]
    }

    public func fetch(_ media: MediaRef, settings: InboxSettings, secrets: [String: String]) async throws -> InboundMessage.File {
        guard let url = media.url else { throw AtiendeError.invalid("a Twilio file without a URL", code: "invalid_payload") }
        // Media URLs are Twilio's own (they redirect to its CDN, where the credentials do not follow).
        return try await http.download(url, headers: auth(settings, secrets), filename: media.filename, contentType: media.contentType,
                                       origins: [GuardedHTTP.origin(of: base(settings))].compactMap { $0 })
    }

    public func send(_ message: OutboundMessage) async throws -> OutboundReceipt {
        guard message.files.isEmpty else {
            throw JobFailure.permanent("Twilio takes files only from a public URL; send the file through another channel", code: .rejected)
        }
        let from = message.settings.values["from"] ?? ""
        let whatsapp = from.hasPrefix("whatsapp:")
        let number = try whatsapp ? recipient(message, kind: .whatsapp, or: .phone) : recipient(message, kind: .phone, or: .whatsapp)
        let to = number.hasPrefix("+") ? number : "+" + number
        var fields = [("To", (whatsapp ? "whatsapp:" : "") + to), ("From", from), ("Body", message.message.text)]
        if let callback = message.settings.values["status_callback"], !callback.isEmpty { fields.append(("StatusCallback", callback)) }
        let sid = message.settings.values["account_sid"] ?? ""
        let answer = try await http.form(base(message.settings) + "/2010-04-01/Accounts/\(sid)/Messages.json", fields, headers: auth(message.settings, message.secrets))
        guard (200..<300).contains(answer.status), let id = answer.json?["sid"] as? String else {
            let code = answer.json?["code"].map { "\($0)" }
            throw providerFailure("Twilio", status: answer.status, code: code, message: answer.json?["message"] as? String,
                                  temporaryCodes: ["20429", "30001"], codes: Self.codes)
        }
        return OutboundReceipt(providerMessageID: id)
    }

    public func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String {
        let sid = settings.values["account_sid"] ?? ""
        let answer = try await http.call(.GET, base(settings) + "/2010-04-01/Accounts/\(sid).json", headers: auth(settings, secrets))
        guard answer.status == 200 else {
            throw AtiendeError.invalid("Twilio answered \(answer.status): \(answer.json?["message"] as? String ?? "")", code: "credentials_refused")
        }
        return answer.json?["friendly_name"] as? String ?? sid
    }
}
