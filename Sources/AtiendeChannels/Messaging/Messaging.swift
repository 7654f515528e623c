import AsyncHTTPClient
import AtiendeCore
import AtiendeNetwork
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// What a provider webhook carries, in our terms, in the order it came.
public enum ChannelEvent: Sendable {
    /// A customer message; `media` is fetched from the provider before the message is stored.
    case message(InboundMessage, media: [MediaRef])
    /// The provider's word on one of our messages, by its id at the provider.
    case status(providerMessageID: String, status: DeliveryStatus, failure: DeliveryFailure?)
    /// Everything we sent to this customer up to `until` was delivered or read (Messenger, Instagram).
    case watermark(identity: IdentityKind, value: String, status: DeliveryStatus, until: Date)
}

/// A file to fetch from the provider: by media id (WhatsApp, Telegram) or by URL (Messenger, Twilio).
public struct MediaRef: Sendable, Equatable {
    public var id: String?
    public var url: String?
    public var filename: String
    public var contentType: String?

    public init(id: String? = nil, url: String? = nil, filename: String, contentType: String? = nil) {
        self.id = id
        self.url = url
        self.filename = filename
        self.contentType = contentType
    }
}

/// What a webhook request looks like to an adapter: the raw body and headers, and the URL the provider called.
public struct WebhookRequest: Sendable {
    public var body: Data
    public var headers: [(String, String)]
    /// The public URL the provider signed (Twilio): the inbox's configured public URL, else this server's.
    public var url: String

    public init(body: Data, headers: [(String, String)], url: String) {
        self.body = body
        self.headers = headers
        self.url = url
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
}

/// One messaging provider: its descriptor, how its webhooks are checked and read, how its files are fetched, how we
/// send to it.
public protocol MessagingAdapter: ChannelDescriptor, ChannelSender {
    /// Refuses a request that is not from the provider (401).
    func verify(_ request: WebhookRequest, settings: InboxSettings, secrets: [String: String], now: Date) throws
    /// Reads the events; throws `AtiendeError.invalid` for a body that is not the provider's shape.
    func events(_ request: WebhookRequest, inboxID: UUID, settings: InboxSettings) throws -> [ChannelEvent]
    func fetch(_ media: MediaRef, settings: InboxSettings, secrets: [String: String]) async throws -> InboundMessage.File
}

/// Meta's webhook subscription (WhatsApp, Messenger, Instagram): `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`
/// answers the challenge when the token is the inbox's.
enum MetaSubscription {
    static let token = GeneratedToken("verify_token", .setting, prefix: "verify_", bytes: 18)

    static func answer(_ query: [String: String], settings: InboxSettings) throws -> String {
        guard query["hub.mode"] == "subscribe", let token = query["hub.verify_token"],
              let expected = settings.values["verify_token"], SecretToken.constantTimeEquals(token, expected),
              let challenge = query["hub.challenge"], challenge.count <= 256 else {
            throw AtiendeError(.forbidden, code: "bad_verify_token", "hub.verify_token does not match this inbox's verify token")
        }
        return challenge
    }

    /// The webhook URL and the verify token, both pasted into Meta's console.
    static func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] {
        [ChannelAddress(.url, label: "inbox.webhook_url", site.webhookURL)]
            + (inbox.settings.values["verify_token"].map { [ChannelAddress(.token, label: "inbox.verify_token", $0)] } ?? [])
    }
}

/// Settings every provider takes through the API, for a self-hosted gateway or a proxy in front of Atiende.
extension ChannelField {
    /// The provider's API root instead of its public one.
    static let apiBase = ChannelField("api_base", .setting, .url, required: false, inForm: false)
    /// The URL the provider signs, when a proxy changes it.
    static let publicURL = ChannelField("public_url", .setting, .url, required: false, inForm: false)
}

