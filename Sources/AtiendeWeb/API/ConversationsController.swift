import AtiendeCore
import Fluent
import FluentSQL
import Vapor

enum ConversationsController {
    enum Sort: String, CaseIterable {
        case lastActivity = "last_activity", newest, oldest
        case waitingLongest = "waiting_longest", priority
    }

    /// `GET …/conversations?status=&inbox_id=&assignee_id=&team_id=&label=&channel=&contact_id=&sort=&cursor=&limit=`
    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let limit = try req.pageLimit()
        let sort = try req.queryEnum("sort", Sort.self) ?? .lastActivity
        var query = scope.query(Conversation.self, on: req.db)
        if let raw = req.query[String.self, at: "status"], !raw.isEmpty {
            let statuses = try raw.split(separator: ",").map { part in
                guard let status = ConversationStatus(rawValue: String(part)) else {
                    throw AtiendeError.invalid("'\(part)' is not a valid status", code: "invalid_status")
                }
                return status
            }
            query = query.filter(\.$status ~~ statuses)
        }
        if let inbox = try req.queryUUID("inbox_id") { query = query.filter(\.$inbox.$id == inbox) }
        if let contact = try req.queryUUID("contact_id") { query = query.filter(\.$contact.$id == contact) }
        if let team = try req.queryUUID("team_id") { query = query.filter(\.$team.$id == team) }
        if let raw = req.query[String.self, at: "assignee_id"], !raw.isEmpty {
            if raw == "none" { query = query.filter(\.$assignee.$id == nil) }
            else if raw == "me" { query = query.filter(\.$assignee.$id == scope.userID) }
            else if let id = UUID(uuidString: raw) { query = query.filter(\.$assignee.$id == id) }
            else { throw AtiendeError.invalid("assignee_id must be a UUID, 'me' or 'none'", code: "invalid_assignee_id") }
        }
        if let raw = req.query[String.self, at: "channel"], !raw.isEmpty, case let channel = try req.atiende.channels.kind(raw) { query = query.filter(\.$channel == channel) }
        if let label = req.query[String.self, at: "label"], !label.isEmpty {
            query = query.filter(.sql(labelFilter(label.lowercased(), dialect: req.atiende.store.dialect)))
        }
        let cursor = try Cursor.decode(req.query[String.self, at: "cursor"])
        query = try apply(sort, cursor: cursor, dialect: req.atiende.store.dialect, to: query)
        let rows = try await query.limit(limit + 1).all()
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { cursorFor($0, sort: sort).encoded } : nil
        return try json(Page(data: page.map(\.snapshot), nextCursor: next))
    }

    /// Conversations carrying a label; the labels column is an array on PostgreSQL and JSON on SQLite.
    static func labelFilter(_ label: String, dialect: DatabaseDialect) -> SQLQueryString {
        switch dialect {
        case .postgres: "\(bind: label) = ANY(\(ident: Conversation.schema).\(ident: "labels"))"
        case .sqlite: "EXISTS (SELECT 1 FROM json_each(\(ident: Conversation.schema).\(ident: "labels")) WHERE json_each.value = \(bind: label))"
        }
    }

    static func apply(_ sort: Sort, cursor: Cursor?, dialect: DatabaseDialect, to query: QueryBuilder<Conversation>) throws -> QueryBuilder<Conversation> {
        switch sort {
        case .lastActivity:
            if let cursor {
                query.filter(.sql(try cursor.after(Conversation.schema, "last_message_at", key: "number", try cursor.int(cursor.key),
                                                   descending: true, dialect: dialect)))
            }
            return query.sort(\.$lastMessageAt, .descending).sort(\.$number, .descending)
        case .newest:
            if let cursor { query.filter(\.$number < (try cursor.int(cursor.key))) }
            return query.sort(\.$number, .descending)
        case .oldest:
            if let cursor { query.filter(\.$number > (try cursor.int(cursor.key))) }
            return query.sort(\.$number, .ascending)
        case .waitingLongest:
            query.filter(\.$waitingSince != nil)
            if let cursor {
                query.filter(.sql(try cursor.after(Conversation.schema, "waiting_since", key: "number", try cursor.int(cursor.key),
                                                   descending: false, dialect: dialect)))
            }
            return query.sort(\.$waitingSince, .ascending).sort(\.$number, .ascending)
        case .priority:
            if let cursor { try keyset(query, \.$priorityRank, try cursor.int(cursor.value), number: cursor.int(cursor.key), descending: true) }
            return query.sort(\.$priorityRank, .descending).sort(\.$number, .descending)
        }
    }

    private static func keyset<V: Codable & Sendable>(
        _ query: QueryBuilder<Conversation>, _ key: KeyPath<Conversation, FieldProperty<Conversation, V>>,
        _ value: V, number: Int, descending: Bool
    ) throws {
        query.group(.or) { or in
            or.filter(key, descending ? .lessThan : .greaterThan, value)
            or.group(.and) { $0.filter(key, .equal, value).filter(\.$number, descending ? .lessThan : .greaterThan, number) }
        }
    }

    static func cursorFor(_ conversation: Conversation, sort: Sort) -> Cursor {
        let key = String(conversation.number)
        switch sort {
        case .lastActivity: return Cursor(value: conversation.lastMessageAt.cursorValue, key: key)
        case .newest, .oldest: return Cursor(value: "", key: key)
        case .waitingLongest: return Cursor(value: (conversation.waitingSince ?? conversation.createdAt).cursorValue, key: key)
        case .priority: return Cursor(value: String(conversation.priorityRank), key: key)
        }
    }

    static func find(_ req: Request) async throws -> Conversation {
        guard let raw = req.parameters.get("number"), let number = Int(raw) else { throw AtiendeError.notFound("conversation") }
        guard let conversation = try await req.scope.query(Conversation.self, on: req.db).filter(\.$number == number).first() else {
            throw AtiendeError.notFound("conversation")
        }
        return conversation
    }

    static func show(_ req: Request) async throws -> Response {
        try json(try await find(req).snapshot)
    }

    struct UpdateBody: Decodable {
        var status: ConversationStatus?
        var snoozedUntil: Date?
        var assigneeID: UUID??
        var teamID: UUID??
        var priority: Priority?
        var labels: [String]?
        var contactReason: String??

        enum CodingKeys: String, CodingKey {
            case status, priority, labels
            case snoozedUntil = "snoozed_until", assigneeID = "assignee_id", teamID = "team_id", contactReason = "contact_reason"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            status = try c.decodeIfPresent(ConversationStatus.self, forKey: .status)
            snoozedUntil = try c.decodeIfPresent(Date.self, forKey: .snoozedUntil)
            assigneeID = c.contains(.assigneeID) ? .some(try c.decodeIfPresent(UUID.self, forKey: .assigneeID)) : nil
            teamID = c.contains(.teamID) ? .some(try c.decodeIfPresent(UUID.self, forKey: .teamID)) : nil
            priority = try c.decodeIfPresent(Priority.self, forKey: .priority)
            labels = try c.decodeIfPresent([String].self, forKey: .labels)
            contactReason = c.contains(.contactReason) ? .some(try c.decodeIfPresent(String.self, forKey: .contactReason)) : nil
        }
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await find(req)
        let body = try req.decodeJSON(UpdateBody.self)
        let updated = try await req.atiende.conversations.update(
            try conversation.requireID(), workspace: scope.workspaceID,
            changes: .init(status: body.status, snoozedUntil: body.snoozedUntil, assigneeID: body.assigneeID, teamID: body.teamID,
                           priority: body.priority, labels: body.labels, contactReason: body.contactReason),
            actor: scope.userID)
        return try json(updated.snapshot)
    }

    /// `GET …/conversations/{number}/messages?cursor=&limit=`, oldest first.
    static func messages(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await find(req)
        let limit = try req.pageLimit()
        let query = scope.query(Message.self, on: req.db).filter(\.$conversation.$id == (try conversation.requireID()))
        if let cursor = try Cursor.decode(req.query[String.self, at: "cursor"]) {
            query.filter(.sql(try cursor.after(Message.schema, "created_at", key: "id", try cursor.uuid(), descending: false,
                                               dialect: req.atiende.store.dialect)))
        }
        let rows = try await query.sort(\.$createdAt, .ascending).sort(\.$id, .ascending).with(\.$attachments).limit(limit + 1).all()
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { Cursor(value: $0.createdAt.cursorValue, key: $0.id?.uuidString ?? "").encoded } : nil
        return try json(Page(data: page.map { $0.snapshot() }, nextCursor: next))
    }

    struct ReplyBody: Decodable {
        var text: String?
        var `private`: Bool?
        var attachments: [EncodedFile]?
        /// WhatsApp: an approved template (`{"name", "language", "parameters"}`), the only reply allowed after 24 hours.
        var template: MessageTemplate?
        /// Another of the workspace's inboxes to answer through (a contact form by email, a call by WhatsApp or SMS).
        var viaInboxID: UUID?
        /// The canned response the text came from (counted as a use); alone, without `text`, it is filled in and sent.
        var cannedResponseID: UUID?

        enum CodingKeys: String, CodingKey {
            case text, `private`, attachments, template
            case viaInboxID = "via_inbox_id", cannedResponseID = "canned_response_id"
        }
    }

    /// `POST …/conversations/{number}/messages/{messageId}/resend`: a failed reply, queued again.
    static func resend(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await find(req)
        let message = try await req.atiende.conversations.resend(try req.uuidParameter("messageId", "message"), conversation: try conversation.requireID(),
                                                                 workspace: scope.workspaceID, actor: scope.userID)
        return try json(message.snapshot(), status: .accepted)
    }

    /// `POST …/conversations/{number}/messages`: a reply to the customer, or a private note with `"private": true`.
    static func reply(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await find(req)
        let body = try req.decodeJSON(ReplyBody.self)
        let files = try (body.attachments ?? []).enumerated().map { try $1.decoded(index: $0) }
        var text = body.text ?? ""
        if let canned = body.cannedResponseID, text.isEmpty {
            let response = try await req.atiende.canned.usable(canned, workspace: scope.workspaceID, user: scope.userID, on: req.db)
            text = try await req.atiende.canned.fill(response, conversation: try conversation.requireID(), workspace: scope.workspaceID,
                                                     agent: scope.userID, on: req.db).text
        }
        let (message, _) = try await req.atiende.conversations.reply(
            try conversation.requireID(), workspace: scope.workspaceID, text: text, author: scope.userID,
            isNote: body.private ?? false, files: files, template: body.template, via: body.viaInboxID, canned: body.cannedResponseID)
        return try json(message.snapshot(), status: .created)
    }
}
