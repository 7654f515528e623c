import FluentKit
import Foundation

/// Handle time: how long agents had a conversation open and active in front of them (the page visible, the agent
/// using it), whoever it is assigned to. The desk measures stretches of work from the browser's presence frames and
/// records each one that ends as a `conversation.worked` event, counted in the hour it ended.
public enum HandleTime {
    /// A stretch shorter than this is not recorded. Small, because the desk's forms reload the page, and each page is
    /// a stretch of its own: a quick claim-then-reply is two short stretches that are both work.
    public static let minimum: TimeInterval = 1
    /// A single stretch is cut at this length: a page left open and active all night is not eight hours of work.
    public static let maximum: TimeInterval = 4 * 3600

    public struct Payload: Codable, Sendable {
        public var conversation: ConversationSnapshot
        public var agentID: UUID
        public var seconds: Double
        public var startedAt: Date
        enum CodingKeys: String, CodingKey { case conversation, seconds, agentID = "agent_id", startedAt = "started_at" }
    }

    /// Records a stretch of `agent`'s work on conversation `number`; returns whether it was (too short, or a conversation
    /// that is not in the workspace, is not).
    @discardableResult
    public static func record(workspace: UUID, conversation number: Int, agent: UUID, from start: Date, to end: Date,
                              store: Store) async throws -> Bool {
        let seconds = min(maximum, end.timeIntervalSince(start))
        guard seconds >= minimum else { return false }
        return try await store.write { tx in
            guard let conversation = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == workspace)
                .filter(\.$number == number).first() else { return false }
            let snapshot = conversation.snapshot
            try await EventLog.append(.conversationWorked, workspace: workspace, conversation: snapshot.id, actor: agent,
                                      payload: Payload(conversation: snapshot, agentID: agent, seconds: seconds, startedAt: start), in: tx)
            try await tx.react(.worked(.init(workspaceID: workspace, conversation: snapshot, agent: agent, seconds: seconds)))
            return true
        }
    }
}
