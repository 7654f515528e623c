import FluentKit
import Foundation

/// What agents do to a conversation. Each change is one transaction with its events and jobs.
public struct ConversationService: Sendable {
    public static let maxLabels = 50

    public let store: Store
    let files: FileStore?
    /// Each channel's reply rules, from its descriptor; a channel without rules takes replies at any time.
    let replyRules: @Sendable (ChannelKind) -> ReplyRules

    public init(store: Store, files: FileStore? = nil, replyRules: @escaping @Sendable (ChannelKind) -> ReplyRules = { _ in ReplyRules() }) {
        self.store = store
        self.files = files
        self.replyRules = replyRules
    }

    public struct Changes: Sendable {
        public var status: ConversationStatus?
        public var snoozedUntil: Date?
        /// `.some(nil)` unassigns.
        public var assigneeID: UUID??
        public var teamID: UUID??
        public var priority: Priority?
        public var labels: [String]?
        public var contactReason: String??

        public init(status: ConversationStatus? = nil, snoozedUntil: Date? = nil, assigneeID: UUID?? = nil,
                    teamID: UUID?? = nil, priority: Priority? = nil, labels: [String]? = nil, contactReason: String?? = nil) {
            self.status = status
            self.snoozedUntil = snoozedUntil
            self.assigneeID = assigneeID
            self.teamID = teamID
            self.priority = priority
            self.labels = labels
            self.contactReason = contactReason
        }
    }

    public func update(_ conversationID: UUID, workspace workspaceID: UUID, changes: Changes, actor: UUID?) async throws -> Conversation {
        let labels = try changes.labels.map(Self.normalizeLabels)
        if let reason = changes.contactReason, let reason, reason.count > 120 {
            throw AtiendeError.invalid("contact_reason is longer than 120 characters", code: "invalid_contact_reason")
        }
        return try await store.write { tx in
            let conversation = try await Self.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            _ = try await Self.change(conversation, changes, labels: labels, actor: actor, in: tx)
            return conversation
        }
    }

