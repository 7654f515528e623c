import AtiendeCore
import Fluent
import Vapor

/// `…/at-risk`: the list over the API, and an entry marked handled.
enum AtRiskController {
    static func status(_ req: Request) throws -> AtRiskService.Status {
        guard let raw = req.query[String.self, at: "status"] else { return .open }
        guard let status = AtRiskService.Status(rawValue: raw) else {
            throw AtiendeError.invalid("status is open, handled or all", code: "invalid_status")
        }
        return status
    }

    struct Body: Encodable {
        var id: UUID
        var contactID: UUID
        var conversationID: UUID
        var kind: AtRiskEntry.Kind
        var detail: String
        var reason: String?
        var createdAt: Date
        var handledAt: Date?
        var handledBy: UUID?
        var action: AtRiskEntry.Action?
        var note: String?
        enum CodingKeys: String, CodingKey {
            case id, kind, detail, reason, action, note
            case contactID = "contact_id", conversationID = "conversation_id", createdAt = "created_at", handledAt = "handled_at", handledBy = "handled_by"
        }
        init(_ e: AtRiskEntry) {
            id = e.id ?? UUID(); contactID = e.contactID; conversationID = e.conversationID; kind = e.kind; detail = e.detail; reason = e.reason
            createdAt = e.createdAt; handledAt = e.handledAt; handledBy = e.handledBy; action = e.action; note = e.note
        }
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let days = req.query[Int.self, at: "days"] ?? 30
        guard (1...366).contains(days) else { throw AtiendeError.invalid("days is 1 to 366", code: "invalid_days") }
        let since = req.atiende.store.clock.now().addingTimeInterval(-Double(days) * 86_400)
        return try json(try await req.atiende.atRisk.list(workspace: scope.workspaceID, status: try status(req), since: since).map(Body.init))
    }

    struct Handle: Decodable {
        var action: AtRiskEntry.Action
        var note: String?
    }

    static func handle(_ req: Request) async throws -> Response {
        let scope = try req.scope
        // Another workspace's entry is not found, whatever the body says.
        let entry = try await scope.find(AtRiskEntry.self, try req.uuidParameter("entryId", "at-risk entry"), on: req.db)
        let input = try req.decodeJSON(Handle.self)
        let handled = try await req.atiende.atRisk.handle(try entry.requireID(), workspace: scope.workspaceID,
                                                          action: input.action, note: input.note, by: scope.userID)
        return try json(Body(handled))
    }
}
