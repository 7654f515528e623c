import AtiendeCore
import FluentKit
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Tells subscribers of a workspace that new events were committed. Subscribers then read the events
/// themselves from the database, so a missed wake-up can never lose an event.
public final class EventHub: Sendable {
    private struct Subscriber { let workspaceID: UUID; let continuation: AsyncStream<Void>.Continuation }
    private let subscribers = NIOLockedValueBox<[UUID: Subscriber]>([:])

    public init() {}

    public func subscribe(to workspaceID: UUID) -> (id: UUID, wakes: AsyncStream<Void>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        subscribers.withLockedValue { $0[id] = Subscriber(workspaceID: workspaceID, continuation: continuation) }
        return (id, stream)
    }

    public func unsubscribe(_ id: UUID) {
        let removed = subscribers.withLockedValue { $0.removeValue(forKey: id) }
        removed?.continuation.finish()
    }

    public func notify(_ workspaceID: UUID) {
        let targets = subscribers.withLockedValue { $0.values.filter { $0.workspaceID == workspaceID } }
        for target in targets { target.continuation.yield() }
    }

    public var subscriberCount: Int { subscribers.withLockedValue { $0.count } }

    /// Wakes everyone, e.g. after a lost database notification connection came back.
    public func notifyAll() {
        let targets = subscribers.withLockedValue { Array($0.values) }
        for target in targets { target.continuation.yield() }
    }
}

/// The wire form of one event: `{"id", "type", "conversation_id", "created_at", "payload"}`.
enum EventWire {
    static func json(_ event: Event) -> String {
        var out = "{\"id\":\(event.seq),\"type\":\"\(event.type)\""
        if let conversation = event.conversationID { out += ",\"conversation_id\":\"\(conversation.uuidString.lowercased())\"" }
        if let actor = event.actorID { out += ",\"actor_id\":\"\(actor.uuidString.lowercased())\"" }
        out += ",\"created_at\":\"\(ISO8601.string(event.createdAt))\",\"payload\":\(event.payload)}"
        return out
    }
}
