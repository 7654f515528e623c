import Foundation

/// What an agent says of themself: available for new conversations, busy (working, take nothing new), away, or offline.
/// The desk keeps it honest: someone with no browser connected for a while is offline, whatever they chose.
public enum AgentStatus: String, Codable, Sendable, CaseIterable {
    case online, busy, away, offline
}

/// How much a member takes and what they can take: open conversations at once per channel (`*` for any channel
/// not named; none named, no limit), and the languages they answer in (none listed, any).
public struct MemberRouting: Codable, Sendable, Equatable {
    public var capacity: [String: Int]
    public var languages: [String]

    public init(capacity: [String: Int] = [:], languages: [String] = []) {
        self.capacity = capacity
        self.languages = languages
    }

    public func capacity(for channel: ChannelKind) -> Int? { capacity[channel.rawValue] ?? capacity["*"] }

    public func speaks(_ language: String) -> Bool { languages.isEmpty || languages.contains(language) }

    /// Capacities of 0 to 1,000 for channels (or `*`), languages as two-letter codes.
    public func validated() throws -> MemberRouting {
        for (channel, value) in capacity {
            guard channel == "*" || ChannelKind(rawValue: channel) != nil, (0...1000).contains(value) else {
                throw AtiendeError.invalid("capacity is a number from 0 to 1000 per channel (or '*')", code: "invalid_member_capacity")
            }
        }
        let languages = Array(Set(languages.map { $0.lowercased() })).sorted()
        guard languages.count <= 20, languages.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isLetter) }) else {
            throw AtiendeError.invalid("languages are two-letter codes (es, en)", code: "invalid_languages")
        }
        return MemberRouting(capacity: capacity, languages: languages)
    }
}

/// How an inbox hands out its new conversations.
public struct AssignmentPolicy: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Nobody is assigned by the desk.
        case manual
        /// Each available agent in turn (the one assigned longest ago first).
        case roundRobin = "round_robin"
        /// The available agent with the fewest open conversations, within their capacity.
        case leastLoaded = "least_loaded"
    }

    public var mode: Mode
    /// Only this team's members.
    public var teamID: UUID?
    /// Only agents who answer in the conversation's language.
    public var matchLanguage: Bool
    /// A live chat whose agent has had no browser connected this long is handed on (nil: never).
    public var chatHandoffMinutes: Int?
    /// An assigned conversation its agent has not answered this long goes back to the queue (nil: never).
    public var noReplyMinutes: Int?

    public init(mode: Mode = .manual, teamID: UUID? = nil, matchLanguage: Bool = false, chatHandoffMinutes: Int? = nil,
                noReplyMinutes: Int? = nil) {
        self.mode = mode
        self.teamID = teamID
        self.matchLanguage = matchLanguage
        self.chatHandoffMinutes = chatHandoffMinutes
        self.noReplyMinutes = noReplyMinutes
    }

    enum CodingKeys: String, CodingKey {
        case mode
        case teamID = "team_id", matchLanguage = "match_language", chatHandoffMinutes = "chat_handoff_minutes", noReplyMinutes = "no_reply_minutes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? .manual
        teamID = try c.decodeIfPresent(UUID.self, forKey: .teamID)
        matchLanguage = try c.decodeIfPresent(Bool.self, forKey: .matchLanguage) ?? false
        chatHandoffMinutes = try c.decodeIfPresent(Int.self, forKey: .chatHandoffMinutes)
        noReplyMinutes = try c.decodeIfPresent(Int.self, forKey: .noReplyMinutes)
    }

    public var assigns: Bool { mode != .manual }

    /// Times of 1 minute to 30 days.
    func validated() throws -> AssignmentPolicy {
        for minutes in [chatHandoffMinutes, noReplyMinutes].compactMap({ $0 }) where !(1...43_200).contains(minutes) {
            throw AtiendeError.invalid("times are 1 to 43200 minutes", code: "invalid_assignment")
        }
        return self
    }
}

extension Membership {
    public var routing: MemberRouting { JSON.decode(MemberRouting.self, from: routingJSON) ?? MemberRouting() }

    /// Available as the desk sees it: their choice while a browser of theirs was connected in the last `offlineAfter`
    /// seconds, else offline.
    public func effectiveStatus(now: Date, offlineAfter: TimeInterval) -> AgentStatus {
        guard let seen = lastSeenAt, now.timeIntervalSince(seen) <= offlineAfter else { return .offline }
        return availability
    }
}

extension Inbox {
    public var assignment: AssignmentPolicy { JSON.decode(AssignmentPolicy.self, from: assignmentJSON) ?? AssignmentPolicy() }
}
