import AtiendeCore
import Foundation

/// One input of an inbox: a setting (kept in the clear, shown back), a secret (sealed, never shown again), or one of
/// the inbox's own fields (`webhook_url`).
public struct ChannelField: Sendable {
    public enum Place: String, Sendable { case inbox = "", setting = "settings", secret = "secrets" }

    public enum Input: Sendable, Equatable {
        case text, email, password
        /// An http(s) URL this instance will call: refused when it points inside (the outbound guard).
        case url
        /// A server this instance will connect to: refused when it is internal.
        case host
        case port
        /// One of these values; the first is the default. Labels are translation keys.
        case choice([Option])
    }

    public struct Option: Sendable, Equatable {
        public var value: String
        public var label: String
        public init(_ value: String, label: String) { self.value = value; self.label = label }
    }

    public var key: String
    public var place: Place
    public var input: Input
    public var required: Bool
    /// The translation key of its label.
    public var label: String
    /// Shown in the admin form; the others (a provider's API base for a self-hosted gateway) are set through the API.
    public var inForm: Bool

    public init(_ key: String, _ place: Place = .setting, _ input: Input = .text, required: Bool = true, label: String? = nil,
                inForm: Bool = true) {
        self.key = key
        self.place = place
        self.input = input
        self.required = required
        self.label = label ?? "inbox.\(key)"
        self.inForm = inForm
    }

    public static func secret(_ key: String, required: Bool = true, label: String? = nil) -> ChannelField {
        ChannelField(key, .secret, .password, required: required, label: label)
    }

    /// `settings.key`, `secrets.key` or the inbox's own `key`: its name in the API body and the form.
    public var name: String { place == .inbox ? key : place.rawValue + "." + key }

    /// Where agent replies are delivered (the API channel).
    public static let webhookURL = ChannelField("webhook_url", .inbox, .url, label: "inbox.reply_webhook_url")

    func value(_ settings: InboxSettings, _ secrets: [String: String]) -> String? {
        switch place {
        case .inbox: key == "webhook_url" ? settings.webhookURL : nil
        case .setting: settings.values[key]
        case .secret: secrets[key]
        }
    }

    func set(_ value: String, _ settings: inout InboxSettings, _ secrets: inout [String: String]) {
        switch place {
        case .inbox: if key == "webhook_url" { settings.webhookURL = value }
        case .setting: settings.values[key] = value
        case .secret: secrets[key] = value
        }
    }
}

/// A value the inbox makes for itself when it is created and none is given: a signing secret shown once, or a handshake
/// token kept visible in the settings to paste at the provider.
public struct GeneratedToken: Sendable {
    public var key: String
    public var place: ChannelField.Place
    public var prefix: String
    public var bytes: Int
    /// Shown once, in the answer that made it (and made again by "rotate"); otherwise it is only used, never shown.
    public var shownOnce: Bool

    public init(_ key: String, _ place: ChannelField.Place, prefix: String, bytes: Int = 32, shownOnce: Bool = false) {
        self.key = key
        self.place = place
        self.prefix = prefix
        self.bytes = bytes
        self.shownOnce = shownOnce
    }

    func make() -> String { SecretToken.make(prefix: prefix, bytes: bytes) }
}

/// Something an admin copies from Atiende into the provider or a website: an inbound URL, a token, a tag to paste.
public struct ChannelAddress: Sendable, Equatable {
    public enum Kind: String, Sendable { case url, token, embed, link }
    public var kind: Kind
    /// The translation key of what it is.
    public var label: String
    public var value: String

    public init(_ kind: Kind, label: String, _ value: String) {
        self.kind = kind
        self.label = label
        self.value = value
    }
}

/// What an inbox is seen with when its addresses are shown.
public struct ChannelSite: Sendable {
    /// Absolute, without a trailing slash.
    public var publicURL: String
    public var workspaceSlug: String
    /// Where the provider sends its webhooks for this inbox.
    public var webhookURL: String

    public init(publicURL: String, workspaceSlug: String, webhookURL: String) {
        self.publicURL = publicURL
        self.workspaceSlug = workspaceSlug
        self.webhookURL = webhookURL
    }
}

/// What the webhook endpoint answers once the events are stored.
public struct WebhookAcknowledgement: Sendable, Equatable {
    public var contentType: String
    public var body: String
    public init(contentType: String, body: String) { self.contentType = contentType; self.body = body }
    public static let ok = WebhookAcknowledgement(contentType: "text/plain; charset=utf-8", body: "ok")
}

