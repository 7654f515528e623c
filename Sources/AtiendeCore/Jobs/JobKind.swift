import Foundation

/// Every kind of background job, in one registry: what `JobQueue.enqueue` writes and what the runner dispatches on.
public struct JobKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Sends an agent's reply through its channel.
    public static let send = JobKind(rawValue: "channel.send")
    /// A live chat reply still unread after a while goes to the email the visitor left.
    public static let followUp = JobKind(rawValue: "channel.follow_up")
    /// Brings a snoozed conversation back when its time comes.
    public static let wakeSnoozed = JobKind(rawValue: "conversation.wake")
    /// The inbox's automatic first answer (or after-hours or busy answer) to a new conversation.
    public static let autoReply = JobKind(rawValue: "conversation.auto_reply")
    /// New deadlines for the rest of a large workspace's active conversations after a policy change.
    public static let serviceLevelRetarget = JobKind(rawValue: "sla.retarget")
    /// A service-level alert held for its people's working hours.
    public static let serviceLevelNotice = JobKind(rawValue: "sla.notice")
    /// One notification by email to its person.
    public static let notificationMail = JobKind(rawValue: "notification.email")
    /// An automation rule's signed webhook.
    public static let ruleWebhook = JobKind(rawValue: "automation.webhook")
    /// A survey's question, sent in its conversation's channel.
    public static let surveySend = JobKind(rawValue: "survey.send")
    /// A compensation given, sent to an API inbox's webhook (the integrator applies it).
    public static let compensationWebhook = JobKind(rawValue: "compensation.webhook")
    /// A supervisor's weekly report, by email.
    public static let weeklyReport = JobKind(rawValue: "report.weekly")
    /// A password reset's link, by email to the account's address.
    public static let passwordResetMail = JobKind(rawValue: "account.password_reset")
}
