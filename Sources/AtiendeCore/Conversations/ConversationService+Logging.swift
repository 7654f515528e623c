import FluentKit
import Foundation

extension ConversationService {
    /// A stored file waiting to become an attachment row: the input, its checked type and its hash.
    struct StoredFile: Sendable { var filename: String; var contentType: String; var size: Int; var sha256: String }

    /// Validates and writes files before the transaction (content-addressed writes are idempotent).
    func storeFiles(_ files: [InboundMessage.File]) throws -> [StoredFile] {
        guard !files.isEmpty else { return [] }
        guard let store = self.files else { throw AtiendeError.invalid("attachments are not accepted here", code: "attachments_unavailable") }
        guard files.count <= 10 else { throw AtiendeError.invalid("at most 10 attachments per message", code: "too_many_attachments") }
        return try files.map { file in
            let type = try store.validate(contentType: file.contentType, size: file.data.count)
            return StoredFile(filename: Ingest.safeFilename(file.filename), contentType: type, size: file.data.count, sha256: try store.put(file.data))
        }
    }

    static func attach(_ stored: [StoredFile], to message: Message, in tx: WriteTransaction) async throws -> [Attachment] {
        var rows: [Attachment] = []
        for file in stored {
            let attachment = Attachment()
            attachment.$workspace.id = message.$workspace.id
            attachment.$message.id = try message.requireID()
            attachment.filename = file.filename
            attachment.contentType = file.contentType
            attachment.size = file.size
            attachment.sha256 = file.sha256
            try await attachment.create(on: tx.db)
            rows.append(attachment)
        }
        return rows
    }

    /// A phone call or a walk-in an agent records on a contact.
    public struct LoggedContact: Sendable {
        public enum Direction: String, Sendable, CaseIterable { case incoming, outgoing }
        public var inboxID: UUID
        public var contactID: UUID
        public var direction: Direction
        public var durationSeconds: Int?
        public var outcome: String?
        public var notes: String
        public var resolve: Bool

        public init(inboxID: UUID, contactID: UUID, direction: Direction, durationSeconds: Int?, outcome: String?, notes: String, resolve: Bool) {
            self.inboxID = inboxID
            self.contactID = contactID
            self.direction = direction
            self.durationSeconds = durationSeconds
            self.outcome = outcome
            self.notes = notes
            self.resolve = resolve
        }
    }

    /// The details of a logged call or visit, kept as the activity line's text (rendered through translations).
    public struct LoggedActivity: Codable, Sendable, Equatable {
        public var activity: String
        public var direction: String
        public var durationSeconds: Int?
        public var outcome: String?
        enum CodingKeys: String, CodingKey { case activity, direction, outcome, durationSeconds = "duration_seconds" }
    }

    /// Records a call or visit as a conversation in a phone or in-person inbox, so it joins the contact's
    /// history and the metrics like any other channel.
    public func log(_ entry: LoggedContact, workspace workspaceID: UUID, author: UUID) async throws -> Conversation {
        let notes = entry.notes.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !notes.isEmpty, notes.count <= Ingest.maxTextLength else {
            throw AtiendeError.invalid("notes must be 1 to \(Ingest.maxTextLength) characters", code: "invalid_notes")
        }
        if let duration = entry.durationSeconds, duration < 0 || duration > 86_400 {
            throw AtiendeError.invalid("duration must be between 0 and 24 hours", code: "invalid_duration")
        }
        let outcome = entry.outcome?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let outcome, outcome.count > 120 { throw AtiendeError.invalid("outcome is longer than 120 characters", code: "invalid_outcome") }
        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            guard let inbox = try await Inbox.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id == entry.inboxID).first(),
                  inbox.channel == .phone || inbox.channel == .inPerson
            else { throw AtiendeError.invalid("choose a phone or in-person inbox", code: "invalid_inbox") }
            guard try await Contact.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id == entry.contactID)
                .filter(\.$mergedIntoID == nil).filter(\.$erasedAt == nil).first() != nil
            else { throw AtiendeError.notFound("contact") }
            let now = tx.now
            let conversation = Conversation()
            conversation.id = UUID()
            conversation.$workspace.id = workspaceID
            conversation.number = Int(try await tx.advance(.conversation, by: 1, in: workspaceID))
            conversation.$inbox.id = try inbox.requireID()
            conversation.$contact.id = entry.contactID
            conversation.channel = inbox.channel
            conversation.status = entry.resolve ? .resolved : .open
            conversation.priority = .none
            conversation.priorityRank = Priority.none.rank
            conversation.$assignee.id = author
            conversation.$team.id = inbox.$team.id
            conversation.labels = []
            conversation.subject = (outcome?.isEmpty ?? true) ? nil : outcome
            conversation.createdAt = now
            conversation.updatedAt = now
            conversation.lastMessageAt = now
            conversation.lastIncomingAt = entry.direction == .incoming ? now : nil
            conversation.firstResponseAt = now
            conversation.resolvedAt = entry.resolve ? now : nil
            conversation.messageCount = 2
            try await conversation.create(on: tx.db)
            let conversationID = try conversation.requireID()
            let details = LoggedActivity(activity: inbox.channel == .phone ? "call_logged" : "visit_logged", direction: entry.direction.rawValue,
                                         durationSeconds: entry.durationSeconds, outcome: conversation.subject)
            let activity = Message(workspaceID: workspaceID, conversationID: conversationID, inboxID: conversation.$inbox.id,
                                   kind: .activity, senderType: .system, senderID: author, text: try EventLog.json(details), at: now)
            try await activity.create(on: tx.db)
            let message = Message(workspaceID: workspaceID, conversationID: conversationID, inboxID: conversation.$inbox.id,
                                  kind: entry.direction == .incoming ? .incoming : .outgoing, senderType: .agent, senderID: author,
                                  text: notes, at: now)
            try await message.create(on: tx.db)
            try await EventLog.append(.conversationCreated, workspace: workspaceID, conversation: conversationID, actor: author,
                                      payload: ConversationEventPayload(conversation: conversation.snapshot), in: tx)
            try await EventLog.append(.messageCreated, workspace: workspaceID, conversation: conversationID, actor: author,
                                      payload: MessageEventPayload(conversation: conversation.snapshot, message: message.snapshot(attachments: [])),
                                      in: tx)
            try await tx.react(.contactLogged(conversationID: conversationID, workspaceID: workspaceID, resolved: entry.resolve))
            return conversation
        }
    }
}