/// A channel's badge, drawn rather than typed so that it never depends on the reader's emoji font: the outline of a
/// 24×24 SVG path, stroked in the channel's colour.
public struct ChannelIcon: Sendable, Equatable {
    /// SVG path data in a 24×24 box, drawn as a 2-unit stroke with round ends.
    public var path: String
    /// The stroke colour, `#rrggbb`.
    public var color: String
    public init(path: String, color: String) { self.path = path; self.color = color }

    public static let unknown = ChannelIcon(path: "M12 4a8 8 0 1 0 0 16 8 8 0 0 0 0-16z", color: "#6b7280")
}

/// Everything the rest of Atiende knows of a channel: the inbox API, the webhook endpoint, the admin form, the badge and
/// the conversation page read this instead of switching on the channel. A new provider is one type that conforms (most
/// often through `MessagingAdapter`) and one line in the registry.
public protocol ChannelDescriptor: Sendable {
    var kind: ChannelKind { get }
    /// The badge shown beside conversations of this channel.
    var icon: ChannelIcon { get }
    var fields: [ChannelField] { get }
    var tokens: [GeneratedToken] { get }
    var replyRules: ReplyRules { get }
    /// Texts by language (`en`, `es`) for keys the built-in translations lack: `channel.<kind>` and field labels.
    var translations: [String: [String: String]] { get }
    /// How agent replies leave; nil for channels that cannot carry them (a form, a logged call).
    var sender: (any ChannelSender)? { get }
    /// Provider webhooks in at `/webhooks/<kind>/<inbox>`; nil when the channel has its own intake.
    var webhooks: (any MessagingAdapter)? { get }
    /// Channel-specific checks after each field was checked for its type; may complete the settings.
    func validate(_ settings: inout InboxSettings, secrets: inout [String: String], site: ChannelSite?) throws
    /// What the admin copies elsewhere.
    func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress]
    /// Whether `check` asks anyone (a provider, a mail server).
    var checkable: Bool { get }
    /// Asks the provider with the inbox's credentials and says what it answered (and connects the webhook where the
    /// provider needs to be told, given `webhookURL`); throws what exactly failed.
    func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String
    /// A subscription handshake (`GET` on the webhook URL): the body to answer, or an error.
    func handshake(_ query: [String: String], settings: InboxSettings) throws -> String
    /// What the provider is answered once a webhook's events are stored (Twilio: empty TwiML; Telegram: the answer to a
    /// button's tap, which stops its spinner).
    func acknowledgement(for request: WebhookRequest) -> WebhookAcknowledgement
}

