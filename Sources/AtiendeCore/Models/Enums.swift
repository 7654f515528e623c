import Foundation

public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case agent, supervisor, admin

    private var rank: Int { switch self { case .agent: 0; case .supervisor: 1; case .admin: 2 } }
    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// The kind of channel an inbox connects: a name, open to channels registered later (each has a descriptor in
/// `AtiendeChannels`, which says what it needs and what it can do). `phone` and `in_person` are logged by agents.
public struct ChannelKind: RawRepresentable, Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Any lowercase name of letters, digits and `_` up to 32 characters; whether it is a channel this instance knows
    /// is the registry's question.
    public init?(rawValue: String) {
        guard (1...32).contains(rawValue.count), rawValue.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else { return nil }
        self.rawValue = rawValue
    }

    private init(_ name: String) { rawValue = name }

    public static let api = Self("api"), email = Self("email"), webchat = Self("webchat"), webform = Self("webform")
    public static let whatsapp = Self("whatsapp"), messenger = Self("messenger"), instagram = Self("instagram")
    public static let telegram = Self("telegram"), twilio = Self("twilio"), phone = Self("phone"), inPerson = Self("in_person")

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let kind = Self(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(raw)' is not a channel name"))
        }
        self = kind
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What Core must know of a channel to accept a reply: how long after the customer's last message the provider lets
/// a person answer freely, and whether approved templates go out after that.
public struct ReplyRules: Sendable, Equatable {
    public var window: TimeInterval?
    public var templates: Bool
    /// Whether the channel itself carries replies (a contact form, a logged call do not).
    public var sends: Bool
    /// The customer identities it can send to, best first: a conversation of another channel can be answered through
    /// this one when its customer has one of them (a form by email, a call by WhatsApp or SMS).
    public var reaches: [IdentityKind]

    public init(window: TimeInterval? = nil, templates: Bool = false, sends: Bool = true, reaches: [IdentityKind] = []) {
        self.window = window
        self.templates = templates
        self.sends = sends
        self.reaches = reaches
    }
}

public enum ConversationStatus: String, Codable, Sendable, CaseIterable {
    case open, pending, snoozed, resolved, closed

    /// Statuses in which the conversation is still being worked on.
    public static let active: [ConversationStatus] = [.open, .pending, .snoozed]
}

public enum Priority: String, Codable, Sendable, CaseIterable {
    case none, low, medium, high, urgent

    public var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

public enum MessageKind: String, Codable, Sendable, CaseIterable {
    case incoming, outgoing, note, activity
}

public enum SenderType: String, Codable, Sendable {
    case contact, agent, bot, system
}

public enum DeliveryStatus: String, Codable, Sendable, CaseIterable {
    case received, queued, sent, delivered, read, failed
}

/// Kinds of contact identity; values are normalized before they are stored or compared.
public enum IdentityKind: String, Codable, Sendable, CaseIterable {
    case email, phone, whatsapp, messenger, instagram, telegram, visitor, external
}