    /// Applies `changes` to a conversation inside a transaction that holds its workspace: the row, its event and its
    /// reactions. Returns what changed (field → old value); nothing is written when nothing changed. Agents' updates and
    /// the system's (an escalation) take this one path.
    static func change(_ conversation: Conversation, _ changes: Changes, labels normalized: [String]? = nil, actor: UUID?,
                       in tx: WriteTransaction) async throws -> [String: String] {
            let labels = try normalized ?? changes.labels.map(Self.normalizeLabels)
            let workspaceID = conversation.$workspace.id
            let conversationID = try conversation.requireID()
            let before = conversation.snapshot
            let now = tx.now
            var changed: [String: String] = [:]

            if let assignee = changes.assigneeID, assignee != conversation.$assignee.id {
                if let assignee {
                    let member = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID)
                        .filter(\.$user.$id == assignee).first()
                    guard member != nil else { throw AtiendeError(.notFound, code: "member_not_found", "assignee_id is not a member of this workspace") }
                }
                changed["assignee_id"] = conversation.$assignee.id?.uuidString ?? ""
                // The person who had it (let it go, or had it taken away) does not get it straight back from routing.
                conversation.releasedBy = assignee == nil ? conversation.$assignee.id ?? actor : nil
                conversation.releasedAt = assignee == nil ? now : nil
                conversation.$assignee.id = assignee
            }
            if let team = changes.teamID, team != conversation.$team.id {
                if let team {
                    let found = try await Team.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id == team).first()
                    guard found != nil else { throw AtiendeError(.notFound, code: "team_not_found", "team_id is not a team of this workspace") }
                }
                changed["team_id"] = conversation.$team.id?.uuidString ?? ""
                conversation.$team.id = team
            }
            if let priority = changes.priority, priority != conversation.priority {
                changed["priority"] = conversation.priority.rawValue
                conversation.priority = priority
                conversation.priorityRank = priority.rank
            }
            if let labels, labels != conversation.labels {
                changed["labels"] = conversation.labels.joined(separator: ",")
                conversation.labels = labels
            }
            if let reason = changes.contactReason, reason != conversation.contactReason {
                changed["contact_reason"] = conversation.contactReason ?? ""
                conversation.contactReason = reason.flatMap { $0.isEmpty ? nil : $0 }
            }
            if let status = changes.status {
                try await Self.apply(status, snoozedUntil: changes.snoozedUntil, to: conversation, changed: &changed, in: tx)
            }
            guard !changed.isEmpty else { return changed }
            conversation.updatedAt = now
            try await conversation.save(on: tx.db)
            let type: EventType
            if changed["status"] != nil { type = conversation.status == .resolved ? .conversationResolved : .conversationStatusChanged }
            else if changed["assignee_id"] != nil || changed["team_id"] != nil { type = .conversationAssigned }
            else { type = .conversationUpdated }
            try await EventLog.append(type, workspace: workspaceID, conversation: conversationID, actor: actor,
                                      payload: ConversationEventPayload(conversation: conversation.snapshot, changes: changed), in: tx)
            try await tx.react(.conversationChanged(.init(workspaceID: workspaceID, before: before, after: conversation.snapshot, actor: actor)))
            return changed
    }

    private static func apply(_ status: ConversationStatus, snoozedUntil: Date?, to conversation: Conversation,
                       changed: inout [String: String], in tx: WriteTransaction) async throws {
        let now = tx.now
        if status == .snoozed {
            guard let until = snoozedUntil, until > now else {
                throw AtiendeError.invalid("snoozing needs snoozed_until in the future", code: "invalid_snooze")
            }
            conversation.snoozedUntil = until
            try await JobQueue.enqueue(JobKind.wakeSnoozed, payload: WakePayload(conversationID: try conversation.requireID(), until: until),
                                       workspace: conversation.$workspace.id, runAt: until, in: tx)
            changed["snoozed_until"] = ISO8601.string(until)
        } else {
            conversation.snoozedUntil = nil
        }
        guard status != conversation.status else { return }
        if conversation.status == .closed {
            throw AtiendeError(.conflict, code: "conversation_closed", "a closed conversation cannot change status")
        }
        changed["status"] = conversation.status.rawValue
        switch status {
        case .resolved, .closed:
            if conversation.resolvedAt == nil { conversation.resolvedAt = now }
            conversation.waitingSince = nil
        case .open, .pending, .snoozed:
            conversation.resolvedAt = nil
        }
        conversation.status = status
    }

    /// What an agent (or a macro run by one) writes into a conversation: a public reply or a private note.
    public struct ReplyDraft: Sendable {
        public var text: String
        public var isNote: Bool
        /// WhatsApp: an approved template, the only reply after 24 hours.
        public var template: MessageTemplate?
        /// Another inbox of the workspace to answer through.
        public var via: UUID?
        /// The canned response the text came from, counted as a use.
        public var canned: UUID?

        public init(text: String, isNote: Bool = false, template: MessageTemplate? = nil, via: UUID? = nil, canned: UUID? = nil) {
            self.text = text
            self.isNote = isNote
            self.template = template
            self.via = via
            self.canned = canned
        }

        /// What can be refused before anything is stored.
        func validate(files: Int) throws {
            let body = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !body.isEmpty || files > 0 || template != nil else { throw AtiendeError.invalid("text must not be empty", code: "empty_message") }
            if let template {
                guard !isNote, files == 0, !template.name.isEmpty, template.name.count <= 512, (2...15).contains(template.language.count),
                      template.parameters.count <= 20, template.parameters.allSatisfy({ $0.count <= 1024 }) else {
                    throw AtiendeError.invalid("a template needs a name, a language code and at most 20 parameters, and no attachments",
                                               code: "invalid_template")
                }
            }
            guard text.count <= Ingest.maxTextLength else {
                throw AtiendeError(.payloadTooLarge, code: "text_too_long", "text is longer than \(Ingest.maxTextLength) characters")
            }
            // A canned response's variable without a value is left for the agent to fill in; it never reaches the customer.
            if !isNote, let gap = Placeholders.unfilled(in: body).first {
                throw AtiendeError.invalid("{{\(gap)}} has no value in this conversation: write it in before sending", code: "missing_variable",
                                           parameters: ["variable": "{{\(gap)}}"])
            }
        }
    }

    /// An agent's public reply: stored as queued with a send job in the same transaction. `via` answers through another of
    /// the workspace's inboxes that reaches this customer (a contact form by email, a logged call by WhatsApp or SMS); the
    /// reply stays in this conversation, and so does the customer's answer.
    public func reply(_ conversationID: UUID, workspace workspaceID: UUID, text: String, author: UUID,
                      isNote: Bool, files: [InboundMessage.File] = [], template: MessageTemplate? = nil,
                      via: UUID? = nil, canned: UUID? = nil) async throws -> (Message, Conversation) {
        let draft = ReplyDraft(text: text, isNote: isNote, template: template, via: via, canned: canned)
        try draft.validate(files: files.count)
        let stored = try storeFiles(files)
        return try await store.write { tx in
            let conversation = try await Self.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            return (try await post(draft, files: stored, to: conversation, author: author, in: tx), conversation)
        }
    }

    /// Writes a reply or note into a conversation the transaction holds: the message (queued, with its send job), the
    /// conversation's clocks, the event and the reactions.
    /// `author` nil: Atiende writes it (an automation rule), as the system.
    func post(_ draft: ReplyDraft, files stored: [StoredFile] = [], to conversation: Conversation, author: UUID?,
              in tx: WriteTransaction) async throws -> Message {
        try draft.validate(files: stored.count)
        let (text, isNote, template) = (draft.text, draft.isNote, draft.template)
        let workspaceID = conversation.$workspace.id
        let conversationID = try conversation.requireID()
        let now = tx.now
        if let canned = draft.canned { try await CannedResponseService.countUse(canned, workspace: workspaceID, user: author, in: tx) }
        let through = isNote ? nil : try await replyInbox(draft.via, for: conversation, in: tx)
        let rules = replyRules(through?.channel ?? conversation.channel)
        if !isNote, !rules.sends {
            throw AtiendeError.invalid("\(conversation.channel.rawValue) conversations are not answered through their own channel: choose one that reaches the customer (via_inbox_id)",
                                       code: "reply_needs_channel", parameters: ["channel": conversation.channel.rawValue])
        }
        if through != nil, conversation.providerThreadID == nil {
            // The customer's answer by email finds this conversation by it.
            conversation.providerThreadID = SecretToken.thread()
        }
        if template != nil {
            guard rules.templates else {
                throw AtiendeError.invalid("templates are sent only on channels that have them (WhatsApp)", code: "invalid_template",
                                           parameters: ["channel": conversation.channel.rawValue])
            }
        } else if !isNote, let window = rules.window,
                  now.timeIntervalSince(conversation.lastIncomingAt ?? conversation.createdAt) > window {
            throw AtiendeError.windowClosed(channel: conversation.channel, window: window, templates: rules.templates)
        }
        let shown = template.map { t in "[\(t.name)] " + t.parameters.joined(separator: " · ") } ?? text
        let message = Message(workspaceID: workspaceID, conversationID: conversationID, inboxID: through?.id ?? conversation.$inbox.id,
                              kind: isNote ? .note : .outgoing, senderType: author == nil ? .system : .agent, senderID: author, text: shown, at: now)
        message.templateJSON = try template.map { String(decoding: try JSON.encoder.encode($0), as: UTF8.self) }
        if !isNote { message.deliveryStatus = .queued }
        try await message.create(on: tx.db)
        let attachments = try await Self.attach(stored, to: message, in: tx)
        conversation.messageCount += 1
        conversation.updatedAt = now
        let (waitedSince, firstResponse) = (isNote ? nil : conversation.waitingSince, !isNote && conversation.firstResponseAt == nil)
        if !isNote {
            conversation.lastMessageAt = now
            conversation.waitingSince = nil
            if conversation.firstResponseAt == nil { conversation.firstResponseAt = now }
            try await JobQueue.enqueue(JobKind.send, payload: SendPayload(messageID: try message.requireID()),
                                       workspace: workspaceID, in: tx)
        }
        try await conversation.save(on: tx.db)
        let snapshot = message.snapshot(attachments: attachments)
        try await EventLog.append(.messageCreated, workspace: workspaceID, conversation: conversationID, actor: author,
                                  payload: MessageEventPayload(conversation: conversation.snapshot, message: snapshot), in: tx)
        let reply = DomainChange.Reply(workspaceID: workspaceID, conversation: conversation.snapshot, message: snapshot, author: author,
                                       waitedSince: waitedSince, firstResponse: firstResponse)
        try await tx.react(isNote ? .noteAdded(reply) : .replied(reply))
        message.$attachments.value = attachments
        return message
    }

    /// Sends a failed reply again: queued once more, its failed job revived (or a new one), and the page told.
    public func resend(_ messageID: UUID, conversation conversationID: UUID, workspace workspaceID: UUID, actor: UUID) async throws -> Message {
        try await store.write { tx in
            let conversation = try await Self.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            guard let message = try await Message.query(on: tx.db).filter(\.$conversation.$id == conversationID).filter(\.$id == messageID).first()
            else { throw AtiendeError.notFound("message") }
            guard message.kind == .outgoing, message.deliveryStatus == .failed else {
                throw AtiendeError(.conflict, code: "not_failed", "only a reply that failed can be sent again")
            }
            let dead = try await Job.query(on: tx.db).filter(\.$workspaceID == workspaceID).filter(\.$kind == JobKind.send.rawValue)
                .filter(\.$deadAt != nil).all()
                .filter { (try? JSON.decoder.decode(SendPayload.self, from: Data($0.payload.utf8)))?.messageID == messageID }
            if let job = dead.first {
                try await JobQueue.revive(job, in: tx)
            } else {
                try await JobQueue.enqueue(JobKind.send, payload: SendPayload(messageID: messageID), workspace: workspaceID, in: tx)
            }
            message.deliveryStatus = .queued
            message.deliveryError = nil
            message.deliveryErrorCode = nil
            message.deliveryAttempt = nil
            message.updatedAt = tx.now
            try await message.save(on: tx.db)
            try await EventLog.append(.messageUpdated, workspace: workspaceID, conversation: conversationID, actor: actor,
                                      payload: MessageEventPayload(conversation: conversation.snapshot, message: message.snapshot(attachments: [])),
                                      in: tx)
            return message
        }
    }

    /// The inbox a reply goes out through when it is not the conversation's own: the workspace's, active, carrying
    /// replies, and reaching an identity this customer has.
    func replyInbox(_ id: UUID?, for conversation: Conversation, in tx: WriteTransaction) async throws -> Inbox? {
        guard let id, id != conversation.$inbox.id else { return nil }
        guard let inbox = try await Inbox.query(on: tx.db).filter(\.$workspace.$id == conversation.$workspace.id).filter(\.$id == id).first() else {
            throw AtiendeError.notFound("inbox")
        }
        let rules = replyRules(inbox.channel)
        guard inbox.isActive, rules.sends else {
            throw AtiendeError.invalid("the inbox '\(inbox.name)' cannot send replies", code: "channel_cannot_send", parameters: ["channel": inbox.channel.rawValue])
        }
        let kinds = Set(try await ContactIdentity.query(on: tx.db).filter(\.$contact.$id == conversation.$contact.id).all().map(\.kind))
        guard rules.reaches.contains(where: kinds.contains) else {
            throw AtiendeError.invalid("the customer has no address that \(inbox.channel.rawValue) can reach", code: "no_address",
                                       parameters: ["channel": inbox.channel.rawValue])
        }
        return inbox
    }

    /// The conversation, with its workspace's writers held off until commit.
    static func lockedConversation(_ id: UUID, workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> Conversation {
        try await tx.lockWorkspace(workspaceID)
        guard let conversation = try await Conversation.query(on: tx.db)
            .filter(\.$workspace.$id == workspaceID).filter(\.$id == id).first()
        else { throw AtiendeError.notFound("conversation") }
        return conversation
    }

    /// Records a delivery state reported by a sender or a provider callback, with why it failed (or why it is being tried
    /// again, `attempt` of the job's tries, while still queued). A message never goes back from read to delivered, nor
    /// shows delivered after a failure report.
    public static func recordDelivery(_ messageID: UUID, status: DeliveryStatus, providerMessageID: String? = nil,
                                      failure: DeliveryFailure? = nil, attempt: Int? = nil, in tx: WriteTransaction) async throws {
        guard let unlocked = try await Message.find(messageID, on: tx.db) else { return }
        // Reports race each other (the sender's "sent", the customer's "read"): with the workspace held, each one reads the
        // status the previous one wrote, so a later, lower status can never overwrite a higher one.
        try await tx.lockWorkspace(unlocked.$workspace.id)
        guard let message = try await Message.find(messageID, on: tx.db),
              let conversation = try await Conversation.find(message.$conversation.id, on: tx.db) else { return }
        let order: [DeliveryStatus] = [.queued, .sent, .delivered, .read]
        if let current = message.deliveryStatus, let from = order.firstIndex(of: current), let to = order.firstIndex(of: status),
           to < from { return }
        if message.deliveryStatus == .failed && status != .failed && status != .sent { return }
        message.deliveryStatus = status
        message.deliveryError = failure?.detail
        message.deliveryErrorCode = failure?.code.rawValue
        message.deliveryAttempt = attempt
        if let providerMessageID { message.providerMessageID = providerMessageID }
        message.updatedAt = tx.now
        try await message.save(on: tx.db)
        try await EventLog.append(.messageUpdated, workspace: message.$workspace.id, conversation: conversation.id,
                                  payload: MessageEventPayload(conversation: conversation.snapshot, message: message.snapshot(attachments: [])),
                                  in: tx)
    }

    static func normalizeLabels(_ labels: [String]) throws -> [String] {
        var result: [String] = []
        for raw in labels {
            let label = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            guard !label.isEmpty, label.count <= 64, !label.contains(",") else {
                throw AtiendeError.invalid("labels must be 1 to 64 characters without commas", code: "invalid_label")
            }
            if !result.contains(label) { result.append(label) }
        }
        guard result.count <= maxLabels else {
            throw AtiendeError.invalid("at most \(maxLabels) labels", code: "invalid_label")
        }
        return result
    }
}

public struct SendPayload: Codable, Sendable {
    public var messageID: UUID
    enum CodingKeys: String, CodingKey { case messageID = "message_id" }
}

public struct WakePayload: Codable, Sendable {
    public var conversationID: UUID
    public var until: Date
    enum CodingKeys: String, CodingKey { case conversationID = "conversation_id", until }
}

/// Brings a snoozed conversation back to open when its time comes (unless someone already did).
public struct WakeSnoozedJob: JobHandler {
    let store: Store

    public init(store: Store) { self.store = store }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(WakePayload.self)
        try await store.write { tx in
            guard let found = try await Conversation.find(payload.conversationID, on: tx.db) else { return }
            try await tx.lockWorkspace(found.$workspace.id)
            guard let conversation = try await Conversation.find(payload.conversationID, on: tx.db),
                  conversation.status == .snoozed, let until = conversation.snoozedUntil, until <= tx.now
            else { return }
            _ = try await ConversationService.change(conversation, .init(status: .open), actor: nil, in: tx)
        }
    }
}
