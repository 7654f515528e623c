import Foundation
import NIOConcurrencyHelpers
import Vapor

/// Who is looking at or typing in which conversation, so two agents don't answer at once. Ephemeral and
/// per instance: it lives only in memory and is told to the workspace's open event streams.
public final class PresenceHub: Sendable {
    struct Viewer: Sendable {
        var userID: UUID
        var name: String
        var workspaceID: UUID
        var conversation: Int?
        var typingUntil: Date
        var socket: WebSocket
    }

    private let viewers = NIOLockedValueBox<[UUID: Viewer]>([:])
    /// Told when an agent types in or looks at a conversation: (workspace, number, typing, agent's name).
    private let observer = NIOLockedValueBox<(@Sendable (UUID, Int, Bool, String) -> Void)?>(nil)
    static let typingWindow: TimeInterval = 4

    public init() {}

    func observe(_ body: @escaping @Sendable (UUID, Int, Bool, String) -> Void) { observer.withLockedValue { $0 = body } }

    /// Whether any member of the workspace has the desk open (on this instance).
    func agentsOnline(workspace: UUID) -> Bool {
        viewers.withLockedValue { all in all.values.contains { $0.workspaceID == workspace } }
    }

    /// A live chat visitor is typing in conversation `number`: `{"type": "visitor_typing", "conversation": 12}`.
    func visitorTyping(workspace: UUID, conversation number: Int) {
        let targets = viewers.withLockedValue { all in all.values.filter { $0.workspaceID == workspace }.map(\.socket) }
        let text = "{\"type\":\"visitor_typing\",\"conversation\":\(number)}"
        for socket in targets where !socket.isClosed { socket.send(text, promise: nil) }
    }

    func join(_ connection: UUID, userID: UUID, name: String, workspaceID: UUID, socket: WebSocket) {
        viewers.withLockedValue { $0[connection] = Viewer(userID: userID, name: name, workspaceID: workspaceID, conversation: nil,
                                                         typingUntil: .distantPast, socket: socket) }
    }

    func leave(_ connection: UUID) {
        guard let left = viewers.withLockedValue({ $0.removeValue(forKey: connection) }), let number = left.conversation else { return }
        broadcast(workspace: left.workspaceID, conversation: number)
    }

    /// A frame from a browser: `{"type": "viewing"|"typing"|"left", "conversation": 12}`.
    func received(_ text: String, from connection: UUID) {
        struct Frame: Decodable { var type: String; var conversation: Int? }
        guard text.utf8.count < 512, let frame = try? JSONDecoder().decode(Frame.self, from: Data(text.utf8)) else { return }
        let changed: (UUID, [Int], Viewer)? = viewers.withLockedValue { all in
            guard var viewer = all[connection] else { return nil }
            let before = viewer.conversation
            switch frame.type {
            case "viewing": viewer.conversation = frame.conversation; viewer.typingUntil = .distantPast
            case "typing": viewer.conversation = frame.conversation; viewer.typingUntil = Date().addingTimeInterval(Self.typingWindow)
            case "left": viewer.conversation = nil
            default: return nil
            }
            all[connection] = viewer
            return (viewer.workspaceID, [before, viewer.conversation].compactMap { $0 }, viewer)
        }
        guard let (workspace, numbers, viewer) = changed else { return }
        if let number = viewer.conversation, frame.type != "left", let observer = observer.withLockedValue({ $0 }) {
            observer(workspace, number, frame.type == "typing", viewer.name)
        }
        for number in Set(numbers) { broadcast(workspace: workspace, conversation: number) }
    }

    /// Tells every stream of the workspace who is in the conversation now.
    private func broadcast(workspace: UUID, conversation number: Int) {
        let now = Date()
        let (targets, here) = viewers.withLockedValue { all -> ([WebSocket], [Viewer]) in
            let inWorkspace = all.values.filter { $0.workspaceID == workspace }
            return (inWorkspace.map(\.socket), inWorkspace.filter { $0.conversation == number })
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
