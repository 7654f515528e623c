import FluentKit
import Foundation
import SQLKit

/// Surveys: set per inbox, created when due (in the transaction of the resolution, or on an agent's request), sent by
/// the `survey.send` job in the conversation's channel, and answered from wherever the customer answers (a reply in
/// the channel, the widget's buttons, a link in the email). Every answer is one change the reactions hear of.
public struct SurveyService: Sendable {
    public let store: Store
    /// The channels this instance can send through; a survey is only created for those.
    let sendable: Set<ChannelKind>

    public init(store: Store, sendable: Set<ChannelKind>) {
        self.store = store
        self.sendable = sendable
    }

    /// An admin sets what an inbox asks, and when.
    public func setPolicy(_ policy: SurveyPolicy, inbox: Inbox, actor: UUID) async throws -> SurveyPolicy {
        let valid = try policy.validated()
        let workspaceID = inbox.$workspace.id
        if valid.kind != nil, !sendable.contains(inbox.channel) {
            throw AtiendeError.invalid("this inbox's channel cannot send messages, so it cannot send surveys", code: "survey_not_sendable")
        }
        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let user = valid.detractorUserID,
               try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == user).count() == 0 {
                throw AtiendeError(.notFound, code: "member_not_found", "detractor_user_id is not a member of this workspace")
            }
            inbox.surveyJSON = try EventLog.json(valid)
            try await inbox.save(on: tx.db)
            try await EventLog.append(.inboxUpdated, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: inbox.channel.rawValue,
                                                                  changes: ["survey"]), in: tx)
            return valid
        }
    }

    /// An agent asks the customer now, whatever the inbox's limit per contact; one unanswered survey per conversation.
    public func request(conversation conversationID: UUID, workspace workspaceID: UUID, kind requested: Survey.Kind?, actor: UUID) async throws -> Survey {
        try await store.write { tx in
            let conversation = try await ConversationService.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            guard let inbox = try await Inbox.find(conversation.$inbox.id, on: tx.db) else { throw AtiendeError.notFound("inbox") }
            guard sendable.contains(inbox.channel) else {
                throw AtiendeError.invalid("this conversation's channel cannot send messages, so it cannot send a survey", code: "survey_not_sendable")
            }
            guard let kind = requested ?? inbox.surveyPolicy.kind else {
                throw AtiendeError.invalid("choose csat or nps (this inbox has no survey set)", code: "survey_kind_required")
            }
            let pending = try await Survey.query(on: tx.db).filter(\.$conversationID == conversationID)
                .filter(\.$status ~~ [.scheduled, .sent]).count()
            guard pending == 0 else {
                throw AtiendeError(.conflict, code: "survey_pending", "this conversation already has a survey waiting for an answer")
            }
            return try await Self.create(kind, for: conversation, inbox: inbox, delay: 0, requestedBy: actor, in: tx)
        }
    }

    /// The answers of one conversation's surveys, newest first.
    public func surveys(conversation conversationID: UUID, workspace workspaceID: UUID) async throws -> [Survey] {
        try await Survey.query(on: store.db).filter(\.$workspace.$id == workspaceID).filter(\.$conversationID == conversationID)
            .sort(\.$createdAt, .descending).all()
    }

    /// The survey behind a link's token, if there is one.
    public func find(token: String) async throws -> Survey? {
        guard token.count >= 20, token.count <= 64 else { return nil }
        return try await Survey.query(on: store.db).filter(\.$tokenHash == SecretToken.sha256Hex(token)).first()
    }

    /// The customer's answer from a link or the widget: recorded, or changed within the week.
    public func answer(_ survey: Survey, score: Int, comment: String?, keepComment: Bool = false) async throws {
        try await store.write { tx in
            try await tx.lockWorkspace(survey.$workspace.id)
            guard let fresh = try await Survey.find(survey.id, on: tx.db) else { throw AtiendeError.notFound("survey") }
            try await Self.record(fresh, score: score, comment: keepComment ? fresh.comment : comment, in: tx)
            survey.score = fresh.score
            survey.comment = fresh.comment
            survey.status = fresh.status
        }
    }

    // MARK: inside a transaction

    /// A survey due on `conversation`: written now, sent by the job after `delay` seconds.
    static func create(_ kind: Survey.Kind, for conversation: Conversation, inbox: Inbox, delay: TimeInterval, requestedBy: UUID?,
                       in tx: WriteTransaction) async throws -> Survey {
        let workspace = try await Workspace.find(conversation.$workspace.id, on: tx.db)
        let survey = Survey()
        survey.$workspace.id = conversation.$workspace.id
        survey.conversationID = try conversation.requireID()
        survey.contactID = conversation.$contact.id
        survey.inboxID = try inbox.requireID()
        survey.channel = conversation.channel
        survey.kind = kind
        survey.status = .scheduled
        // The customer's own language when a channel saw it, else the inbox's, else the workspace's.
        let spoken = try await Contact.find(conversation.$contact.id, on: tx.db)?.attributes["language"].flatMap { ["es", "en"].contains($0) ? $0 : nil }
        survey.language = spoken ?? inbox.settings.language ?? workspace?.defaultLanguage ?? "es"
        // The token is made when the survey is sent; until then nothing can answer it.
        survey.tokenHash = SecretToken.sha256Hex(SecretToken.make(prefix: "unsent_"))
        survey.requestedBy = requestedBy
        survey.createdAt = tx.now
        try await survey.create(on: tx.db)
        try await EventLog.append(.surveyScheduled, workspace: survey.$workspace.id, conversation: survey.conversationID, actor: requestedBy,
                                  payload: SurveyEventPayload(survey: try survey.snapshot), in: tx)
        try await JobQueue.enqueue(JobKind.surveySend, payload: SurveyPayload(surveyID: try survey.requireID()), workspace: survey.$workspace.id,
                                   runAt: delay > 0 ? tx.now.addingTimeInterval(delay) : nil, in: tx)
        return survey
    }

    /// Records a score (and comment) for a survey that still takes answers; the first answer is kept as `firstScore`.
    static func record(_ survey: Survey, score: Int, comment: String?, in tx: WriteTransaction) async throws {
        guard survey.kind.scale.contains(score) else {
            throw AtiendeError.invalid("the score is \(survey.kind.scale.lowerBound) to \(survey.kind.scale.upperBound)", code: "invalid_score")
        }
        guard survey.accepts(at: tx.now) else {
            throw AtiendeError(.conflict, code: "survey_closed", "this survey no longer takes answers (a week after it was sent)")
        }
        let previous = survey.score
        let comment = comment.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(2000)) }.flatMap { $0.isEmpty ? nil : $0 }
        if previous == score && comment == survey.comment { return }
        survey.score = score
        if survey.firstScore == nil { survey.firstScore = score }
        survey.comment = comment
        survey.status = .answered
        survey.answeredAt = tx.now
        try await survey.save(on: tx.db)
        // The timeline says what the customer answered; a comment added to the same score is no new answer.
        if previous != score {
            let line = ConversationActivity(change: .surveyAnswered, value: "\(survey.kind.rawValue):\(score)")
            try await ActivityLogReaction.write(line, workspace: survey.$workspace.id, conversation: survey.conversationID, inbox: survey.inboxID,
                                                actor: nil, in: tx)
        }
        let answer = DomainChange.SurveyAnswer(workspaceID: survey.$workspace.id, survey: try survey.snapshot, previousScore: previous)
        try await EventLog.append(.surveyAnswered, workspace: survey.$workspace.id, conversation: survey.conversationID,
                                  payload: SurveyEventPayload(survey: answer.survey), in: tx)
        try await tx.react(.surveyAnswered(answer))
    }

    /// The surveys waiting for an answer in these conversations, by conversation (one each: the latest sent).
    static func awaiting(in conversations: [UUID], now: Date, on sql: any SQLDatabase) async throws -> [UUID: (id: UUID, kind: Survey.Kind)] {
        guard !conversations.isEmpty else { return [:] }
        let rows = try await sql.raw("""
            SELECT id, conversation_id, kind, sent_at FROM surveys
            WHERE status = 'sent' AND sent_at >= \(bind: now.addingTimeInterval(-Survey.changeWindow))
              AND conversation_id IN (\(IngestBatch.list(conversations)))
            """).all()
        var found: [UUID: (id: UUID, kind: Survey.Kind, sent: Date)] = [:]
        for row in rows {
            let conversation = try row.decode(column: "conversation_id", as: UUID.self)
            let sent = try row.decode(column: "sent_at", as: Date.self)
            guard let kind = Survey.Kind(rawValue: try row.decode(column: "kind", as: String.self)) else { continue }
            if let earlier = found[conversation], earlier.sent > sent { continue }
            found[conversation] = (try row.decode(column: "id", as: UUID.self), kind, sent)
        }
        return found.mapValues { ($0.id, $0.kind) }
    }
}

