import AtiendeCore
import Crypto
import Foundation

/// Live chat on the customer's website. The widget (`/widget.js`) talks to `/widget/v1/{inboxId}/…`.
///
/// Who a visitor is, without accounts:
/// - The browser keeps an unguessable visitor token (`vt_…`). The server never stores it: the visitor's thread and
///   identity are derived from its SHA-256, so the token is the only key to that visitor's conversations.
/// - A typed email is only a way to reach the visitor; it never links them to a contact or a conversation.
/// - The host site may pass its own user id with `HMAC-SHA256(identity secret, user_id)` (hex); only with a
///   matching hash is the visitor linked to that customer (their external id, and their email when it was signed too:
///   the signed text is then `user_id + "\n" + email`).
///
/// Every later request carries a session token the server signed at `POST …/session`, which says which thread the
/// visitor may read and which identities their messages carry.
public enum Webchat {
    public static let identitySecretKey = "identity_secret"
    public static let tokenPrefix = "vt_"
    public static let sessionLifetime: TimeInterval = 30 * 86_400
    /// Widget messages are chat lines, far shorter than what other channels accept.
    public static let maxTextLength = 5_000
    public static let maxFileBytes = 10 * 1024 * 1024
    public static let fileTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"]

    /// A visitor token the browser may keep, or nil when `raw` is not one (then the server issues a new one).
    public static func validToken(_ raw: String?) -> String? {
        guard let raw, raw.hasPrefix(tokenPrefix), (40...64).contains(raw.count),
              raw.dropFirst(tokenPrefix.count).allSatisfy({ $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII || $0 == "-" || $0 == "_" })
        else { return nil }
        return raw
    }

    public static func newToken() -> String { SecretToken.make(prefix: tokenPrefix) }

    /// The stable, non-reversible key of a visitor token.
    public static func visitorKey(_ token: String) -> String { String(SecretToken.sha256Hex("visitor:" + token).prefix(40)) }

    /// Checks the host site's identity hash in constant time.
    public static func verifyIdentity(userID: String, email: String?, hash: String, secret: String) -> Bool {
        let signed = email.map { userID + "\n" + $0 } ?? userID
        let expected = HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: Data(secret.utf8))).hexString
        return SecretToken.constantTimeEquals(expected, hash.lowercased())
    }

    /// What a signed session grants: one thread of one inbox, and the identities the visitor's messages carry.
    public struct Session: Codable, Sendable, Equatable {
        public var inboxID: UUID
        /// `v:<visitor key>` for anonymous visitors, `u:<hash of user id>` for verified ones.
        public var thread: String
        public var visitorKey: String
        public var userID: String?
        public var email: String?
        public var expires: Int
        /// The language the visitor's page speaks (es, en): what the team's automatic messages use.
        public var language: String?

        enum CodingKeys: String, CodingKey {
            case inboxID = "i", thread = "t", visitorKey = "v", userID = "u", email = "e", expires = "x", language = "l"
        }

        public init(inboxID: UUID, token: String, verifiedUserID: String?, verifiedEmail: String?, now: Date, language: String? = nil) {
            self.inboxID = inboxID
            self.language = language
            visitorKey = Webchat.visitorKey(token)
            userID = verifiedUserID
            email = verifiedEmail
            thread = verifiedUserID.map { "u:" + String(SecretToken.sha256Hex("user:" + $0).prefix(40)) } ?? "v:" + visitorKey
            expires = Int(now.addingTimeInterval(Webchat.sessionLifetime).timeIntervalSince1970)
        }

        public var verified: Bool { userID != nil }

        /// The sender identities of this visitor's messages; the channel's own id first.
        public var identities: [(kind: IdentityKind, value: String)] {
            let inbox = inboxID.uuidString.lowercased()
            guard let userID else { return [(.visitor, inbox + ":" + visitorKey)] }
            var result: [(kind: IdentityKind, value: String)] = [(.external, inbox + ":" + userID)]
            if let email { result.append((.email, email)) }
            return result
        }

        /// `<base64url JSON>.<hex HMAC>` under the instance key.
        public func sealed(key: String) -> String {
            let body = (try? JSONEncoder().encode(self)) ?? Data()
            let payload = body.base64URLEncoded()
            return payload + "." + Self.mac(payload, key: key)
        }

        public static func open(_ raw: String, key: String, inboxID: UUID, now: Date) throws -> Session {
            let parts = raw.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard raw.count < 2_000, parts.count == 2, SecretToken.constantTimeEquals(parts[1], mac(parts[0], key: key)),
                  let data = Data(base64URLEncoded: parts[0]),
                  let session = try? JSONDecoder().decode(Session.self, from: data)
            else { throw AtiendeError(.unauthorized, code: "invalid_session", "the visitor session is not valid; start a new one") }
            guard session.inboxID == inboxID else {
                throw AtiendeError(.unauthorized, code: "invalid_session", "the visitor session belongs to another inbox")
            }
            guard Double(session.expires) > now.timeIntervalSince1970 else {
                throw AtiendeError(.unauthorized, code: "session_expired", "the visitor session has expired; start a new one")
            }
            return session
        }

        static func mac(_ payload: String, key: String) -> String {
            HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data((key + ":webchat-session").utf8))).hexString
        }
    }
}

/// The widget's look and rules, kept in the inbox's settings values.
public struct WebchatSettings: Sendable, Equatable {
    public var color: String
    public var greeting: [String: String]
    public var requireName: Bool
    public var requireEmail: Bool
    /// Origins allowed to embed the widget; empty = any.
    public var allowedOrigins: [String]

