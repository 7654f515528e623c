import AtiendeCore
import Fluent
import FluentSQL
import Vapor

enum ContactsController {
    /// `GET …/contacts?q=&cursor=&limit=`: newest first; `q` matches name, email, phone or any identity.
    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let limit = try req.pageLimit()
        let query = scope.query(Contact.self, on: req.db).filter(\.$mergedIntoID == nil)
        if let raw = req.query[String.self, at: "q"]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty {
            guard raw.count <= 200 else { throw AtiendeError.invalid("q is longer than 200 characters", code: "invalid_q") }
            // Wildcards typed by the user are taken literally.
            let term = "%" + raw.lowercased().replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            let schema = Contact.schema
            query.filter(.sql("""
                (LOWER(\(ident: schema).\(ident: "name")) LIKE \(bind: term)
                 OR LOWER(\(ident: schema).\(ident: "email")) LIKE \(bind: term)
                 OR \(ident: schema).\(ident: "phone") LIKE \(bind: term)
                 OR EXISTS (SELECT 1 FROM \(ident: ContactIdentity.schema) ci
                            WHERE ci.\(ident: "contact_id") = \(ident: schema).\(ident: "id") AND LOWER(ci.\(ident: "value")) LIKE \(bind: term)))
                """ as SQLQueryString))
        }
        if let cursor = try Cursor.decode(req.query[String.self, at: "cursor"]) {
            query.filter(.sql(try cursor.after(Contact.schema, "created_at", key: "id", try cursor.uuid(), descending: true,
                                               dialect: req.atiende.store.dialect)))
        }
        let rows = try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).with(\.$identities).limit(limit + 1).all()
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { Cursor(value: ($0.createdAt ?? Date(timeIntervalSince1970: 0)).cursorValue, key: $0.id?.uuidString ?? "").encoded } : nil
        return try json(Page(data: page.map { $0.snapshot() }, nextCursor: next))
    }

    struct ContactDetail: Encodable, Sendable {
        var contact: ContactSnapshot
        /// Every conversation on every channel, newest first.
        var conversations: [ConversationSnapshot]
        var duplicates: [DuplicateSnapshot]
    }

    struct DuplicateSnapshot: Encodable, Sendable {
        var id: UUID
        var otherContactID: UUID
        var reason: String
        enum CodingKeys: String, CodingKey { case id, reason, otherContactID = "other_contact_id" }
    }

    static func find(_ req: Request) async throws -> Contact {
        let scope = try req.scope
        let id = try req.uuidParameter("contactId", "contact")
        guard let contact = try await ContactService.find(id, workspace: scope.workspaceID, on: req.db) else {
            // A merged contact's old id leads to where it went.
            if let merged = try await scope.query(Contact.self, on: req.db).filter(\.$id == id).first(),
               let target = merged.mergedIntoID,
               let found = try await ContactService.find(target, workspace: scope.workspaceID, on: req.db) {
                return found
            }
            throw AtiendeError.notFound("contact")
        }
        return contact
    }

    static func show(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let contact = try await find(req)
        let contactID = try contact.requireID()
        let identities = try await contact.$identities.get(on: req.db)
        let conversations = try await scope.query(Conversation.self, on: req.db).filter(\.$contact.$id == contactID)
            .sort(\.$lastMessageAt, .descending).limit(500).all()
        let duplicates = try await scope.query(DuplicateSuggestion.self, on: req.db).filter(\.$state == .open)
            .group(.or) { $0.filter(\.$contactID == contactID).filter(\.$otherContactID == contactID) }.all()
        return try json(ContactDetail(
            contact: contact.snapshot(identities: identities), conversations: conversations.map(\.snapshot),
            duplicates: duplicates.map {
                DuplicateSnapshot(id: $0.id ?? UUID(), otherContactID: $0.contactID == contactID ? $0.otherContactID : $0.contactID,
                                  reason: $0.reason)
            }))
    }

    struct UpdateBody: Decodable {
        var name: String??
        var email: String??
        var phone: String??
        var documentID: String??
        var attributes: [String: String]?
        var labels: [String]?

        enum CodingKeys: String, CodingKey {
            case name, email, phone, attributes, labels
            case documentID = "document_id"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func optional(_ key: CodingKeys) throws -> String?? {
                c.contains(key) ? .some(try c.decodeIfPresent(String.self, forKey: key)) : nil
            }
            name = try optional(.name)
            email = try optional(.email)
            phone = try optional(.phone)
            documentID = try optional(.documentID)
            attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes)
            labels = try c.decodeIfPresent([String].self, forKey: .labels)
        }
    }

    /// `POST …/contacts`: someone an agent adds by hand; the email and phone become their identities (or a duplicate
    /// suggestion when another contact has them).
    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let body = try req.decodeJSON(UpdateBody.self)
        let created = try await req.atiende.contacts.create(
            .init(name: body.name, email: body.email, phone: body.phone, documentID: body.documentID, attributes: body.attributes, labels: body.labels),
            workspace: scope.workspaceID, actor: scope.userID)
        let identities = try await created.$identities.get(on: req.db)
        return try json(created.snapshot(identities: identities), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let contact = try await find(req)
        let body = try req.decodeJSON(UpdateBody.self)
        let updated = try await req.atiende.contacts.update(
            try contact.requireID(), workspace: scope.workspaceID,
            changes: .init(name: body.name, email: body.email, phone: body.phone, documentID: body.documentID,
                           attributes: body.attributes, labels: body.labels),
            actor: scope.userID)
        let identities = try await updated.$identities.get(on: req.db)
        return try json(updated.snapshot(identities: identities))
    }

    struct MergeBody: Decodable {
        var sourceID: UUID
        enum CodingKeys: String, CodingKey { case sourceID = "source_id" }
    }

    /// `POST …/contacts/{contactId}/merge` with `{"source_id"}`: the source's identities and history move here.
    static func merge(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let target = try await find(req)
        let body = try req.decodeJSON(MergeBody.self)
        let merged = try await req.atiende.contacts.merge(body.sourceID, into: try target.requireID(),
                                                          workspace: scope.workspaceID, actor: scope.userID)
        let identities = try await merged.$identities.get(on: req.db)
        return try json(merged.snapshot(identities: identities))
    }
}