/// In-app notifications for agents: stored (they may be away) and announced as a `notification.created` event.
public enum Notifications {
    public struct MailPayload: Codable, Sendable {
        public var notificationID: UUID
        enum CodingKeys: String, CodingKey { case notificationID = "notification_id" }
    }

    public struct Payload: Codable, Sendable {
        public var id: UUID
        public var userID: UUID
        public var kind: AgentNotification.Kind
        public var conversationNumber: Int
        public var excerpt: String
        enum CodingKeys: String, CodingKey { case id, kind, excerpt, userID = "user_id", conversationNumber = "conversation_number" }
    }

    /// Tells every workspace's admins of something about the instance rather than a conversation (its number is 0).
    public static func notifyAdmins(of kind: AgentNotification.Kind, excerpt: String, store: Store) async throws {
        try await store.write { tx in
            let admins = try await Membership.query(on: tx.db).filter(\.$role == .admin).all()
            for (workspace, members) in Dictionary(grouping: admins, by: { $0.$workspace.id }) {
                try await notify(members.map(\.$user.id), of: kind, workspace: workspace, conversationID: nil, number: 0, actor: nil,
                                 excerpt: excerpt, in: tx)
            }
        }
    }

    static func notify(_ users: [UUID], of kind: AgentNotification.Kind, workspace workspaceID: UUID, conversationID: UUID?,
                       number: Int, actor: UUID?, excerpt: String, in tx: WriteTransaction) async throws {
        // Who also wants this kind by email (and is still active), when the instance can send mail.
        var emailed = Set<UUID>()
        if tx.store.mailsNotifications, !users.isEmpty {
            for person in try await User.query(on: tx.db).filter(\.$id ~~ Set(users)).filter(\.$isActive == true).all()
            where person.emailedNotifications.contains(kind) {
                if let id = person.id { emailed.insert(id) }
            }
        }
        for user in Set(users) {
            let notification = AgentNotification()
            notification.id = UUID()
            notification.$workspace.id = workspaceID
            notification.userID = user
            notification.kind = kind
            notification.conversationNumber = number
            notification.actorID = actor
            notification.excerpt = String(excerpt.prefix(200))
            notification.createdAt = tx.now
            try await notification.create(on: tx.db)
            try await EventLog.append(.notificationCreated, workspace: workspaceID, conversation: conversationID, actor: actor,
                                      payload: Payload(id: try notification.requireID(), userID: user, kind: kind,
                                                       conversationNumber: number, excerpt: notification.excerpt), in: tx)
            if emailed.contains(user) {
                try await JobQueue.enqueue(JobKind.notificationMail, payload: MailPayload(notificationID: try notification.requireID()), workspace: workspaceID, in: tx)
            }
        }
    }

    /// Members named in `@handle` form, where the handle is the part of their email before the `@`
    /// or their name without spaces (case- and accent-insensitive).
    static func mentionedMembers(in text: String, workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> [UUID] {
        let handles = mentionHandles(text)
        guard !handles.isEmpty else { return [] }
        let members = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).with(\.$user).all()
        return members.compactMap { member in
            let keys = [String(member.user.email.split(separator: "@").first ?? ""), member.user.name.replacingOccurrences(of: " ", with: "")]
                .map(fold)
            return keys.contains(where: handles.contains) ? member.$user.id : nil
        }
    }

    static func mentionHandles(_ text: String) -> Set<String> {
        var handles = Set<String>()
        var rest = Substring(text)
        while let at = rest.firstIndex(of: "@") {
            let before = at > text.startIndex ? text[text.index(before: at)] : " "
            let handle = rest[rest.index(after: at)...].prefix { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" }
            if !(before.isLetter || before.isNumber), !handle.isEmpty {
                handles.insert(fold(String(handle.trimmingCharacters(in: CharacterSet(charactersIn: ".-_")))))
            }
            rest = rest[rest.index(after: at)...]
        }
        return handles
    }

    static func fold(_ s: String) -> String { s.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil) }
}
