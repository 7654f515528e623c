import FluentKit
import Foundation

/// Something that happened in a workspace. `seq` increases per workspace in commit order, so a client
/// that remembers the last `seq` it saw can ask for everything after it.
public final class Event: Model, @unchecked Sendable {
    public static let schema = "events"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "seq") public var seq: Int64
    @Field(key: "type") public var type: String
    @OptionalField(key: "conversation_id") public var conversationID: UUID?
    @OptionalField(key: "actor_id") public var actorID: UUID?
    /// JSON object with the event's details.
    @Field(key: "payload") public var payload: String
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}

/// Durable background work: sends, webhooks, timers. Deleted when done; kept with `dead_at` when it gave up.
public final class Job: Model, @unchecked Sendable {
    public static let schema = "jobs"

    @ID(key: .id) public var id: UUID?
    @OptionalField(key: "workspace_id") public var workspaceID: UUID?
    @Field(key: "kind") public var kind: String
    @Field(key: "payload") public var payload: String
    @Field(key: "run_at") public var runAt: Date
    @Field(key: "attempts") public var attempts: Int
    @Field(key: "max_attempts") public var maxAttempts: Int
    @OptionalField(key: "locked_until") public var lockedUntil: Date?
    @OptionalField(key: "last_error") public var lastError: String?
    @OptionalField(key: "dead_at") public var deadAt: Date?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}

    public init(workspaceID: UUID?, kind: String, payload: String, runAt: Date, maxAttempts: Int, at now: Date) {
        self.workspaceID = workspaceID
        self.kind = kind
        self.payload = payload
        self.runAt = runAt
        self.attempts = 0
        self.maxAttempts = maxAttempts
        self.createdAt = now
    }
}
