import AtiendeChannels
import AtiendeCore
import Crypto
import Foundation

/// A messaging provider that exists only in the tests, to prove that a new provider is this folder and one registration
/// line (`channels: [ParrotChannel.init]`): its fields, token, badge and texts come from here, and the inbox API, the
/// webhook endpoint, the admin form and the sender read them without an edit anywhere else.
///
/// Webhooks: `X-Parrot-Signature: <hex HMAC-SHA256(signing_key, body)>`, a JSON body of `events`. Sending: `POST
/// {api_base}/v1/send` with `Authorization: Key <api_key>`, answered `{"id": …}`.
struct ParrotChannel: MessagingAdapter {
    let http: ProviderHTTP

    init(http: ProviderHTTP) { self.http = http }

    var kind: ChannelKind { ChannelKind(rawValue: "parrot")! }
    var icon: ChannelIcon { ChannelIcon(path: "M5 12a7 7 0 0 1 14 0v6H5z", color: "#16a34a") }
    var fields: [ChannelField] {
        [ChannelField("parrot_account", label: "inbox.parrot_account"), .secret("api_key", label: "inbox.parrot_api_key"),
         ChannelField("api_base", .setting, .url, required: false, inForm: false)]
    }
    /// Shown once: the admin pastes it at Parrot, which signs its webhooks with it.
    var tokens: [GeneratedToken] { [GeneratedToken("signing_key", .secret, prefix: "prk_", shownOnce: true)] }
    var replyRules: ReplyRules { ReplyRules(window: 3600) }
    var translations: [String: [String: String]] {
        ["en": ["channel.parrot": "Parrot", "inbox.parrot_account": "Parrot account", "inbox.parrot_api_key": "Parrot API key"],
         "es": ["channel.parrot": "Loro", "inbox.parrot_account": "Cuenta de Loro", "inbox.parrot_api_key": "Clave de la API de Loro"]]
    }

    func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] { [ChannelAddress(.url, label: "inbox.webhook_url", site.webhookURL)] }

    static func sign(_ body: Data, key: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(key.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    func verify(_ request: WebhookRequest, settings: InboxSettings, secrets: [String: String], now: Date) throws {
        guard let key = secrets["signing_key"], let given = request.header("X-Parrot-Signature"),
              SecretToken.constantTimeEquals(Self.sign(request.body, key: key), given) else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "X-Parrot-Signature does not match the body")
        }
    }

    struct Payload: Decodable {
        struct Event: Decodable {
            var type: String
            var id: String
            var from: String?
            var name: String?
            var text: String?
            var status: String?
            var reason: String?
        }
        var account: String
        var events: [Event]
    }

    func events(_ request: WebhookRequest, inboxID: UUID, settings: InboxSettings) throws -> [ChannelEvent] {
        guard let payload = try? JSONDecoder().decode(Payload.self, from: request.body) else {
            throw AtiendeError.invalid("not a Parrot webhook", code: "invalid_payload")
        }
        guard payload.account == settings.values["parrot_account"] else {
            throw AtiendeError(.forbidden, code: "wrong_account", "these events are for another Parrot account")
        }
        return try payload.events.map { event in
            switch event.type {
            case "message":
                guard let from = event.from else { throw AtiendeError.invalid("a Parrot message needs from", code: "invalid_payload") }
                return .message(InboundMessage(inboxID: inboxID, providerMessageID: event.id,
                                               sender: .init(name: event.name, identities: [(.external, "parrot:" + from)]),
                                               text: event.text ?? ""), media: [])
            case "status":
                let status: DeliveryStatus = switch event.status {
                case "delivered": .delivered
                case "read": .read
                case "failed": .failed
                default: .sent
                }
                return .status(providerMessageID: event.id, status: status, failure: event.reason.map { DeliveryFailure(.failed, $0) })
            default:
                throw AtiendeError.invalid("unknown Parrot event '\(event.type)'", code: "invalid_payload")
            }
        }
    }

    func fetch(_ media: MediaRef, settings: InboxSettings, secrets: [String: String]) async throws -> InboundMessage.File {
        throw AtiendeError.invalid("Parrot sends no files", code: "invalid_payload")
    }

    func send(_ message: OutboundMessage) async throws -> OutboundReceipt {
        let to = try recipient(message, kind: .external)
        let base = message.settings.values["api_base"] ?? "https://api.parrot.example"
        let answer = try await http.json(.POST, base + "/v1/send", ["to": String(to.dropFirst("parrot:".count)), "text": message.message.text],
                                         headers: [("Authorization", "Key " + (message.secrets["api_key"] ?? ""))])
        guard answer.status == 200, let id = answer.json?["id"] as? String else {
            throw JobFailure.permanent("Parrot answered \(answer.status)")
        }
        return OutboundReceipt(providerMessageID: id)
    }

    func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String {
        "Parrot account \(settings.values["parrot_account"] ?? "")"
    }
}
