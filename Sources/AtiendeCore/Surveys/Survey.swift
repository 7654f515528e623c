import FluentKit
import Foundation

/// One satisfaction question put to a customer about one conversation, in the conversation's own channel: created when
/// it is due (on resolution, or when an agent asks), sent once, answered (and re-answered for `Survey.changeWindow`)
/// by the customer. Who handled the conversation is recorded when it is sent, so a later change of hands does not
/// move the answer.
public final class Survey: Model, @unchecked Sendable {
    public static let schema = "surveys"

    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// "How satisfied are you?" 1–5; 4 and 5 count as satisfied.
        case csat
        /// "How likely are you to recommend us?" 0–10; promoters 9–10, detractors 0–6.
        case nps

        public var scale: ClosedRange<Int> { self == .csat ? 1...5 : 0...10 }

        /// A score low enough that the customer should be won back: CSAT 1–2, NPS 0–6.
        public func isDetractor(_ score: Int) -> Bool { self == .csat ? score <= 2 : score <= 6 }
    }

    public enum Status: String, Codable, Sendable {
        /// Created, waiting for its delay to pass.
        case scheduled
        case sent
        case answered
        /// Not sent after all (the conversation was reopened, the channel could not carry it).
        case skipped
    }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "conversation_id") public var conversationID: UUID
    @Field(key: "contact_id") public var contactID: UUID
    @Field(key: "inbox_id") public var inboxID: UUID
    @Field(key: "channel") public var channel: ChannelKind
    @Field(key: "kind") public var kind: Kind
    @Field(key: "status") public var status: Status
    /// The language the question is asked in.
    @Field(key: "language") public var language: String
    /// The SHA-256 of the token in the survey's links; the token itself is only in the message sent.
    @Field(key: "token_hash") public var tokenHash: String
    /// Who asked for it (an agent on demand); nil when it went out on resolution.
    @OptionalField(key: "requested_by") public var requestedBy: UUID?
    @OptionalField(key: "agent_id") public var agentID: UUID?
    @OptionalField(key: "team_id") public var teamID: UUID?
    @OptionalField(key: "contact_reason") public var contactReason: String?
    @OptionalField(key: "message_id") public var messageID: UUID?
    @OptionalField(key: "score") public var score: Int?
    /// The first answer's score, kept when the customer changes it (a detractor who later answers higher was won back).
    @OptionalField(key: "first_score") public var firstScore: Int?
    @OptionalField(key: "comment") public var comment: String?
    /// The follow-up given to win back a detractor, while the answer stands.
    @OptionalField(key: "follow_up_id") public var followUpID: UUID?
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "sent_at") public var sentAt: Date?
    @OptionalField(key: "answered_at") public var answeredAt: Date?

    public init() {}

    /// How long after sending the customer may answer, or change the answer.
    public static let changeWindow: TimeInterval = 7 * 86_400

    public func accepts(at now: Date) -> Bool {
        guard [.sent, .answered].contains(status), let sentAt else { return false }
        return now < sentAt.addingTimeInterval(Self.changeWindow)
    }
}

extension Survey: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Survey, FieldProperty<Survey, UUID>> { \.$workspace.$id }
    public static var displayName: String { "survey" }
}

/// What an inbox asks its customers, and when. Off unless an admin turns it on.
public struct SurveyPolicy: Codable, Sendable, Equatable {
    public enum Trigger: String, Codable, Sendable, CaseIterable {
        /// Sent when the conversation is resolved (after `delayMinutes`), and on demand.
        case resolved
        /// Only when an agent sends it.
        case manual
    }

    /// Nil: no survey.
    public var kind: Survey.Kind?
    public var trigger: Trigger
    /// After resolution, wait this long (a reopened conversation is not surveyed).
    public var delayMinutes: Int
    /// At most one survey per contact in this many days (0: every resolution).
    public var oncePerDays: Int
    /// Who is given a follow-up to win back a detractor (nil: the agent who handled it, else the first supervisor).
    public var detractorUserID: UUID?

    public init(kind: Survey.Kind? = nil, trigger: Trigger = .resolved, delayMinutes: Int = 0, oncePerDays: Int = 30,
                detractorUserID: UUID? = nil) {
        self.kind = kind
        self.trigger = trigger
        self.delayMinutes = delayMinutes
        self.oncePerDays = oncePerDays
        self.detractorUserID = detractorUserID
    }

