import Foundation

/// Targets for one kind of conversation, in seconds of business (or calendar) time.
public struct ServiceLevelTargets: Codable, Sendable, Equatable {
    public var firstResponse: TimeInterval?
    public var nextResponse: TimeInterval?
    public var resolution: TimeInterval?

    public init(firstResponse: TimeInterval? = nil, nextResponse: TimeInterval? = nil, resolution: TimeInterval? = nil) {
        self.firstResponse = firstResponse
        self.nextResponse = nextResponse
        self.resolution = resolution
    }

    enum CodingKeys: String, CodingKey { case firstResponse = "first_response", nextResponse = "next_response", resolution }
}

/// What a policy promises: targets per channel and priority (the most specific rule wins), measured in business
/// or calendar time, with a warning before each deadline.
public struct ServiceLevelRules: Codable, Sendable, Equatable {
    public struct Rule: Codable, Sendable, Equatable {
        public var channel: ChannelKind?
        public var priority: Priority?
        public var targets: ServiceLevelTargets
        public init(channel: ChannelKind? = nil, priority: Priority? = nil, targets: ServiceLevelTargets) {
            self.channel = channel
            self.priority = priority
            self.targets = targets
        }
    }

    public var rules: [Rule]
    public var businessTime: Bool
    /// A warning goes out when this share of the target has passed.
    public var warnAtPercent: Int
    /// Whether a bot's answer stops the first-response clock (by default only a person's does).
    public var botAnswersCount: Bool
    /// What a breach does besides telling people: raise the priority, hand the conversation to a team.
    public var escalatePriority: Priority?
    public var escalateTeamID: UUID?
    /// Tell people only within the inbox's business hours: alerts that fall due outside them are delivered
    /// at the next opening (the escalation itself still happens at once).
    public var notifyInBusinessHours: Bool

    public init(rules: [Rule], businessTime: Bool = true, warnAtPercent: Int = 75, botAnswersCount: Bool = false) {
        self.rules = rules
        self.businessTime = businessTime
        self.warnAtPercent = warnAtPercent
        self.botAnswersCount = botAnswersCount
        self.notifyInBusinessHours = false
    }

    enum CodingKeys: String, CodingKey {
        case rules, businessTime = "business_time", warnAtPercent = "warn_at_percent", botAnswersCount = "bot_answers_count"
        case escalatePriority = "escalate_priority", escalateTeamID = "escalate_team_id"
        case notifyInBusinessHours = "notify_in_business_hours"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rules = try c.decodeIfPresent([Rule].self, forKey: .rules) ?? []
        businessTime = try c.decodeIfPresent(Bool.self, forKey: .businessTime) ?? true
        warnAtPercent = try c.decodeIfPresent(Int.self, forKey: .warnAtPercent) ?? 75
        botAnswersCount = try c.decodeIfPresent(Bool.self, forKey: .botAnswersCount) ?? false
        escalatePriority = try c.decodeIfPresent(Priority.self, forKey: .escalatePriority)
        escalateTeamID = try c.decodeIfPresent(UUID.self, forKey: .escalateTeamID)
        notifyInBusinessHours = try c.decodeIfPresent(Bool.self, forKey: .notifyInBusinessHours) ?? false
    }

    /// The figures of our sources: email and Facebook within an hour, live chat and WhatsApp within 30 seconds;
    /// everything else within an hour. Resolution has no default target.
    public static let defaults = ServiceLevelRules(rules: [
        Rule(targets: .init(firstResponse: 3600, nextResponse: 3600)),
        Rule(channel: .email, targets: .init(firstResponse: 3600, nextResponse: 3600)),
        Rule(channel: .messenger, targets: .init(firstResponse: 3600, nextResponse: 3600)),
        Rule(channel: .webchat, targets: .init(firstResponse: 30, nextResponse: 30)),
        Rule(channel: .whatsapp, targets: .init(firstResponse: 30, nextResponse: 30)),
    ])

    public func targets(channel: ChannelKind, priority: Priority) -> ServiceLevelTargets? {
        func score(_ rule: Rule) -> Int? {
            if let c = rule.channel, c != channel { return nil }
            if let p = rule.priority, p != priority { return nil }
            return (rule.channel != nil ? 2 : 0) + (rule.priority != nil ? 1 : 0)
        }
        return rules.compactMap { rule in score(rule).map { ($0, rule) } }.max { $0.0 < $1.0 }?.1.targets
    }

    public func validate() throws {
        guard (1...99).contains(warnAtPercent) else {
            throw AtiendeError.invalid("warn_at_percent must be between 1 and 99", code: "invalid_sla_policy")
        }
        for rule in rules {
            for target in [rule.targets.firstResponse, rule.targets.nextResponse, rule.targets.resolution].compactMap({ $0 })
            where !(1...(366 * 86_400)).contains(target) {
                throw AtiendeError.invalid("targets are 1 second to 366 days", code: "invalid_sla_policy")
            }
        }
    }
}

