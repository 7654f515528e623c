import Foundation

public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case agent, supervisor, admin

    private var rank: Int { switch self { case .agent: 0; case .supervisor: 1; case .admin: 2 } }
    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// The kind of channel an inbox connects. `phone` and `in_person` are logged by agents.
public enum ChannelKind: String, Codable, Sendable, CaseIterable {
    case api, email, webchat, webform, whatsapp, messenger, instagram, telegram, twilio, phone
    case inPerson = "in_person"

    /// How long after the customer's last message the provider lets a person reply freely: WhatsApp 24 hours (then
    /// only approved templates), Messenger and Instagram 7 days (the human agent tag after the first 24 hours).
    public var replyWindow: TimeInterval? {
        switch self {
        case .whatsapp: 24 * 3600
        case .messenger, .instagram: 7 * 24 * 3600
        default: nil
        }
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