    public static let keys: Set<String> = ["color", "greeting_es", "greeting_en", "require_name", "require_email", "allowed_origins"]

    public init(_ values: [String: String]) {
        color = values["color"] ?? "#1f6feb"
        greeting = ["es": values["greeting_es"] ?? "", "en": values["greeting_en"] ?? ""]
        requireName = values["require_name"] == "true"
        requireEmail = values["require_email"] == "true"
        allowedOrigins = (values["allowed_origins"] ?? "").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" })
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }.filter { !$0.isEmpty }
    }

    /// Refuses values the widget could not use, naming the setting.
    public static func validate(_ values: [String: String]) throws {
        if let unknown = values.keys.first(where: { !keys.contains($0) }) {
            throw AtiendeError.invalid("unknown live chat setting '\(unknown)'", code: "invalid_settings")
        }
        if let color = values["color"], !(color.count == 7 && color.first == "#" && color.dropFirst().allSatisfy(\.isHexDigit)) {
            throw AtiendeError.invalid("color must be #rrggbb", code: "invalid_settings")
        }
        for key in ["greeting_es", "greeting_en"] where (values[key] ?? "").count > 500 {
            throw AtiendeError.invalid("\(key) is longer than 500 characters", code: "invalid_settings")
        }
        for key in ["require_name", "require_email"] where values[key].map({ $0 != "true" && $0 != "false" }) ?? false {
            throw AtiendeError.invalid("\(key) must be true or false", code: "invalid_settings")
        }
        for origin in WebchatSettings(values).allowedOrigins {
            guard let url = URL(string: origin), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.path.isEmpty else {
                throw AtiendeError.invalid("allowed_origins: '\(origin)' is not an origin like https://www.example.com", code: "invalid_settings")
            }
        }
    }

    /// Whether a request from `origin` (its Origin header) may use the widget.
    public func allows(origin: String?) -> Bool {
        guard !allowedOrigins.isEmpty else { return true }
        guard let origin = origin?.lowercased() else { return false }
        return allowedOrigins.contains(origin)
    }
}

/// Delivers agent replies to the widget: the visitor's browser reads them from the committed event (live) or the
/// history (on return), so sending only marks them sent. When the visitor left an email and has not read the reply
/// `awayAfter` seconds later (read receipts are stored, so this holds across instances) and is not on the site at that
/// moment, the `AwayMailer` sends the reply there too. The wait spares a visitor who is only moving between pages.
public struct WebchatSender: ChannelSender {
    public protocol AwayMailer: Sendable {
        func mail(_ message: OutboundMessage, to address: String) async throws
    }

    let isOnline: @Sendable (_ inboxID: UUID, _ thread: String) async -> Bool
    let awayMailer: (any AwayMailer)?
    let awayAfter: TimeInterval

    public init(isOnline: @escaping @Sendable (UUID, String) async -> Bool, awayMailer: (any AwayMailer)?, awayAfter: TimeInterval = 60) {
        self.isOnline = isOnline
        self.awayMailer = awayMailer
        self.awayAfter = awayAfter
    }

    public func send(_ message: OutboundMessage) async throws -> OutboundReceipt {
        let mailable = awayMailer != nil && message.contact.email != nil
        return OutboundReceipt(providerMessageID: nil, followUpAfter: mailable ? awayAfter : nil)
    }

    public func followUp(_ message: OutboundMessage) async throws {
        guard let mailer = awayMailer, let email = message.contact.email, let thread = message.conversation.threadID,
              await !isOnline(message.inboxID, thread) else { return }
        try await mailer.mail(message, to: email)
    }
}

extension Data {
    init?(base64URLEncoded string: String) {
        var base64 = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}

/// Live chat on the business's own website: the widget's tag to paste, its look and rules as settings, an identity
/// secret (shown once) that signs the host site's user ids for verified visitors.
public struct WebchatDescriptor: ChannelDescriptor {
    let chat: WebchatSender

    public init(sender: WebchatSender) { self.chat = sender }

    public var kind: ChannelKind { .webchat }
    public var icon: ChannelIcon { ChannelIcon(path: "M4 4h16v12H8l-4 4z", color: "#7c3aed") }
    public var sender: (any ChannelSender)? { chat }
    public var replyRules: ReplyRules { ReplyRules(reaches: [.visitor]) }
    /// Its settings are edited on the inbox's own live chat form (`WebchatSettings`).
    public var fields: [ChannelField] { [] }
    public var tokens: [GeneratedToken] { [GeneratedToken(Webchat.identitySecretKey, .secret, prefix: "idsec_", shownOnce: true)] }

    public func validate(_ settings: inout InboxSettings, secrets: inout [String: String], site: ChannelSite?) throws {
        try WebchatSettings.validate(settings.values)
    }

    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] {
        let id = (inbox.id ?? UUID()).uuidString.lowercased()
        return [
            ChannelAddress(.embed, label: "inbox.embed_code", Self.embedCode(inbox, publicURL: site.publicURL)),
            ChannelAddress(.link, label: "inbox.demo", "/widget/demo?inbox=\(id)"),
        ]
    }

    public static func embedCode(_ inbox: Inbox, publicURL: String) -> String {
        "<script src=\"\(publicURL)/widget.js\" data-inbox=\"\((inbox.id ?? UUID()).uuidString.lowercased())\" async></script>"
    }
}
