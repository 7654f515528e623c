import Foundation
import NIOConcurrencyHelpers
import Vapor

/// Who is looking at or typing in which conversation, so two agents don't answer at once. Ephemeral and
/// per instance: it lives only in memory and is told to the workspace's open event streams.
///
/// The same frames measure handle time: a stretch of work runs while an agent's page keeps saying it is active in
/// one conversation (visible, used in the last minute; `"active": false` otherwise), and ends when it says it is
/// not, goes elsewhere, leaves or closes — at most one heartbeat after its last active frame. Each stretch that ends
/// is handed to the worker (`HandleTime.record`).
public final class PresenceHub: Sendable {
    struct Viewer: Sendable {
        var userID: UUID
        var name: String
        var workspaceID: UUID
        var conversation: Int?
        var typingUntil: Date
        /// Nil only in tests of the rules, which have no browser.
        var socket: WebSocket?
        var work: Work?
    }

    /// A stretch of work on one conversation: since when, and the last frame that said the agent was active.
    struct Work: Sendable, Equatable {
        var conversation: Int
        var since: Date
        var lastActive: Date
    }

    /// A stretch that ended: (workspace, conversation number, agent, from, to).
    typealias Worked = @Sendable (UUID, Int, UUID, Date, Date) -> Void

    private let viewers = NIOLockedValueBox<[UUID: Viewer]>([:])
    /// Told when an agent types in or looks at a conversation: (workspace, number, typing, agent's name).
    private let observer = NIOLockedValueBox<(@Sendable (UUID, Int, Bool, String) -> Void)?>(nil)
    private let worker = NIOLockedValueBox<Worked?>(nil)
    private let clock: @Sendable () -> Date
    static let typingWindow: TimeInterval = 4
    /// How often an open conversation page says it is still there (app.js), and so how long after its last active
    /// frame a stretch of work can have gone on.
    static let heartbeat: TimeInterval = 30

    public init(clock: @escaping @Sendable () -> Date = { Date() }) { self.clock = clock }

    func observe(_ body: @escaping @Sendable (UUID, Int, Bool, String) -> Void) { observer.withLockedValue { $0 = body } }

    func onWork(_ body: @escaping Worked) { worker.withLockedValue { $0 = body } }

    /// Ends a stretch at `now`, or one heartbeat after it was last active if that is earlier, and hands it on.
    private func finish(_ work: Work?, of viewer: Viewer, at now: Date) {
        guard let work, let worked = worker.withLockedValue({ $0 }) else { return }
        worked(viewer.workspaceID, work.conversation, viewer.userID, work.since, min(now, work.lastActive.addingTimeInterval(Self.heartbeat)))
    }

    /// Whether any member of the workspace has the desk open (on this instance).
    func agentsOnline(workspace: UUID) -> Bool {
        viewers.withLockedValue { all in all.values.contains { $0.workspaceID == workspace } }
    }

    /// A live chat visitor is typing in conversation `number`: `{"type": "visitor_typing", "conversation": 12}`.
    func visitorTyping(workspace: UUID, conversation number: Int) {
        let targets = viewers.withLockedValue { all in all.values.filter { $0.workspaceID == workspace }.compactMap(\.socket) }
        let text = "{\"type\":\"visitor_typing\",\"conversation\":\(number)}"
        for socket in targets where !socket.isClosed { socket.send(text, promise: nil) }
    }

    func join(_ connection: UUID, userID: UUID, name: String, workspaceID: UUID, socket: WebSocket?) {
        viewers.withLockedValue { $0[connection] = Viewer(userID: userID, name: name, workspaceID: workspaceID, conversation: nil,
                                                         typingUntil: .distantPast, socket: socket) }
    }

    func leave(_ connection: UUID) {
        guard let left = viewers.withLockedValue({ $0.removeValue(forKey: connection) }) else { return }
        finish(left.work, of: left, at: clock())
        guard let number = left.conversation else { return }
        broadcast(workspace: left.workspaceID, conversation: number)
    }

    /// A frame from a browser: `{"type": "viewing"|"typing"|"left", "conversation": 12, "active": true}`.
    func received(_ text: String, from connection: UUID) {
        struct Frame: Decodable { var type: String; var conversation: Int?; var active: Bool? }
        guard text.utf8.count < 512, let frame = try? JSONDecoder().decode(Frame.self, from: Data(text.utf8)) else { return }
        let now = clock()
        let changed: (UUID, [Int], Viewer, ended: Work?)? = viewers.withLockedValue { all in
            guard var viewer = all[connection] else { return nil }
            let before = viewer.conversation
            switch frame.type {
            case "viewing": viewer.conversation = frame.conversation; viewer.typingUntil = .distantPast
            case "typing": viewer.conversation = frame.conversation; viewer.typingUntil = now.addingTimeInterval(Self.typingWindow)
            case "left": viewer.conversation = nil
            default: return nil
            }
            // Typing is work; viewing is when the page says the agent is there.
            let active = frame.type == "typing" || (frame.type == "viewing" && frame.active != false)
            var ended: Work?
            if let work = viewer.work, !active || work.conversation != viewer.conversation
                || now.timeIntervalSince(work.lastActive) > 2.5 * Self.heartbeat {
                ended = work
                viewer.work = nil
            }
            if active, let number = viewer.conversation {
                if viewer.work == nil { viewer.work = Work(conversation: number, since: now, lastActive: now) } else { viewer.work?.lastActive = now }
            }
            all[connection] = viewer
            return (viewer.workspaceID, [before, viewer.conversation].compactMap { $0 }, viewer, ended)
        }
        guard let (workspace, numbers, viewer, ended) = changed else { return }
        finish(ended, of: viewer, at: now)
        if let number = viewer.conversation, frame.type != "left", let observer = observer.withLockedValue({ $0 }) {
            observer(workspace, number, frame.type == "typing", viewer.name)
        }
        for number in Set(numbers) { broadcast(workspace: workspace, conversation: number) }
    }

    /// Tells every stream of the workspace who is in the conversation now.
    private func broadcast(workspace: UUID, conversation number: Int) {
        let now = clock()
        let (targets, here) = viewers.withLockedValue { all -> ([WebSocket], [Viewer]) in
            let inWorkspace = all.values.filter { $0.workspaceID == workspace }
            return (inWorkspace.compactMap(\.socket), inWorkspace.filter { $0.conversation == number })
        }
        struct Person: Encodable, Hashable { var id: String; var name: String }
        struct Frame: Encodable { var type = "presence"; var conversation: Int; var viewers: [Person]; var typing: [Person] }
        let frame = Frame(conversation: number,
                          viewers: Array(Set(here.map { Person(id: $0.userID.uuidString.lowercased(), name: $0.name) })),
                          typing: Array(Set(here.filter { $0.typingUntil > now }.map { Person(id: $0.userID.uuidString.lowercased(), name: $0.name) })))
        guard let data = try? JSONEncoder().encode(frame), let text = String(data: data, encoding: .utf8) else { return }
        for socket in targets where !socket.isClosed { socket.send(text, promise: nil) }
    }
}
