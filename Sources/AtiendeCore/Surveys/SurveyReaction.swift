import FluentKit
import Foundation

/// Surveys as reactions: a resolution creates the inbox's survey (when the customer may be asked again), and a
/// detractor's answer gives someone a follow-up to win them back, in the same transaction.
public struct SurveyReaction: Reaction {
    let sendable: Set<ChannelKind>

    public init(sendable: Set<ChannelKind>) { self.sendable = sendable }

    public func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        for change in changes {
            switch change {
            case .conversationChanged(let change) where change.statusChanged && change.after.status == .resolved:
                try await resolved(change.after, workspace: change.workspaceID, in: tx)
            case .surveyAnswered(let answer):
                try await answered(answer, in: tx)
            default:
                continue
            }
        }
    }

    private func resolved(_ snapshot: ConversationSnapshot, workspace: UUID, in tx: WriteTransaction) async throws {
        guard sendable.contains(snapshot.channel), !snapshot.labels.contains("spam"),
              let inbox = try await Inbox.find(snapshot.inboxID, on: tx.db) else { return }
        let policy = inbox.surveyPolicy
        guard let kind = policy.kind, policy.trigger == .resolved,
              let conversation = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == workspace).filter(\.$id == snapshot.id).first(),
              // Only machines wrote (an out-of-office, a bounce): nobody to ask.
              conversation.lastIncomingAt != nil
        else { return }
        var recent = Survey.query(on: tx.db).filter(\.$workspace.$id == workspace).filter(\.$status != .skipped)
        if policy.oncePerDays > 0 {
            recent = recent.filter(\.$contactID == snapshot.contactID).filter(\.$createdAt >= tx.now.addingTimeInterval(-Double(policy.oncePerDays) * 86_400))
        } else {
            recent = recent.filter(\.$conversationID == snapshot.id).filter(\.$status ~~ [.scheduled, .sent])
        }
        guard try await recent.count() == 0 else { return }
        _ = try await SurveyService.create(kind, for: conversation, inbox: inbox, delay: Double(policy.delayMinutes) * 60, requestedBy: nil, in: tx)
    }

    /// A detractor, newly: a follow-up for the inbox's chosen person, else the agent who handled it, else the first
    /// supervisor — due after `SurveyReaction.changeGrace`, so a customer who corrects a mis-click changes nothing. An
    /// answer that is no longer a detractor's cancels the follow-up still to come.
    private func answered(_ answer: DomainChange.SurveyAnswer, in tx: WriteTransaction) async throws {
        let survey = answer.survey
        guard let score = survey.score, let stored = try await Survey.find(survey.id, on: tx.db) else { return }
        let detractor = survey.kind.isDetractor(score), wasDetractor = answer.previousScore.map(survey.kind.isDetractor) ?? false
        if !detractor, wasDetractor, let id = stored.followUpID,
           let followUp = try await FollowUp.query(on: tx.db).filter(\.$id == id).filter(\.$doneAt == nil).first() {
            followUp.doneAt = tx.now
            followUp.outcome = .cancelled
            try await followUp.save(on: tx.db)
            try await EventLog.append(.followUpCancelled, workspace: answer.workspaceID, conversation: survey.conversationID,
                                      payload: FollowUpService.Payload(id: id, kind: .reminder, dueAt: followUp.dueAt, number: nil), in: tx)
            return
        }
        guard detractor, !wasDetractor, let inbox = try await Inbox.find(survey.inboxID, on: tx.db) else { return }
        var owner = inbox.surveyPolicy.detractorUserID ?? survey.agentID
        if owner == nil {
            owner = try await Membership.query(on: tx.db).filter(\.$workspace.$id == answer.workspaceID).filter(\.$role ~~ [.supervisor, .admin])
                .sort(\.$role, .descending).first()?.$user.id
        }
        guard let user = owner else { return }
        let followUp = FollowUp()
        followUp.$workspace.id = answer.workspaceID
        followUp.conversationID = survey.conversationID
        followUp.userID = user
        followUp.kind = .reminder
        followUp.dueAt = tx.now.addingTimeInterval(Self.changeGrace)
        followUp.text = String(("\(survey.kind.rawValue.uppercased()) \(score)/\(survey.kind.scale.upperBound)"
                                + (survey.comment.map { ": " + $0 } ?? "")).prefix(500))
        followUp.createdAt = tx.now
        try await followUp.create(on: tx.db)
        stored.followUpID = try followUp.requireID()
        try await stored.save(on: tx.db)
        try await EventLog.append(.followUpScheduled, workspace: answer.workspaceID, conversation: survey.conversationID,
                                  payload: FollowUpService.Payload(id: try followUp.requireID(), kind: .reminder, dueAt: followUp.dueAt, number: nil), in: tx)
    }

    /// How long a detractor's follow-up waits, in case the customer changes the answer.
    public static let changeGrace: TimeInterval = 600
}

/// The `survey.send` job: the survey's question goes out in its conversation's channel, as a message from Atiende, with
/// who handled the conversation recorded now. A survey due on resolution is dropped if the conversation was reopened
/// meanwhile.
public struct SurveySendJob: JobHandler {
    let store: Store
    /// Email surveys carry one-click links to here; without it the customer answers with a number.
    let publicURL: String?