    enum CodingKeys: String, CodingKey {
        case kind, trigger
        case delayMinutes = "delay_minutes", oncePerDays = "once_per_days", detractorUserID = "detractor_user_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(Survey.Kind.self, forKey: .kind)
        trigger = try c.decodeIfPresent(Trigger.self, forKey: .trigger) ?? .resolved
        func whole(_ key: CodingKeys, _ fallback: Int, _ code: String, _ message: String) throws -> Int {
            guard c.contains(key), try !c.decodeNil(forKey: key) else { return fallback }
            guard let value = try? c.decode(Int.self, forKey: key) else { throw AtiendeError.invalid(message, code: code) }
            return value
        }
        delayMinutes = try whole(.delayMinutes, 0, "invalid_survey_delay", "delay_minutes is a whole number from 0 to 10080 (a week)")
        oncePerDays = try whole(.oncePerDays, 30, "invalid_survey_frequency", "once_per_days is a whole number from 0 to 365")
        detractorUserID = try c.decodeIfPresent(UUID.self, forKey: .detractorUserID)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(trigger, forKey: .trigger)
        try c.encode(delayMinutes, forKey: .delayMinutes)
        try c.encode(oncePerDays, forKey: .oncePerDays)
        try c.encode(detractorUserID, forKey: .detractorUserID)
    }

    /// A delay of at most a week, a limit of at most a year.
    func validated() throws -> SurveyPolicy {
        guard (0...10_080).contains(delayMinutes) else {
            throw AtiendeError.invalid("delay_minutes is a whole number from 0 to 10080 (a week)", code: "invalid_survey_delay")
        }
        guard (0...365).contains(oncePerDays) else {
            throw AtiendeError.invalid("once_per_days is a whole number from 0 to 365", code: "invalid_survey_frequency")
        }
        return self
    }
}

extension Inbox {
    public var surveyPolicy: SurveyPolicy { JSON.decode(SurveyPolicy.self, from: surveyJSON) ?? SurveyPolicy() }
}

/// A survey as it travels with the message that asks it, so a channel can offer buttons, and as API responses show it.
public struct SurveyPrompt: Codable, Sendable, Equatable {
    public var id: UUID
    public var kind: Survey.Kind
    /// The language it is asked in (es, en), for the labels a channel puts on its buttons.
    public var language: String?
    public init(id: UUID, kind: Survey.Kind, language: String? = nil) {
        self.id = id
        self.kind = kind
        self.language = language
    }

    /// The scale's scores, each with the end's name on the first and last ("5 — excelente").
    public var choices: [(score: Int, label: String?)] {
        let (low, high) = SurveyText.ends(kind, language: language ?? "es")
        return kind.scale.map { ($0, $0 == kind.scale.lowerBound ? low : $0 == kind.scale.upperBound ? high : nil) }
    }

    /// What a button carries back (a Telegram callback, a WhatsApp row id): `survey:<score>`.
    public static func payload(_ score: Int) -> String { "survey:\(score)" }

    /// The score in a button's payload, as the text of the customer's answer.
    public static func score(inPayload payload: String) -> String? {
        guard payload.hasPrefix("survey:"), let score = Int(payload.dropFirst(7)), (0...10).contains(score) else { return nil }
        return String(score)
    }
}

/// A customer's message read as an answer to the survey they were sent: a number on the scale first, optionally
/// followed by a comment ("2, tardaron mucho"). Anything else is an ordinary message.
public enum SurveyAnswerText {
    public static func parse(_ text: String, kind: Survey.Kind) -> (score: Int, comment: String?)? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard (1...2).contains(digits.count), let score = Int(digits), kind.scale.contains(score) else { return nil }
        var rest = trimmed.dropFirst(digits.count)
        // "9.5", "7,5": a decimal is no score on the scale.
        if let mark = rest.first, ".,".contains(mark), rest.dropFirst().first?.isNumber == true { return nil }
        // "4/5", "9 de 10", "8 out of 10": the scale's end written after the score is no comment.
        for suffix in ["/\(kind.scale.upperBound)", " de \(kind.scale.upperBound)", " out of \(kind.scale.upperBound)", " of \(kind.scale.upperBound)"]
        where rest.lowercased().hasPrefix(suffix) {
            rest = rest.dropFirst(suffix.count)
            break
        }
        guard rest.isEmpty || !(rest.first!.isNumber || rest.first!.isLetter) else { return nil }
        let comment = rest.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r\n,.;:-–—!").union(.whitespacesAndNewlines))
        return (score, comment.isEmpty ? nil : String(comment.prefix(2000)))
    }
}
