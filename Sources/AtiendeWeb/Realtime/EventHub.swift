import AtiendeCore
import FluentKit
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Tells subscribers of a workspace that new events were committed. Subscribers then read the events after their last
/// one, so a missed wake-up can never lose an event — through `events(after:)`, which reads the database once per wake
/// for all of a workspace's subscribers (fifty open pages, one query) and keeps the recent ones, already in wire form.
public final class EventHub: Sendable {
    private struct Subscriber { let workspaceID: UUID; let continuation: AsyncStream<Void>.Continuation }
    private let subscribers = NIOLockedValueBox<[UUID: Subscriber]>([:])

    /// A workspace's recent events. `complete` holds while no commit was announced since the last read: every event
    /// with `floor < seq <= top` is then in `events`.
    private struct Window {
        var events: [(seq: Int64, wire: String)] = []
        var floor: Int64 = 0
        var top: Int64 = 0
        var loaded = false
        var announced = 0
        var readAt = -1
        var reading: Task<Void, any Error>?
        var complete: Bool { loaded && readAt == announced }
    }
    private let windows = NIOLockedValueBox<[UUID: Window]>([:])
    static let kept = 2000
    static let readLimit = 1000

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
        // The last subscriber of a workspace gone: its window goes too.
        if let workspace = removed?.workspaceID, !subscribers.withLockedValue({ $0.values.contains { $0.workspaceID == workspace } }) {
            windows.withLockedValue { _ = $0.removeValue(forKey: workspace) }
        }
    }

    public func notify(_ workspaceID: UUID) {
        windows.withLockedValue { $0[workspaceID]?.announced += 1 }
        let targets = subscribers.withLockedValue { $0.values.filter { $0.workspaceID == workspaceID } }
        for target in targets { target.continuation.yield() }
    }

    /// The events after `last`, in wire form, at most `limit`: from the shared window when it covers them, else read.
    func events(after last: Int64, workspace: UUID, limit: Int, db: any Database) async throws -> [(seq: Int64, wire: String)] {
        while true {
            enum Next { case served([(seq: Int64, wire: String)]), direct, wait(Task<Void, any Error>), read(Task<Void, any Error>) }
            let next: Next = windows.withLockedValue { windows in
                var window = windows[workspace] ?? Window()
                if window.complete && last >= window.floor {
                    return .served(Array(window.events.lazy.filter { $0.seq > last }.prefix(limit)))
                }
                if window.loaded && last < window.floor { return .direct }  // behind what is kept: its own read
                if let reading = window.reading { return .wait(reading) }
                let announced = window.announced
                let from = window.loaded ? window.top : last
                let task = Task { [self] in
                    let read = try await EventLog.after(from, workspace: workspace, limit: Self.readLimit, on: db)
                    let wires = read.map { (seq: $0.seq, wire: EventWire.json($0)) }
                    self.windows.withLockedValue { windows in
                        var window = windows[workspace] ?? Window()
                        window.reading = nil
                        if !window.loaded { window.floor = from; window.top = from; window.loaded = true }
                        window.events += wires
                        window.top = wires.last?.seq ?? window.top
                        if window.events.count > Self.kept {
                            window.events.removeFirst(window.events.count - Self.kept)
                            window.floor = (window.events.first?.seq ?? window.top) - 1
                        }
                        // Only a read that reached the end makes the window complete as of the announcement it began after.
                        if wires.count < Self.readLimit { window.readAt = announced }
                        windows[workspace] = window
                    }
                }
                window.reading = task
                windows[workspace] = window
                return .read(task)
            }
            switch next {
            case .served(let events): return events
            case .direct:
                return try await EventLog.after(last, workspace: workspace, limit: limit, on: db).map { (seq: $0.seq, wire: EventWire.json($0)) }
            case .wait(let task), .read(let task):
                do { try await task.value } catch {
                    windows.withLockedValue { $0[workspace]?.reading = nil }
                    throw error
                }
            }
        }
    }

    public var subscriberCount: Int { subscribers.withLockedValue { $0.count } }

    /// Wakes everyone, e.g. after a lost database notification connection came back.
    public func notifyAll() {
        windows.withLockedValue { windows in for key in windows.keys { windows[key]?.announced += 1 } }
        let targets = subscribers.withLockedValue { Array($0.values) }
        for target in targets { target.continuation.yield() }
    }
}

/// The wire form of one event: `{"id", "type", "conversation_id", "created_at", "payload"}`.
enum EventWire {
    /// The families of events about a member's own account: every member sees that they happened, only admins (in the
    /// audit log) see their details, such as the address a sign-in came from.
    static let personal = ["account.", "api_token."]

    /// `personal`: with the details of account events (for admins, in the audit log).
    static func json(_ event: Event, personal withDetails: Bool = false) -> String {
        var out = "{\"id\":\(event.seq),\"type\":\"\(event.type)\""
        if let conversation = event.conversationID { out += ",\"conversation_id\":\"\(conversation.uuidString.lowercased())\"" }
        if let actor = event.actorID { out += ",\"actor_id\":\"\(actor.uuidString.lowercased())\"" }
        let payload = !withDetails && personal.contains(where: event.type.hasPrefix) ? "{}" : event.payload
        out += ",\"created_at\":\"\(ISO8601.string(event.createdAt))\",\"payload\":\(payload)}"
        return out
    }
}
