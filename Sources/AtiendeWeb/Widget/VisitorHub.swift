import AtiendeCore
import FluentKit
import Foundation
import Logging
import NIOConcurrencyHelpers
import Vapor

/// The widget's open WebSockets, and what they are told live: their conversation's new and changed messages,
/// an agent typing, an agent having read their messages.
///
/// One follower per workspace with visitors online reads the workspace's committed events once per wake-up and
/// hands each webchat message to the sockets of its thread, so a thousand visitors cost one read, not a thousand.
/// Per instance: on PostgreSQL, other instances' commits wake the follower through `EventHub` like any stream.
final class VisitorHub: Sendable {
    struct Connection: Sendable {
        var workspaceID: UUID
        var inboxID: UUID
        var thread: String
        var address: String
        var socket: WebSocket
        /// Conversation id → number, learned from history and events, for routing typing and read receipts.
        var conversations: [UUID: Int]
    }

    private struct State {
        var connections: [UUID: Connection] = [:]
        var followers: [UUID: UUID] = [:]
        var perAddress: [String: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let names = NIOLockedValueBox<[UUID: String]>([:])
    let store: Store
    let hub: EventHub
    let logger: Logger
    let maxPerAddress: Int
    let maxConnections: Int

    init(store: Store, hub: EventHub, logger: Logger, maxPerAddress: Int, maxConnections: Int) {
        self.store = store
        self.hub = hub
        self.logger = logger
        self.maxPerAddress = maxPerAddress
        self.maxConnections = maxConnections
    }

    var count: Int { state.withLockedValue { $0.connections.count } }

    /// Whether one more socket from `address` is allowed now.
    func admits(address: String) -> Bool {
        state.withLockedValue { $0.connections.count < maxConnections && $0.perAddress[address, default: 0] < maxPerAddress }
    }

    /// Registers a socket; false (and nothing registered) when a limit was reached meanwhile.
    func connect(_ id: UUID, _ connection: Connection) -> Bool {
        let startFollower: Bool? = state.withLockedValue { s in
            guard s.connections.count < maxConnections, s.perAddress[connection.address, default: 0] < maxPerAddress else { return nil }
            s.connections[id] = connection
            s.perAddress[connection.address, default: 0] += 1
            guard s.followers[connection.workspaceID] == nil else { return false }
            s.followers[connection.workspaceID] = UUID()
            return true
        }
        guard let startFollower else { return false }
        if startFollower { follow(connection.workspaceID) }
        return true
    }

    func disconnect(_ id: UUID) {
        let emptied: UUID? = state.withLockedValue { s in
            guard let gone = s.connections.removeValue(forKey: id) else { return nil }
            s.perAddress[gone.address, default: 1] -= 1
            if s.perAddress[gone.address] == 0 { s.perAddress[gone.address] = nil }
            return s.connections.values.contains { $0.workspaceID == gone.workspaceID } ? nil : gone.workspaceID
        }
        // The follower notices on its next wake-up that nobody is left; waking it now lets it stop at once.
        if let emptied { hub.notify(emptied) }
    }

    func learn(_ id: UUID, conversation: UUID, number: Int) {
        state.withLockedValue { $0.connections[id]?.conversations[conversation] = number }
    }

    func isOnline(inboxID: UUID, thread: String) -> Bool {
        state.withLockedValue { s in s.connections.values.contains { $0.inboxID == inboxID && $0.thread == thread } }
    }

    private func sockets(where match: (Connection) -> Bool) -> [WebSocket] {
        state.withLockedValue { s in s.connections.values.filter(match).map(\.socket) }
    }

    func send(_ frame: some Encodable, where match: (Connection) -> Bool) {
        let targets = sockets(where: match)
        guard !targets.isEmpty, let data = try? JSON.encoder.encode(frame), let text = String(data: data, encoding: .utf8) else { return }
        for socket in targets where !socket.isClosed { socket.send(text, promise: nil) }
    }

    /// An agent is typing in, or looking at, conversation `number`: the visitor sees "typing…" or their messages
    /// marked read.
    func agentActivity(workspace: UUID, conversation number: Int, typing: Bool, name: String) {
        let ids: [UUID] = state.withLockedValue { s in
            Array(Set(s.connections.values.filter { $0.workspaceID == workspace }.flatMap { c in c.conversations.filter { $0.value == number }.map(\.key) }))
        }
        guard let conversation = ids.first else { return }
        let inConversation: (Connection) -> Bool = { $0.workspaceID == workspace && $0.conversations[conversation] != nil }
        if typing {
            send(WidgetWire.Typing(name: name), where: inConversation)
            return
        }
        let store = store, logger = logger
        Task {
            do {
                let marked = try await WidgetWire.markIncomingRead(conversation: conversation, store: store)
                if marked { self.send(WidgetWire.Seen(), where: inConversation) }
            } catch {
                logger.warning("could not mark visitor messages read", metadata: ["error": "\(error)"])
            }
        }
    }

    func authorName(_ id: UUID?) async -> String? {
        guard let id else { return nil }
        if let known = names.withLockedValue({ $0[id] }) { return known }
        guard let name = try? await User.find(id, on: store.db)?.name else { return nil }
        names.withLockedValue { all in
            if all.count > 10_000 { all = [:] }
            all[id] = name
        }
        return name
    }

    /// Reads the workspace's events as they commit and forwards webchat messages to their threads' sockets.
    private func follow(_ workspace: UUID) {
        let (subscription, wakes) = hub.subscribe(to: workspace)
        Task {
            var last: Int64 = 0
            do {
                last = try await EventLog.lastID(workspace: workspace, on: store.sql)
            } catch {
                logger.warning("visitor follower could not start", metadata: ["error": "\(error)"])
            }
            var woken = wakes.makeAsyncIterator()
            while await woken.next() != nil {
                let anyone = state.withLockedValue { s in
                    if s.connections.values.contains(where: { $0.workspaceID == workspace }) { return true }
                    s.followers[workspace] = nil
                    return false
                }
                guard anyone else { break }
                do {
                    while true {
                        let events = try await EventLog.after(last, workspace: workspace, limit: 500, on: store.db)
                        for event in events {
                            last = event.seq
                            await forward(event, workspace: workspace)
                        }
                        if events.count < 500 { break }
                    }
                } catch {
                    logger.warning("visitor follower read failed", metadata: ["error": "\(error)"])
                }
            }
            hub.unsubscribe(subscription)
            // A visitor who connected while this follower was stopping needs a follower of their own.
            let restart = state.withLockedValue { s in
                guard s.followers[workspace] == nil, s.connections.values.contains(where: { $0.workspaceID == workspace }) else { return false }
                s.followers[workspace] = UUID()
                return true
            }
            if restart { follow(workspace) }
        }
    }

    /// A survey answered (in the chat by typing, or in another tab): its message again, with the score, to the visitor's sockets.
    private func forwardAnswer(_ event: Event, workspace: UUID) async {
        guard let survey = JSON.decode(SurveyEventPayload.self, from: event.payload)?.survey, survey.channel == .webchat else { return }
        let matches: (Connection) -> Bool = { $0.workspaceID == workspace && $0.conversations[survey.conversationID] != nil }
        guard !sockets(where: matches).isEmpty,
              let messageID = try? await Survey.find(survey.id, on: store.db)?.messageID,
              let message = try? await AtiendeCore.Message.query(on: store.db).filter(\.$id == messageID).with(\.$attachments).first()
        else { return }
        var wire = WidgetWire.Message(message.snapshot(attachments: message.attachments), author: nil)
        wire.survey?.score = survey.score
        send(WidgetWire.Pushed(message: wire), where: matches)
    }

    private func forward(_ event: Event, workspace: UUID) async {
        if event.type == EventType.surveyAnswered.rawValue { return await forwardAnswer(event, workspace: workspace) }
        guard event.type == EventType.messageCreated.rawValue || event.type == EventType.messageUpdated.rawValue,
              let payload = JSON.decode(MessageEventPayload.self, from: event.payload),
              payload.conversation.channel == .webchat, let thread = payload.conversation.threadID,
              payload.message.kind == .incoming || payload.message.kind == .outgoing else { return }
        let inbox = payload.conversation.inboxID, conversation = payload.conversation.id
        let matches: (Connection) -> Bool = { $0.workspaceID == workspace && $0.inboxID == inbox && $0.thread == thread }
        state.withLockedValue { s in
            for (id, c) in s.connections where matches(c) { s.connections[id]?.conversations[conversation] = payload.conversation.number }
        }
        guard !sockets(where: matches).isEmpty else { return }
        let author = payload.message.kind == .outgoing ? await authorName(payload.message.senderID) : nil
        var wire = WidgetWire.Message(payload.message, author: author)
        // A survey's message pushed again (read, delivered) carries the answer given so far.
        if let survey = payload.message.survey { wire.survey?.score = try? await Survey.find(survey.id, on: store.db)?.score }
        send(WidgetWire.Pushed(message: wire), where: matches)
    }
}