/// HTTP calls to providers, with their failures sorted into "try again" and "will never work".
public struct ProviderHTTP: Sendable {
    public let http: GuardedHTTP
    public let timeout: TimeAmount
    public static let maxResponse = 32 * 1024 * 1024

    public init(http: GuardedHTTP, timeout: TimeAmount = .seconds(20)) {
        self.http = http
        self.timeout = timeout
    }

    public struct Answer: Sendable {
        public var status: Int
        public var body: Data
        public var headers: HTTPHeaders
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    /// One call; redirects are followed only for downloads (`redirects`), never with credentials to another origin.
    public func call(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: Data? = nil,
                     redirects: Int = 0) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await http.execute(request, timeout: timeout, redirects: redirects)
            let bytes = try await response.body.collect(upTo: Self.maxResponse)
            return Answer(status: Int(response.status.code), body: Data(bytes.readableBytesView), headers: response.headers)
        } catch let refused as OutboundGuard.Refused {
            throw JobFailure.permanent(refused.description, code: .unreachable)
        } catch let bad as GuardedHTTP.BadURL {
            throw JobFailure.permanent(bad.description, code: .unreachable)
        } catch {
            // The lead-in ("the provider could not be reached") is the code's, in the reader's language.
            throw JobFailure.temporary(Self.reason(error), code: .unreachable)
        }
    }

    /// A transport failure in a few words, never what a server answered.
    static func reason(_ error: any Error) -> String {
        if let unresolvable = error as? OutboundGuard.Unresolvable { return unresolvable.description }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout: return "timed out"
            case .remoteConnectionClosed: return "the connection was closed"
            default: break
            }
        }
        let text = "\(error)".lowercased()
        if text.contains("refused") { return "connection refused" }
        if text.contains("certificate") || text.contains("ssl") || text.contains("tls") { return "TLS failed" }
        if text.contains("timeout") || text.contains("timed out") { return "timed out" }
        return "network error"
    }

    public func json(_ method: HTTPMethod, _ url: String, _ object: Any, headers: [(String, String)] = []) async throws -> Answer {
        let body = try JSONSerialization.data(withJSONObject: object)
        return try await call(method, url, headers: headers + [("Content-Type", "application/json")], body: body)
    }

    public func form(_ url: String, _ fields: [(String, String)], headers: [(String, String)] = []) async throws -> Answer {
        try await call(.POST, url, headers: headers + [("Content-Type", "application/x-www-form-urlencoded")], body: Data(Self.formEncode(fields).utf8))
    }

    public func multipart(_ url: String, fields: [(String, String)], file: (field: String, name: String, type: String, data: Data),
                          headers: [(String, String)] = []) async throws -> Answer {
        let boundary = "atiende-" + UUID().uuidString
        var body = Data()
        for (name, value) in fields {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        let filename = file.name.replacingOccurrences(of: "\"", with: "")
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(filename)\"\r\nContent-Type: \(file.type)\r\n\r\n".utf8))
        body.append(file.data)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return try await call(.POST, url, headers: headers + [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body)
    }

    public static func formEncode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
    }

    public static func basicAuth(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// Downloads a file a provider points to, within our attachment limit, only from the provider's own `origins`
    /// (scheme://host:port) or hosts ending in one of `hostSuffixes`: a webhook naming any other URL fetches nothing.
    public func download(_ url: String, headers: [(String, String)] = [], filename: String, contentType: String?,
                         origins: [String], hostSuffixes: [String] = []) async throws -> InboundMessage.File {
        guard let parsed = URL(string: url), let host = parsed.host?.lowercased(),
              origins.contains(GuardedHTTP.origin(parsed))
                || (parsed.scheme?.lowercased() == "https" && hostSuffixes.contains { host == $0 || host.hasSuffix("." + $0) })
        else {
            throw AtiendeError.invalid("the file's URL is not one of the provider's own hosts", code: "media_host_refused")
        }
        return try await download(url, headers: headers, filename: filename, contentType: contentType)
    }

    /// Downloads a file by its URL, whatever its host (an import's attachment): the outbound guard still refuses internal
    /// addresses, and redirects are followed through it.
    public func download(_ url: String, headers: [(String, String)] = [], filename: String, contentType: String?) async throws -> InboundMessage.File {
        let answer = try await call(.GET, url, headers: headers, redirects: 5)
        guard (200..<300).contains(answer.status) else {
            if answer.status == 429 || answer.status >= 500 { throw JobFailure.temporary("the provider's file answered \(answer.status)") }
            throw AtiendeError.invalid("the provider's file answered \(answer.status)", code: "media_unavailable")
        }
        let type = contentType ?? answer.headers.first(name: "Content-Type") ?? "application/octet-stream"
        return InboundMessage.File(filename: filename, contentType: type, data: answer.body)
    }
}

