import AtiendeCore
import Vapor

/// A person's privacy requests through the API (admins): their data as a ZIP, what an erasure would take, the erasure.
enum PrivacyController {
    /// `GET …/contacts/{contactId}/export`: the ZIP the contact page downloads.
    static func export(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let contact = try await ContactsController.find(req)
        return try await PrivacyArchive.response(req, contact: try contact.requireID(), workspace: scope.workspaceID, actor: scope.userID)
    }

    /// `GET …/contacts/{contactId}/erasure`: what erasing the contact would take away, changing nothing.
    static func preview(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let contact = try await ContactsController.find(req)
        return try json(try await PrivacyService.holding(try contact.requireID(), workspace: scope.workspaceID, on: req.db).tally)
    }

    static func retention(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        return try json(inbox.retentionPolicy)
    }

    /// `PUT …/inboxes/{inboxId}/retention` with `{"months": 24, "action": "anonymise"}`.
    static func setRetention(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let policy = try await req.atiende.retention.setPolicy(try req.decodeJSON(RetentionPolicy.self), inbox: inbox, actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return try json(policy)
    }

    struct EraseBody: Decodable {
        var confirm: Bool?
    }

    /// `POST …/contacts/{contactId}/erasure` with `{"confirm": true}`: erases the contact; answers what went.
    static func erase(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let contact = try await ContactsController.find(req)
        guard try req.decodeJSON(EraseBody.self).confirm == true else {
            throw AtiendeError.invalid("send {\"confirm\": true} to erase the contact's data", code: "confirmation_required")
        }
        return try json(try await req.atiende.privacy.erase(try contact.requireID(), workspace: scope.workspaceID, actor: scope.userID))
    }
}