extension ChannelDescriptor {
    public var tokens: [GeneratedToken] { [] }
    public var replyRules: ReplyRules { ReplyRules(sends: sender != nil) }
    public var translations: [String: [String: String]] { [:] }
    public var webhooks: (any MessagingAdapter)? { nil }
    public func validate(_ settings: inout InboxSettings, secrets: inout [String: String], site: ChannelSite?) throws {}
    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] { [] }
    public var checkable: Bool { false }
    public func check(settings: InboxSettings, secrets: [String: String], webhookURL: String?) async throws -> String {
        throw AtiendeError.invalid("\(kind.rawValue) inboxes have nothing to check with a provider", code: "nothing_to_check",
                                   parameters: ["channel": kind.rawValue])
    }
    public func handshake(_ query: [String: String], settings: InboxSettings) throws -> String { throw AtiendeError.notFound("handshake") }
    public func acknowledgement(for request: WebhookRequest) -> WebhookAcknowledgement { .ok }

    /// The secret shown once and made again by "rotate", if the channel has one.
    public var rotatableSecret: GeneratedToken? { tokens.first { $0.shownOnce } }

    /// Checks every declared field for its type, makes the tokens not given, then runs the channel's own checks.
    /// Returns the secret to show once, when one was made.
    public func prepare(_ settings: inout InboxSettings, secrets: inout [String: String], site: ChannelSite?) throws -> String? {
        for field in fields {
            let raw = field.value(settings, secrets) ?? ""
            let value = field.input == .password ? raw : raw.trimmingCharacters(in: .whitespacesAndNewlines)
            let code = ["": "invalid_" + field.key, "settings": "invalid_settings", "secrets": "invalid_secrets"][field.place.rawValue] ?? "invalid_input"
            // People read the field by its label and what it expects, in their language (both translation keys).
            let parameters = ["field": field.label, "channel": kind.rawValue]
            if value.isEmpty {
                if field.required {
                    throw AtiendeError.invalid("\(field.name) is required for \(kind.rawValue)", code: code,
                                               parameters: parameters.merging(["expected": "input.required"]) { $1 })
                }
                continue
            }
            let checked = try Self.checked(value, field.input) ?? {
                throw AtiendeError.invalid("\(field.name) \(Self.expectation(field.input))", code: code,
                                           parameters: parameters.merging(["expected": "input." + Self.inputName(field.input)]) { $1 })
            }()
            field.set(checked, &settings, &secrets)
        }
        var shown: String?
        for token in tokens {
            let slot = ChannelField(token.key, token.place)
            guard (slot.value(settings, secrets) ?? "").isEmpty else { continue }
            let made = token.make()
            slot.set(made, &settings, &secrets)
            if token.shownOnce { shown = made }
        }
        try validate(&settings, secrets: &secrets, site: site)
        return shown
    }

    /// The servers this inbox makes Atiende call, by the field that names them: checked against the outbound guard.
    public func targets(_ settings: InboxSettings) -> [(field: String, host: String)] {
        var targets: [(field: String, host: String)] = []
        var checked = fields
        if !checked.contains(where: { $0.name == "webhook_url" }) { checked.append(.webhookURL) }
        for field in checked where field.place != .secret && (field.input == .url || field.input == .host) {
            guard let raw = field.value(settings, [:])?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { continue }
            if field.input == .host { targets.append((field.name, raw)) } else if let host = URL(string: raw)?.host { targets.append((field.name, host)) }
        }
        return targets
    }

    static func checked(_ value: String, _ input: ChannelField.Input) -> String? {
        switch input {
        case .text, .password: return value.count <= 4096 ? value : nil
        case .email: return IdentityNormalizer.email(value)
        case .url:
            guard value.count <= 2000, let url = URL(string: value), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else { return nil }
            return value
        case .host:
            return value.count <= 253 && value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:[]".contains($0)) }) ? value : nil
        case .port: return Int(value).map { (1...65535).contains($0) } == true ? value : nil
        case .choice(let options): return options.contains { $0.value == value } ? value : nil
        }
    }

    static func inputName(_ input: ChannelField.Input) -> String {
        switch input {
        case .text: "text"
        case .email: "email"
        case .password: "password"
        case .url: "url"
        case .host: "host"
        case .port: "port"
        case .choice: "choice"
        }
    }

    static func expectation(_ input: ChannelField.Input) -> String {
        switch input {
        case .text, .password: "is longer than 4096 characters"
        case .email: "must be an email address"
        case .url: "must be an absolute http or https URL"
        case .host: "must be a host name or address"
        case .port: "must be a port number"
        case .choice(let options): "must be " + options.map(\.value).joined(separator: ", ")
        }
    }
}

extension MessagingAdapter {
    public var webhooks: (any MessagingAdapter)? { self }
    public var sender: (any ChannelSender)? { self }
    public var checkable: Bool { true }
}

/// The channels this instance knows, in the order the admin form offers them.
public struct ChannelRegistry: Sendable {
    public let all: [any ChannelDescriptor]
    private let byKind: [ChannelKind: any ChannelDescriptor]

    public init(_ descriptors: [any ChannelDescriptor]) {
        var byKind: [ChannelKind: any ChannelDescriptor] = [:]
        for descriptor in descriptors {
            precondition(byKind[descriptor.kind] == nil, "the channel \(descriptor.kind) is registered twice")
            byKind[descriptor.kind] = descriptor
        }
        self.all = descriptors
        self.byKind = byKind
    }

    public subscript(kind: ChannelKind) -> (any ChannelDescriptor)? { byKind[kind] }

    public var kinds: [ChannelKind] { all.map(\.kind) }

    /// A channel name from a filter or a body, known here, or an error that says so.
    public func kind(_ raw: String, field: String = "channel") throws -> ChannelKind {
        guard let kind = ChannelKind(rawValue: raw), byKind[kind] != nil else {
            throw AtiendeError.invalid("unknown \(field) '\(raw.prefix(40))': one of \(kinds.map(\.rawValue).joined(separator: ", "))",
                                       code: "invalid_\(field)")
        }
        return kind
    }

    public var senders: [ChannelKind: any ChannelSender] {
        var senders: [ChannelKind: any ChannelSender] = [:]
        for descriptor in all { senders[descriptor.kind] = descriptor.sender }
        return senders
    }

    public func replyRules(_ kind: ChannelKind) -> ReplyRules { byKind[kind]?.replyRules ?? ReplyRules(sends: false) }

    public func icon(_ kind: ChannelKind) -> ChannelIcon { byKind[kind]?.icon ?? .unknown }
}