/// Who to send to: the contact's identity of the first of `kinds` it has (the most recent when there are several), so a
/// WhatsApp reply reaches a customer known only by the phone number of a logged call.
public func recipient(_ message: OutboundMessage, kind: IdentityKind, or others: IdentityKind...) throws -> String {
    for kind in [kind] + others {
        if let value = message.contact.identities.last(where: { $0.kind == kind })?.value { return value }
    }
    throw JobFailure.permanent("the customer has no \(kind.rawValue) identity to send to", code: .noAddress)
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, as Meta signs webhooks (`X-Hub-Signature-256`).
public enum HubSignature {
    public static func sign(_ body: Data, secret: String) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).hexString
    }

    public static func verify(_ request: WebhookRequest, secret: String?) throws {
        guard let secret, !secret.isEmpty else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "the inbox has no app secret to check signatures with")
        }
        guard let given = request.header("X-Hub-Signature-256"), !given.isEmpty else {
            throw AtiendeError(.unauthorized, code: "missing_signature", "X-Hub-Signature-256 is required")
        }
        guard SecretToken.constantTimeEquals(sign(request.body, secret: secret), given.lowercased()) else {
            throw AtiendeError(.unauthorized, code: "bad_signature", "X-Hub-Signature-256 does not match the body")
        }
    }
}

/// Reads a JSON object or says the body is not the provider's shape.
func jsonObject(_ body: Data, provider: String) throws -> [String: Any] {
    guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
        throw AtiendeError.invalid("the body is not a \(provider) webhook (not a JSON object)", code: "invalid_payload")
    }
    return object
}

/// A provider's error answer, sorted: rate limits and outages are worth another try, the rest are not; `codes` types the
/// provider's own error codes (the window closed, undeliverable…), and the HTTP status types the rest.
func providerFailure(_ provider: String, status: Int, code: String?, message: String?, retryAfter: TimeInterval? = nil,
                     temporaryCodes: Set<String> = [], codes: [String: DeliveryFailure.Code] = [:]) -> JobFailure {
    let reason = "\(provider) error" + (code.map { " \($0)" } ?? "") + ": " + (message ?? "HTTP \(status)")
    let typed = code.flatMap { codes[$0] } ?? (status == 429 ? .rateLimited : status == 401 || status == 403 ? .credentials : status >= 500 ? .unreachable : .failed)
    if status == 429 || status >= 500 || (code.map(temporaryCodes.contains) ?? false) {
        return .temporary(reason, after: retryAfter, code: typed)
    }
    return .permanent(reason, code: typed)
}

extension Date {
    init(unixString: String?) {
        self = unixString.flatMap(Double.init).map { Date(timeIntervalSince1970: $0) } ?? Date()
    }
}

/// A webhook whose events all name another receiving account (another phone number, page or Twilio account) than the
/// inbox's: refused, so with several numbers on one app a message never lands in the wrong inbox.
func otherAccount(_ provider: String, expected: String, given: String) -> AtiendeError {
    AtiendeError(.forbidden, code: "wrong_account", "this \(provider) webhook belongs to \(expected), and the events are for \(given)")
}
