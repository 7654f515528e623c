import AtiendeCore
import FluentKit
import Foundation
import SQLKit

/// What the widget sees: only the visitor's and the team's messages (never notes or activity), with the agent's
/// first name, never an internal id of a person.
enum WidgetWire {
    struct Author: Encodable, Sendable { var name: String }

    struct File: Encodable, Sendable {
        var id: UUID
        var filename: String
        var contentType: String
        var size: Int
        enum CodingKeys: String, CodingKey { case id, filename, size, contentType = "content_type" }
    }

    struct Message: Encodable, Sendable {
        var id: UUID
        var from: String
        var text: String
        var createdAt: Date
        var status: String
        var author: Author?
        var attachments: [File]
        /// The id the widget gave the visitor's message, so the tab that sent it replaces its "sending" line.
        var clientID: String?
        /// The survey the message asks: the widget shows its scale as buttons.
        var survey: SurveyButtons?
        enum CodingKeys: String, CodingKey { case id, from, text, status, author, attachments, survey, createdAt = "created_at", clientID = "client_id" }

        init(_ m: MessageSnapshot, author: String?) {
            id = m.id
            from = m.kind == .incoming ? "visitor" : "team"
            text = m.text
            createdAt = m.createdAt
            status = (m.deliveryStatus ?? (m.kind == .incoming ? .received : .queued)).rawValue
            self.author = m.kind == .outgoing ? Author(name: author.map(firstName) ?? "") : nil
            if m.kind == .incoming, let provider = m.providerMessageID, provider.hasPrefix("wc:") {
                clientID = provider.split(separator: ":").last.map(String.init)
            }
            attachments = m.attachments.map { File(id: $0.id, filename: $0.filename, contentType: $0.contentType, size: $0.size) }
            survey = m.survey.map { SurveyButtons(id: $0.id, kind: $0.kind, min: $0.kind.scale.lowerBound, max: $0.kind.scale.upperBound, score: nil) }
        }
    }

    struct SurveyButtons: Encodable, Sendable {
        var id: UUID
        var kind: Survey.Kind
        var min: Int
        var max: Int
        /// The visitor's answer so far.
        var score: Int?
    }

    /// Frames pushed over the visitor's WebSocket.
    struct Pushed: Encodable, Sendable { var type = "message"; var message: Message }
    struct Typing: Encodable, Sendable {
        var type = "typing"
        var name: String
        init(name: String) { self.name = firstName(name) }
    }
    struct Seen: Encodable, Sendable { var type = "seen" }
    struct Ack: Encodable, Sendable {
        var type = "ack"; var clientID: String; var message: Message
        enum CodingKeys: String, CodingKey { case type, message, clientID = "client_id" }
    }
    struct Refused: Encodable, Sendable {
        var type = "error"; var clientID: String?; var code: String; var message: String
        enum CodingKeys: String, CodingKey { case type, code, message, clientID = "client_id" }
    }

    /// Agents are shown to customers by first name only.
    static func firstName(_ name: String) -> String {
        name.split(separator: " ").first.map(String.init) ?? name
    }

    /// The visitor's conversations in this inbox, newest last.
    static func conversations(inbox: UUID, thread: String, on db: any Database) async throws -> [Conversation] {
        try await Conversation.query(on: db).filter(\.$inbox.$id == inbox).filter(\.$providerThreadID == thread)
            .sort(\.$createdAt).all()
    }

    /// The last `limit` messages of those conversations, oldest first, as the widget shows them.
    static func history(_ conversations: [Conversation], limit: Int = 200, on db: any Database,
                        names: (UUID?) async -> String?) async throws -> [Message] {
        let ids = conversations.compactMap(\.id)
        guard !ids.isEmpty else { return [] }
        let messages = try await AtiendeCore.Message.query(on: db).filter(\.$conversation.$id ~~ ids)
            .filter(\.$kind ~~ [.incoming, .outgoing]).sort(\.$createdAt, .descending).limit(limit).with(\.$attachments).all()
        let asked = messages.compactMap { JSON.decode(SurveyPrompt.self, from: $0.surveyJSON)?.id }
        let scores = asked.isEmpty ? [:] : Dictionary(
            try await Survey.query(on: db).filter(\.$id ~~ asked).all().compactMap { survey in survey.score.map { (survey.id!, $0) } },
            uniquingKeysWith: { first, _ in first })
        var result: [Message] = []
        for message in messages.reversed() {
            let author = message.kind == .outgoing ? await names(message.senderID) : nil
            var wire = Message(message.snapshot(attachments: message.attachments), author: author)
            if let id = wire.survey?.id { wire.survey?.score = scores[id] }
            result.append(wire)
        }
        return result
    }

    /// Marks the visitor's unread messages read (an agent opened the conversation). True when any changed.
    static func markIncomingRead(conversation: UUID, store: Store) async throws -> Bool {
        try await store.write { tx in
            let unread = try await AtiendeCore.Message.query(on: tx.db).filter(\.$conversation.$id == conversation)
                .filter(\.$kind == .incoming).filter(\.$deliveryStatus == .received).count()
            guard unread > 0 else { return false }
            try await AtiendeCore.Message.query(on: tx.db).filter(\.$conversation.$id == conversation)
                .filter(\.$kind == .incoming).filter(\.$deliveryStatus == .received)
                .set(\.$deliveryStatus, to: .read).set(\.$updatedAt, to: tx.now).update()
            return true
        }
    }
}
