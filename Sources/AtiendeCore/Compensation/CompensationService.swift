import FluentKit
import Foundation

/// Grants within authority, requests above it, and supervisors' decisions. Every grant is recorded on its
/// conversation's timeline, told to the customer in their channel once given, and sent to the workspace's API inboxes'
/// webhooks (the integrators' systems apply the credit or refund).
public struct CompensationService: Sendable {
    public let store: Store
    let conversations: ConversationService

    public init(store: Store, conversations: ConversationService) {
        self.store = store
        self.conversations = conversations
    }

    public struct Grant: Sendable {
        public var kind: Compensation.Kind
        public var amount: Double
        public var unit: String
        public var reason: String
        public var message: String?

        public init(kind: Compensation.Kind, amount: Double, unit: String, reason: String, message: String?) {
            self.kind = kind
            self.amount = amount
            self.unit = unit
            self.reason = reason
            self.message = message
        }

        func validated() throws -> (cents: Int64, unit: String, reason: String, message: String?) {
            guard amount.isFinite, amount > 0, amount <= 1_000_000_000 else {
                throw AtiendeError.invalid("the amount is more than 0 and at most 1,000,000,000", code: "invalid_amount")
            }
            let cents = Int64((amount * 100).rounded())
            guard cents > 0 else { throw AtiendeError.invalid("the amount is at least 0.01", code: "invalid_amount") }
            let unit = unit.trimmingCharacters(in: .whitespaces).uppercased()
            guard CompensationPolicy.validUnit(unit) else {
                throw AtiendeError.invalid("the unit is a currency code (USD, CLP) or HOURS", code: "invalid_unit")
            }
            guard (kind == .bonusTime) == (unit == "HOURS") else {
                throw AtiendeError.invalid("bonus service time is given in HOURS, money in a currency", code: "invalid_unit")
            }
            let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...500).contains(reason.count) else { throw AtiendeError.invalid("say why, in up to 500 characters", code: "invalid_reason") }
            let message = message.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
            guard (message?.count ?? 0) <= 2000 else { throw AtiendeError.invalid("the message is 2000 characters at most", code: "invalid_message") }
            return (cents, unit, reason, message)
        }
    }

    public func setPolicy(_ policy: CompensationPolicy, workspace: Workspace, actor: UUID) async throws -> CompensationPolicy {
        let valid = try policy.validated()
        return try await store.write { tx in
            try await tx.lockWorkspace(try workspace.requireID())
            workspace.compensationJSON = try EventLog.json(valid)
            try await workspace.save(on: tx.db)
            try await EventLog.append(.workspaceUpdated, workspace: try workspace.requireID(), actor: actor,
                                      payload: RecordEventPayload(id: try workspace.requireID(), name: workspace.name, changes: ["compensation"]), in: tx)
            return valid
        }
    }

    /// Given at once within the actor's limits (per grant, and with what they gave themselves this calendar month in
    /// the workspace's time zone); otherwise a request for the workspace's supervisors.
    public func grant(_ input: Grant, conversation conversationID: UUID, workspace workspaceID: UUID, actor: UUID, role: Role) async throws -> Compensation {
        let valid = try input.validated()
        return try await store.write { tx in
            let conversation = try await ConversationService.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            guard let workspace = try await Workspace.find(workspaceID, on: tx.db) else { throw AtiendeError.notFound("workspace") }
            let compensation = Compensation()
            compensation.$workspace.id = workspaceID
            compensation.conversationID = conversationID
            compensation.contactID = conversation.$contact.id
            compensation.kind = input.kind
            compensation.amountCents = valid.cents
            compensation.unit = valid.unit
            compensation.reason = valid.reason
            compensation.message = valid.message
            compensation.requestedBy = actor
            compensation.createdAt = tx.now
            let within = try await Self.within(valid.cents, unit: valid.unit, role: role, actor: actor, workspace: workspace, in: tx)
            compensation.status = within ? .granted : .pending
            try await compensation.create(on: tx.db)
            if within {
                try await give(compensation, conversation: conversation, author: actor, event: .compensationGranted, in: tx)
            } else {
                try await ActivityLogReaction.write(.init(change: .compensationRequested, value: Self.summary(compensation)), conversation: conversation,
                                                    actor: actor, in: tx)
                try await EventLog.append(.compensationRequested, workspace: workspaceID, conversation: conversationID, actor: actor,
                                          payload: CompensationEventPayload(compensation: compensation.snapshot, number: conversation.number), in: tx)
                let approvers = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$role ~~ [.supervisor, .admin]).all()
                    .map(\.$user.id).filter { $0 != actor }
                try await Notifications.notify(approvers, of: .compensationRequested, workspace: workspaceID, conversationID: conversationID,
                                               number: conversation.number, actor: actor, excerpt: Self.summary(compensation), in: tx)
            }
            return compensation
        }
    }

    /// A supervisor (not the one who asked) approves or rejects a request; the requester is told either way.
    public func decide(_ id: UUID, approve: Bool, note: String?, workspace workspaceID: UUID, actor: UUID, role: Role) async throws -> Compensation {
        guard role >= .supervisor else {
            throw AtiendeError(.forbidden, code: "insufficient_role", "requests are approved by supervisors and admins")
        }
        let note = note.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : String($0.prefix(500)) }
        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            guard let compensation = try await Compensation.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id).first() else {
                throw AtiendeError.notFound("compensation")
            }
            guard compensation.status == .pending else {
                throw AtiendeError(.conflict, code: "not_pending", "this compensation is not waiting for a decision")
            }
            guard compensation.requestedBy != actor else {
                throw AtiendeError(.forbidden, code: "own_request", "a request is decided by someone other than who asked")
            }
            guard let conversation = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == workspaceID)
                .filter(\.$id == compensation.conversationID).first() else { throw AtiendeError.notFound("conversation") }
            compensation.status = approve ? .approved : .rejected
            compensation.decidedBy = actor
            compensation.decidedAt = tx.now
            compensation.decisionNote = note
            try await compensation.save(on: tx.db)
            if approve {
                try await give(compensation, conversation: conversation, author: compensation.requestedBy, event: .compensationApproved, in: tx)
            } else {
                try await ActivityLogReaction.write(.init(change: .compensationRejected, value: Self.summary(compensation)), conversation: conversation,
                                                    actor: actor, in: tx)
                try await EventLog.append(.compensationRejected, workspace: workspaceID, conversation: compensation.conversationID, actor: actor,
                                          payload: CompensationEventPayload(compensation: compensation.snapshot, number: conversation.number), in: tx)
            }
            try await Notifications.notify([compensation.requestedBy], of: .compensationDecided, workspace: workspaceID,
                                           conversationID: compensation.conversationID, number: conversation.number, actor: actor,
                                           excerpt: Self.summary(compensation) + " · " + compensation.status.rawValue, in: tx)
            return compensation
        }
    }

    /// "discount 20 USD: late delivery".
    static func summary(_ c: Compensation) -> String { "\(c.kind.rawValue) \(c.amountText): \(c.reason)" }

    static func within(_ cents: Int64, unit: String, role: Role, actor: UUID, workspace: Workspace, in tx: WriteTransaction) async throws -> Bool {
        guard let limit = workspace.compensationPolicy.limit(for: role, unit: unit) else { return role == .admin }
        guard cents <= limit.perGrantCents else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: workspace.timeZone) ?? .gmt
        let month = calendar.dateInterval(of: .month, for: tx.now)?.start ?? tx.now
        let used = try await Compensation.query(on: tx.db).filter(\.$workspace.$id == (try workspace.requireID())).filter(\.$requestedBy == actor)
            .filter(\.$unit == unit).filter(\.$status == .granted).filter(\.$createdAt >= month).all().reduce(Int64(0)) { $0 + $1.amountCents }
        return used + cents <= limit.perMonthCents
    }

    /// Given: on the timeline, told to the customer in their channel (or why not), and sent to the integrators.
    private func give(_ compensation: Compensation, conversation: Conversation, author: UUID, event: EventType, in tx: WriteTransaction) async throws {
        let workspaceID = compensation.$workspace.id
        try await ActivityLogReaction.write(.init(change: .compensationGiven, value: Self.summary(compensation)), conversation: conversation,
                                            actor: compensation.decidedBy ?? author, in: tx)
        var language = try await Inbox.find(conversation.$inbox.id, on: tx.db)?.settings.language
        if language == nil { language = try await Workspace.find(workspaceID, on: tx.db)?.defaultLanguage }
        let text = compensation.message ?? Self.defaultMessage(compensation, language: language ?? "es")
        do {
            _ = try await conversations.post(.init(text: text), to: conversation, author: author, in: tx)
        } catch let refused as AtiendeError {
            try await ActivityLogReaction.write(.init(change: .compensationNotTold, value: refused.message), conversation: conversation, actor: nil, in: tx)
        }
        try await EventLog.append(event, workspace: workspaceID, conversation: compensation.conversationID, actor: compensation.decidedBy ?? author,
                                  payload: CompensationEventPayload(compensation: compensation.snapshot, number: conversation.number), in: tx)
        let integrators = try await Inbox.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$channel == .api)
            .filter(\.$isActive == true).all().filter { !($0.settings.webhookURL ?? "").isEmpty }
        for inbox in integrators {
            try await JobQueue.enqueue(JobKind.compensationWebhook,
                                       payload: CompensationWebhookPayload(compensationID: try compensation.requireID(), inboxID: try inbox.requireID()),
                                       workspace: workspaceID, in: tx)
        }
    }

    public static func defaultMessage(_ c: Compensation, language: String) -> String {
        let amount = c.unit == "HOURS" ? Compensation.amountText(c.amountCents, unit: language == "en" ? "hours" : "horas") : c.amountText
        let what: String = switch (c.kind, language == "en") {
        case (.discount, false): "un descuento de \(amount)"
        case (.credit, false): "un crédito de \(amount)"
        case (.refund, false): "un reembolso de \(amount)"
        case (.bonusTime, false): "\(amount) de servicio adicional"
        case (.discount, true): "a discount of \(amount)"
        case (.credit, true): "a credit of \(amount)"
        case (.refund, true): "a refund of \(amount)"
        case (.bonusTime, true): "\(amount) of extra service"
        }
        return language == "en"
            ? "We are sorry for the trouble. We have given you \(what). Reason: \(c.reason)."
            : "Lamentamos lo ocurrido. Te otorgamos \(what). Motivo: \(c.reason)."
    }
}

public struct CompensationWebhookPayload: Codable, Sendable {
    public var compensationID: UUID
    public var inboxID: UUID
    enum CodingKeys: String, CodingKey { case compensationID = "compensation_id", inboxID = "inbox_id" }
}
