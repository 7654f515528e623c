import FluentKit
import Foundation
import SQLKit

/// Something due on a conversation at a time: a reminder to the agent who set it (it comes back to them, open), or a
/// message to the customer in the conversation's channel ("¿Quedó todo funcionando?") that is not sent if the
/// customer has written since it was scheduled.
public final class FollowUp: Model, @unchecked Sendable {
    public static let schema = "follow_ups"

    public enum Kind: String, Codable, Sendable { case reminder, message }
    public enum Outcome: String, Codable, Sendable { case reminded, sent, skipped, failed, cancelled }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "conversation_id") public var conversationID: UUID
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "kind") public var kind: Kind
    @Field(key: "due_at") public var dueAt: Date
    @OptionalField(key: "text") public var text: String?
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "done_at") public var doneAt: Date?
    @OptionalField(key: "outcome") public var outcome: Outcome?

    public init() {}
}

extension FollowUp: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<FollowUp, FieldProperty<FollowUp, UUID>> { \.$workspace.$id }
    public static var displayName: String { "follow-up" }
}

/// Follow-ups: set, cancelled, and carried out when due (the desk's timer scan, from the indexed due time, once each).
public struct FollowUpService: Sendable {
    public let store: Store
    let conversations: ConversationService

    public init(store: Store, conversations: ConversationService) {
        self.store = store
        self.conversations = conversations
    }

    public func schedule(_ kind: FollowUp.Kind, at due: Date, text: String?, conversation conversationID: UUID, workspace workspaceID: UUID,
                         user: UUID) async throws -> FollowUp {
        if kind == .message {
            let body = text ?? ""
            try Placeholders.validate(body)
            // Its variables are filled in when it is sent.
            try ConversationService.ReplyDraft(text: body, isNote: true).validate(files: 0)
        }
        return try await store.write { tx in
            let conversation = try await ConversationService.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            guard due > tx.now, due < tx.now.addingTimeInterval(366 * 86_400) else {
                throw AtiendeError.invalid("choose a time later than now and within a year", code: "invalid_follow_up")
            }
            let followUp = FollowUp()
            followUp.$workspace.id = workspaceID
            followUp.conversationID = conversationID
            followUp.userID = user
            followUp.kind = kind
            followUp.dueAt = due
            followUp.text = kind == .message ? text : text.flatMap { $0.isEmpty ? nil : String($0.prefix(500)) }
            followUp.createdAt = tx.now
            try await followUp.create(on: tx.db)
            try await EventLog.append(.followUpScheduled, workspace: workspaceID, conversation: conversationID, actor: user,
                                      payload: Payload(id: try followUp.requireID(), kind: kind, dueAt: due, number: conversation.number), in: tx)
            return followUp
        }
    }

    public func cancel(_ followUp: FollowUp, actor: UUID) async throws {
        guard followUp.doneAt == nil else { throw AtiendeError(.conflict, code: "follow_up_done", "this follow-up is already done") }
        try await store.write { tx in
            try await tx.lockWorkspace(followUp.$workspace.id)
            followUp.doneAt = tx.now
            followUp.outcome = .cancelled
            try await followUp.save(on: tx.db)
            try await EventLog.append(.followUpCancelled, workspace: followUp.$workspace.id, conversation: followUp.conversationID, actor: actor,
                                      payload: Payload(id: try followUp.requireID(), kind: followUp.kind, dueAt: followUp.dueAt, number: nil), in: tx)
        }
    }

    struct Payload: Codable, Sendable {
        var id: UUID
        var kind: FollowUp.Kind
        var dueAt: Date
        var number: Int?
        enum CodingKeys: String, CodingKey { case id, kind, number, dueAt = "due_at" }
    }

    /// The follow-ups due now, each carried out once (it is marked done in the same transaction).
    @discardableResult
    public func scan() async throws -> Int {
        let due = try await store.sql.raw("""
            SELECT id, workspace_id FROM follow_ups WHERE done_at IS NULL AND due_at <= \(bind: store.clock.now()) ORDER BY due_at LIMIT 500
            """).all()
        var done = 0
        for (workspaceID, ids) in try RoutingScanner.byWorkspace(due) {
            done += try await store.write { tx in
                try await tx.lockWorkspace(workspaceID)
                var count = 0
                for followUp in try await FollowUp.query(on: tx.db).filter(\.$id ~~ ids).filter(\.$doneAt == nil).all() {
                    followUp.outcome = try await carryOut(followUp, in: tx)
                    followUp.doneAt = tx.now
                    try await followUp.save(on: tx.db)
                    count += 1
                }
                return count
            }
        }
        return done
    }

    private func carryOut(_ followUp: FollowUp, in tx: WriteTransaction) async throws -> FollowUp.Outcome {
        guard let conversation = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == followUp.$workspace.id)
            .filter(\.$id == followUp.conversationID).first() else { return .skipped }
        switch followUp.kind {
        case .reminder:
            // Back to its agent, open, with a notice.
            var changes = ConversationService.Changes()
            if conversation.status != .open { changes.status = .open }
            if conversation.$assignee.id == nil { changes.assigneeID = .some(followUp.userID) }
            _ = try await ConversationService.change(conversation, changes, actor: nil, in: tx)
            try await ActivityLogReaction.write(.init(change: .reminder, value: followUp.userID.uuidString), conversation: conversation, actor: nil, in: tx)
            try await Notifications.notify([followUp.userID], of: .reminder, workspace: followUp.$workspace.id, conversationID: followUp.conversationID,
                                           number: conversation.number, actor: nil, excerpt: followUp.text ?? "", in: tx)
            return .reminded
        case .message:
            if let last = conversation.lastIncomingAt, last > followUp.createdAt {
                try await ActivityLogReaction.write(.init(change: .followUpSkipped), conversation: conversation, actor: nil, in: tx)
                return .skipped
            }
            do {
                let text = try await CannedResponseService(store: tx.store).fill(text: followUp.text ?? "", conversation: conversation,
                                                                                  agent: followUp.userID, on: tx.db).text
                _ = try await conversations.post(.init(text: text), to: conversation, author: followUp.userID, in: tx)
                return .sent
            } catch let refused as AtiendeError {
                try await ActivityLogReaction.write(.init(change: .followUpFailed, value: refused.message), conversation: conversation, actor: nil, in: tx)
                return .failed
            }
        }
    }
}
