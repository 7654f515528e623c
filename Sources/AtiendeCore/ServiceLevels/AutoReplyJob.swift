import FluentKit
import Foundation

/// Sends an inbox's automatic first answer (or its after-hours answer) to a new conversation, once, in the
/// conversation's own channel. It is not a person's answer: the first-response clock keeps running.
public struct AutoReplyJob: JobHandler {
    let store: Store
    /// At most this many automatic answers to one customer per hour, whatever the conversations (a loop breaker when
    /// another machine keeps writing without saying it is one).
    public static let perContactPerHour = 3

    public init(store: Store) { self.store = store }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(AutoReplyPayload.self)
        try await store.write { tx in
            guard let conversation = try await Conversation.find(payload.conversationID, on: tx.db),
                  let inbox = try await Inbox.find(conversation.$inbox.id, on: tx.db),
                  let replies = inbox.autoReplies
            else { return }
            let conversationID = try conversation.requireID()
            try await tx.lockWorkspace(conversation.$workspace.id)
            let already = try await Message.query(on: tx.db).filter(\.$conversation.$id == conversationID)
                .filter(\.$senderType == .system).filter(\.$kind == .outgoing).first()
            guard already == nil else { return }
            let recent = try await Message.query(on: tx.db).join(Conversation.self, on: \Message.$conversation.$id == \Conversation.$id)
                .filter(Conversation.self, \.$contact.$id == conversation.$contact.id).filter(\.$senderType == .system)
                .filter(\.$kind == .outgoing).filter(\.$createdAt >= tx.now.addingTimeInterval(-3600)).count()
            guard recent < Self.perContactPerHour else { return }
            let templates = switch payload.variant {
            case .firstAnswer: replies.firstAnswer
            case .afterHours: replies.afterHours
            case .busy: replies.busy
            }
            let language = inbox.settings.language ?? replies.language
            guard let template = templates[language] ?? templates[replies.language] ?? templates.values.sorted().first else { return }
            let contact = try await Contact.find(conversation.$contact.id, on: tx.db)
            let hours = inbox.businessHours
            let wait = payload.variant == .busy ? try await ServiceLevels.expectedWait(inbox: try inbox.requireID(), now: tx.now, on: tx.sql) : nil
            let text = Self.render(template, number: conversation.number, name: contact?.name, inbox: inbox.name, hours: hours,
                                   language: language, now: tx.now, wait: wait)
            let message = Message(workspaceID: conversation.$workspace.id, conversationID: conversationID, inboxID: try inbox.requireID(),
                                  kind: .outgoing, senderType: .system, senderID: nil, text: text, at: tx.now)
            message.deliveryStatus = .queued
            try await message.create(on: tx.db)
            conversation.messageCount += 1
            conversation.updatedAt = tx.now
            try await conversation.save(on: tx.db)
            try await JobQueue.enqueue(JobKind.send, payload: SendPayload(messageID: try message.requireID()),
                                       workspace: conversation.$workspace.id, in: tx)
            try await EventLog.append(.messageCreated, workspace: conversation.$workspace.id, conversation: conversationID,
                                      payload: MessageEventPayload(conversation: conversation.snapshot, message: message.snapshot(attachments: [])),
                                      in: tx)
        }
    }

    static func render(_ template: String, number: Int, name: String?, inbox: String, hours: BusinessHours?, language: String, now: Date,
                       wait: TimeInterval? = nil) -> String {
        let minutes = wait.map { max(1, Int(($0 / 60).rounded())) }
        let waitText = minutes.map { language == "en" ? "\($0) min" : "\($0) min" } ?? (language == "en" ? "a few minutes" : "unos minutos")
        let next = hours.flatMap { hours in hours.nextOpening(after: now).map { hours.describe($0, language: language) } } ?? ""
        return template.replacingOccurrences(of: "{number}", with: String(number))
            .replacingOccurrences(of: "{name}", with: name ?? "")
            .replacingOccurrences(of: "{inbox}", with: inbox)
            .replacingOccurrences(of: "{next_opening}", with: next)
            .replacingOccurrences(of: "{hours}", with: hours?.summary(language: language) ?? "")
            .replacingOccurrences(of: "{wait}", with: waitText)
    }
}

extension BusinessHours {
    /// A moment in the hours' time zone, as a customer reads it: "martes, 2 de diciembre, 09:00".
    public func describe(_ date: Date, language: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: language == "en" ? "en_US" : "es_CL")
        formatter.timeZone = TimeZone(identifier: timeZone)
        formatter.setLocalizedDateFormatFromTemplate("EEEEdMMMMHHmm")
        return formatter.string(from: date)
    }

    /// "lun–vie 09:00–18:00" / "Mon–Fri 09:00–18:00": consecutive days with the same hours together.
    public func summary(language: String) -> String {
        let names = language == "en" ? ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] : ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"]
        let order: [Weekday] = [.mon, .tue, .wed, .thu, .fri, .sat, .sun]
        func text(_ intervals: [Interval]) -> String {
            intervals.sorted { $0.start < $1.start }.map { String(format: "%02d:%02d–%02d:%02d", $0.start / 60, $0.start % 60, $0.end / 60, $0.end % 60) }
                .joined(separator: ", ")
        }
        var groups: [(first: Weekday, last: Weekday, hours: String)] = []
        for day in order {
            guard let intervals = week[day], !intervals.isEmpty else { continue }
            let hours = text(intervals)
            if let last = groups.last, last.hours == hours, order.firstIndex(of: last.last)! + 1 == order.firstIndex(of: day)! {
                groups[groups.count - 1].last = day
            } else {
                groups.append((day, day, hours))
            }
        }
        return groups.map { group in
            let first = names[group.first.number - 1], last = names[group.last.number - 1]
            return (group.first == group.last ? first : "\(first)–\(last)") + " " + group.hours
        }.joined(separator: "; ")
    }
}