public struct SurveyPayload: Codable, Sendable {
    public var surveyID: UUID
    enum CodingKeys: String, CodingKey { case surveyID = "survey_id" }
}

/// A survey as the API and events show it.
public struct SurveySnapshot: Codable, Sendable, Equatable {
    public var id: UUID
    public var conversationID: UUID
    public var contactID: UUID
    public var inboxID: UUID
    public var channel: ChannelKind
    public var kind: Survey.Kind
    public var status: Survey.Status
    public var agentID: UUID?
    public var teamID: UUID?
    public var contactReason: String?
    public var score: Int?
    public var firstScore: Int?
    public var comment: String?
    public var requestedBy: UUID?
    public var createdAt: Date
    public var sentAt: Date?
    public var answeredAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, channel, kind, status, score, comment
        case conversationID = "conversation_id", contactID = "contact_id", inboxID = "inbox_id", agentID = "agent_id", teamID = "team_id"
        case contactReason = "contact_reason", firstScore = "first_score", requestedBy = "requested_by", createdAt = "created_at"
        case sentAt = "sent_at", answeredAt = "answered_at"
    }
}

extension Survey {
    public var snapshot: SurveySnapshot {
        get throws {
            SurveySnapshot(id: try requireID(), conversationID: conversationID, contactID: contactID, inboxID: inboxID, channel: channel,
                           kind: kind, status: status, agentID: agentID, teamID: teamID, contactReason: contactReason, score: score,
                           firstScore: firstScore, comment: comment, requestedBy: requestedBy, createdAt: createdAt, sentAt: sentAt,
                           answeredAt: answeredAt)
        }
    }
}

public struct SurveyEventPayload: Codable, Sendable {
    public var survey: SurveySnapshot
}