    public init(store: Store, publicURL: String?) {
        self.store = store
        self.publicURL = publicURL
    }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(SurveyPayload.self)
        try await store.write { tx in
            guard let survey = try await Survey.find(payload.surveyID, on: tx.db), survey.status == .scheduled else { return }
            try await tx.lockWorkspace(survey.$workspace.id)
            guard let conversation = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == survey.$workspace.id)
                    .filter(\.$id == survey.conversationID).first(),
                  survey.requestedBy != nil || [.resolved, .closed].contains(conversation.status)
            else {
                survey.status = .skipped
                try await survey.save(on: tx.db)
                return
            }
            let token = SecretToken.make(prefix: "s", bytes: 24)
            survey.tokenHash = SecretToken.sha256Hex(token)
            survey.agentID = conversation.$assignee.id
            survey.teamID = conversation.$team.id
            survey.contactReason = conversation.contactReason
            let links = survey.channel == .email ? publicURL.map { "\($0)/survey/\(token)" } : nil
            let message = Message(workspaceID: survey.$workspace.id, conversationID: survey.conversationID, inboxID: survey.inboxID,
                                  kind: .outgoing, senderType: .system, senderID: nil,
                                  text: SurveyText.message(survey.kind, language: survey.language, links: links, buttons: survey.channel == .webchat),
                                  at: tx.now)
            message.deliveryStatus = .queued
            message.surveyJSON = try EventLog.json(SurveyPrompt(id: try survey.requireID(), kind: survey.kind, language: survey.language))
            try await message.create(on: tx.db)
            conversation.messageCount += 1
            conversation.updatedAt = tx.now
            try await conversation.save(on: tx.db)
            survey.status = .sent
            survey.sentAt = tx.now
            survey.messageID = try message.requireID()
            try await survey.save(on: tx.db)
            try await JobQueue.enqueue(JobKind.send, payload: SendPayload(messageID: try message.requireID()), workspace: survey.$workspace.id, in: tx)
            try await ActivityLogReaction.write(.init(change: .surveySent, value: survey.kind.rawValue), conversation: conversation, actor: nil, in: tx)
            try await EventLog.append(.messageCreated, workspace: survey.$workspace.id, conversation: survey.conversationID,
                                      payload: MessageEventPayload(conversation: conversation.snapshot, message: message.snapshot(attachments: [])),
                                      in: tx)
            try await EventLog.append(.surveySent, workspace: survey.$workspace.id, conversation: survey.conversationID,
                                      payload: SurveyEventPayload(survey: try survey.snapshot), in: tx)
        }
    }
}

/// The question as the customer reads it, in Spanish or English: a number to answer with, or (email) one link per score.
public enum SurveyText {
    public static func question(_ kind: Survey.Kind, language: String) -> String {
        switch (kind, language == "en") {
        case (.csat, false): "¿Cómo calificarías la atención que recibiste?"
        case (.csat, true): "How would you rate the help you received?"
        case (.nps, false): "¿Qué probabilidad hay de que nos recomiendes a un amigo o colega?"
        case (.nps, true): "How likely are you to recommend us to a friend or colleague?"
        }
    }

    /// The scale's ends, as the buttons and the instructions name them.
    public static func ends(_ kind: Survey.Kind, language: String) -> (low: String, high: String) {
        switch (kind, language == "en") {
        case (.csat, false): ("muy mala", "excelente")
        case (.csat, true): ("very poor", "excellent")
        case (.nps, false): ("nada probable", "muy probable")
        case (.nps, true): ("not at all likely", "extremely likely")
        }
    }

    public static func message(_ kind: Survey.Kind, language: String, links: String?, buttons: Bool = false) -> String {
        let en = language == "en"
        if buttons {
            // The widget shows the scale as buttons under the question.
            return question(kind, language: language) + "\n" + (en ? "Choose from \(kind.scale.lowerBound) to \(kind.scale.upperBound):" : "Elige del \(kind.scale.lowerBound) al \(kind.scale.upperBound):")
        }
        let (low, high) = ends(kind, language: language)
        let scale = kind.scale
        if let links {
            let lines = scale.reversed().map { score in
                let name = score == scale.upperBound ? " (\(high))" : score == scale.lowerBound ? " (\(low))" : ""
                return "\(score)\(name): \(links)/\(score)"
            }
            return question(kind, language: language) + "\n\n"
                + (en ? "Choose your answer:" : "Elige tu respuesta:") + "\n" + lines.joined(separator: "\n")
                + "\n\n" + (en ? "You can change it within 7 days." : "Puedes cambiarla durante 7 días.")
        }
        let example = kind == .csat ? "4" : "9"
        let how = en
            ? "Reply with a number from \(scale.lowerBound) (\(low)) to \(scale.upperBound) (\(high)); add a comment in the same message if you like, for example: “\(example), very kind”."
            : "Responde con un número del \(scale.lowerBound) (\(low)) al \(scale.upperBound) (\(high)); si quieres, agrega un comentario en el mismo mensaje, por ejemplo: «\(example), muy amables»."
        return question(kind, language: language) + "\n" + how
    }
}