/// One service-level clock: how much of its target is used, and whether it runs now.
public struct SLAClock: Codable, Sendable, Equatable {
    public var target: TimeInterval
    /// Time used before the segment that is running now.
    public var consumed: TimeInterval = 0
    /// Set while the clock runs; nil while paused or stopped.
    public var runningSince: Date?
    public var stoppedAt: Date?

    public init(target: TimeInterval, runningSince: Date?) {
        self.target = target
        self.runningSince = runningSince
    }

    public var isStopped: Bool { stoppedAt != nil }

    enum CodingKeys: String, CodingKey { case target, consumed, runningSince = "running_since", stoppedAt = "stopped_at" }
}

/// The service-level clocks of one conversation and the alerts already sent, driven by what happens to it.
/// Clocks run while the conversation is open, pause while it is pending or snoozed and stop when it is
/// resolved; an agent's public reply stops the response clocks, a private note does nothing.
public struct ConversationClocks: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, CodingKeyRepresentable, Sendable, CaseIterable { case firstResponse = "first_response", nextResponse = "next_response", resolution }
    public enum Alert: String, Codable, Sendable { case warning, breach }

    public enum Change: Sendable {
        case opened(at: Date)
        case customerMessage(at: Date)
        /// A public answer; `byPerson` is false for a bot.
        case answer(at: Date, byPerson: Bool)
        case status(ConversationStatus, at: Date)
        /// The policy, priority, channel or inbox changed: new targets, time already used is kept.
        case retarget(ServiceLevelTargets?, at: Date)
    }

    public var clocks: [Kind: SLAClock] = [:]
    /// `"first_response.warning"`… sent for the clocks' current runs.
    public var sent: Set<String> = []
    var answered = false
    /// Response clocks that a resolution stopped while the customer was still unanswered: a reopening resumes them
    /// (optional, so clocks stored before it decode as they were).
    var resumable: Set<Kind>?

    public init() {}

    enum CodingKeys: String, CodingKey { case clocks, sent, answered, resumable }

    /// Applies a change. `open` says whether the conversation is open (its clocks run) after it.
    public mutating func apply(_ change: Change, targets: ServiceLevelTargets?, open: Bool, time: ServiceTime) {
        switch change {
        case .opened(let at):
            clocks = [:]
            sent = []
            answered = false
            if let target = targets?.firstResponse { clocks[.firstResponse] = SLAClock(target: target, runningSince: open ? at : nil) }
            if let target = targets?.resolution { clocks[.resolution] = SLAClock(target: target, runningSince: open ? at : nil) }
        case .customerMessage(let at):
            // A new wait starts only once the last one was answered; the oldest unanswered message counts.
            if answered, clocks[.nextResponse].map({ $0.isStopped }) ?? true, let target = targets?.nextResponse {
                clocks[.nextResponse] = SLAClock(target: target, runningSince: open ? at : nil)
                sent = sent.filter { !$0.hasPrefix(Kind.nextResponse.rawValue) }
            }
        case .answer(let at, let byPerson):
            guard byPerson else { return }
            answered = true
            resumable = nil
            stop(.firstResponse, at: at, time: time)
            stop(.nextResponse, at: at, time: time)
        case .status(let status, let at):
            switch status {
            case .open:
                for kind in Kind.allCases where clocks[kind]?.runningSince == nil && clocks[kind]?.isStopped == false {
                    clocks[kind]?.runningSince = at
                }
                if clocks[.resolution]?.isStopped == true {
                    // Reopened: resolution time continues from where it stopped.
                    clocks[.resolution]?.stoppedAt = nil
                    clocks[.resolution]?.runningSince = at
                    sent = sent.filter { !$0.hasPrefix(Kind.resolution.rawValue) }
                }
                // A customer still waiting for an answer when it was resolved is still waiting: their clock goes on
                // (the time it was resolved does not count; alerts already sent are not sent again).
                for kind in resumable ?? [] where clocks[kind]?.isStopped == true {
                    clocks[kind]?.stoppedAt = nil
                    clocks[kind]?.runningSince = at
                }
                resumable = nil
            case .pending, .snoozed:
                for kind in Kind.allCases { pause(kind, at: at, time: time) }
            case .resolved, .closed:
                let waiting = [Kind.firstResponse, .nextResponse].filter { clocks[$0].map { !$0.isStopped } ?? false }
                for kind in Kind.allCases { stop(kind, at: at, time: time) }
                resumable = waiting.isEmpty ? nil : Set(waiting)
            }
        case .retarget(let new, _):
            for kind in Kind.allCases {
                let target: TimeInterval? = switch kind {
                case .firstResponse: new?.firstResponse
                case .nextResponse: new?.nextResponse
                case .resolution: new?.resolution
                }
                if let target { clocks[kind]?.target = target } else if clocks[kind]?.isStopped == false { clocks[kind] = nil }
            }
        }
    }

    private mutating func pause(_ kind: Kind, at: Date, time: ServiceTime) {
        guard var clock = clocks[kind], let since = clock.runningSince else { return }
        clock.consumed += time.elapsed(from: since, to: at)
        clock.runningSince = nil
        clocks[kind] = clock
    }

    private mutating func stop(_ kind: Kind, at: Date, time: ServiceTime) {
        guard clocks[kind]?.isStopped == false else { return }
        pause(kind, at: at, time: time)
        clocks[kind]?.stoppedAt = at
    }

    /// When a running clock reaches its target (nil while paused, stopped or absent).
    public func due(_ kind: Kind, time: ServiceTime) -> Date? {
        guard let clock = clocks[kind], let since = clock.runningSince else { return nil }
        return time.adding(max(0, clock.target - clock.consumed), to: since)
    }

    /// Time used so far, counting the running segment up to `now`.
    public func used(_ kind: Kind, now: Date, time: ServiceTime) -> TimeInterval? {
        guard let clock = clocks[kind] else { return nil }
        return clock.consumed + (clock.runningSince.map { time.elapsed(from: $0, to: now) } ?? 0)
    }

    /// Whether a stopped clock met its target (nil while it still runs or is absent).
    public func met(_ kind: Kind) -> Bool? {
        guard let clock = clocks[kind], clock.isStopped else { return nil }
        return clock.consumed <= clock.target
    }

    /// The alerts that are due at `now` and not yet sent, for running clocks.
    public func dueAlerts(now: Date, warnAtPercent: Int, time: ServiceTime) -> [(Kind, Alert)] {
        var alerts: [(Kind, Alert)] = []
        for kind in Kind.allCases {
            guard let clock = clocks[kind], clock.runningSince != nil, let used = used(kind, now: now, time: time) else { continue }
            if used >= clock.target, !sent.contains("\(kind.rawValue).breach") { alerts.append((kind, .breach)) }
            else if used >= clock.target * Double(warnAtPercent) / 100, used < clock.target,
                    !sent.contains("\(kind.rawValue).warning") { alerts.append((kind, .warning)) }
        }
        return alerts
    }

    /// The next moment an alert becomes due (what the deadline scan looks at).
    public func nextAlert(warnAtPercent: Int, time: ServiceTime) -> Date? {
        var earliest: Date?
        for kind in Kind.allCases {
            guard let clock = clocks[kind], let since = clock.runningSince else { continue }
            let warnAt = clock.target * Double(warnAtPercent) / 100
            let point: TimeInterval? = !sent.contains("\(kind.rawValue).warning") && clock.consumed < warnAt ? warnAt
                : !sent.contains("\(kind.rawValue).breach") ? clock.target : nil
            guard let point, let when = time.adding(max(0, point - clock.consumed), to: since) else { continue }
            earliest = min(earliest ?? when, when)
        }
        return earliest
    }

    /// When the first running clock reaches its warning point (in the past once it has): from then on the
    /// conversation is "at risk".
    public func warningPoint(warnAtPercent: Int, time: ServiceTime) -> Date? {
        var earliest: Date?
        for kind in Kind.allCases {
            guard let clock = clocks[kind], let since = clock.runningSince else { continue }
            let warnAt = clock.target * Double(warnAtPercent) / 100
            let when = clock.consumed >= warnAt ? since : time.adding(warnAt - clock.consumed, to: since)
            if let when { earliest = min(earliest ?? when, when) }
        }
        return earliest
    }

    public mutating func markSent(_ kind: Kind, _ alert: Alert) {
        sent.insert("\(kind.rawValue).\(alert.rawValue)")
        if alert == .breach { sent.insert("\(kind.rawValue).warning") }
    }
}

/// How service time is counted: open hours of a calendar, or every second.
public struct ServiceTime: Sendable {
    public let hours: BusinessHours?

    public init(hours: BusinessHours?) { self.hours = hours }

    public static let calendar = ServiceTime(hours: nil)

    public func elapsed(from start: Date, to end: Date) -> TimeInterval {
        guard let hours else { return max(0, end.timeIntervalSince(start)) }
        return hours.openSeconds(from: start, to: end)
    }

    public func adding(_ seconds: TimeInterval, to start: Date) -> Date? {
        guard let hours else { return start.addingTimeInterval(seconds) }
        return hours.adding(seconds, to: start)
    }
}
