import AtiendeCore
import Fluent
import Vapor

/// Availability, capacity and assignment: `/availability` (everyone's status and load), a member's own status, an
/// admin's capacity and languages for them, an inbox's assignment policy, and taking a conversation.
enum RoutingController {
    struct BoardEntry: Encodable, Sendable {
        var userID: UUID
        var name: String
        var role: Role
        var status: AgentStatus
        var chosen: AgentStatus
        var open: [String: Int]
        var capacity: [String: Int]
        var languages: [String]
        enum CodingKeys: String, CodingKey { case name, role, status, chosen, open, capacity, languages, userID = "user_id" }
    }

    static func entry(_ entry: AvailabilityService.Entry) -> BoardEntry {
        let routing = entry.member.routing
        return BoardEntry(userID: entry.member.$user.id, name: entry.member.user.name, role: entry.member.role, status: entry.status,
                          chosen: entry.member.availability, open: Dictionary(uniqueKeysWithValues: entry.open.map { ($0.key.rawValue, $0.value) }),
                          capacity: routing.capacity, languages: routing.languages)
    }

    static func board(_ req: Request) async throws -> Response {
        try json(try await req.atiende.availability.board(workspace: try req.scope.workspaceID).map(entry))
    }

    struct StatusBody: Decodable { var status: AgentStatus }

    /// `PUT …/users/{userId}/availability`: one's own status (an admin may set anyone's).
    static func setStatus(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let user = try req.uuidParameter("userId", "member")
        guard try await scope.query(Membership.self, on: req.db).filter(\.$user.$id == user).count() == 1 else {
            throw AtiendeError(.notFound, code: "member_not_found", "that person is not a member of this workspace")
        }
        guard user == scope.userID || scope.role >= .admin else {
            throw AtiendeError(.forbidden, code: "insufficient_role", "members set their own status; admins anyone's")
        }
        let body = try req.decodeJSON(StatusBody.self)
        _ = try await req.atiende.availability.choose(body.status, user: user, workspace: scope.workspaceID)
        return try await one(req, user)
    }

    struct RoutingBody: Decodable {
        var capacity: [String: Int]?
        var languages: [String]?
    }

    /// `PUT …/users/{userId}/routing`: what a member takes (admins).
    static func setRouting(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let user = try req.uuidParameter("userId", "member")
        let body = try req.decodeJSON(RoutingBody.self)
        let known = Set(req.atiende.channels.kinds.map(\.rawValue) + ["*"])
        if let unknown = body.capacity?.keys.first(where: { !known.contains($0) }) {
            throw AtiendeError.invalid("capacity is per channel this instance has ('\(unknown)' is none) or '*'", code: "invalid_member_capacity")
        }
        _ = try await req.atiende.availability.setRouting(MemberRouting(capacity: body.capacity ?? [:], languages: body.languages ?? []),
                                                          user: user, workspace: scope.workspaceID, actor: scope.userID)
        return try await one(req, user)
    }

    static func one(_ req: Request, _ user: UUID) async throws -> Response {
        guard let found = try await req.atiende.availability.board(workspace: try req.scope.workspaceID).first(where: { $0.member.$user.id == user }) else {
            throw AtiendeError.notFound("member")
        }
        return try json(entry(found))
    }

    static func policy(_ req: Request) async throws -> Response {
        let inbox = try await req.scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        return try json(inbox.assignment)
    }

    /// `PUT …/inboxes/{inboxId}/assignment`: how the inbox hands out conversations (admins).
    static func setPolicy(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let inbox = try await scope.find(Inbox.self, try req.uuidParameter("inboxId", "inbox"), on: req.db)
        let policy = try req.decodeJSON(AssignmentPolicy.self)
        try await req.atiende.availability.setPolicy(policy, inbox: inbox, actor: scope.userID)
        req.atiende.inboxChanged(try inbox.requireID())
        return try json(inbox.assignment)
    }

    /// `POST …/conversations/{number}/claim`: the caller takes it, unless someone else has it (409).
    static func claim(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let conversation = try await ConversationsController.find(req)
        let claimed = try await req.atiende.availability.claim(try conversation.requireID(), user: scope.userID, workspace: scope.workspaceID)
        return try json(claimed.snapshot)
    }
}

