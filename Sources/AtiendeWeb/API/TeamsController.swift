import AtiendeCore
import Fluent
import Vapor

enum MembersController {
    struct MemberResponse: Encodable, Sendable {
        var id: UUID
        var email: String
        var name: String
        var role: Role
        var isActive: Bool
        enum CodingKeys: String, CodingKey { case id, email, name, role, isActive = "is_active" }
    }

    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let memberships = try await scope.query(Membership.self, on: req.db).with(\.$user).all()
        return try json(memberships.map {
            MemberResponse(id: $0.$user.id, email: $0.user.email, name: $0.user.name, role: $0.role, isActive: $0.user.isActive)
        }.sorted { $0.name < $1.name })
    }

    struct CreateBody: Decodable {
        var email: String
        var role: Role
        var password: String?
    }

    struct InvitationResponse: Encodable, Sendable {
        var email: String
        var role: Role
        var status = "invited"
        var invitationURL: String
        var expiresAt: Date
        enum CodingKeys: String, CodingKey { case email, role, status, invitationURL = "invitation_url", expiresAt = "expires_at" }
    }

    /// Invites a person: the answer is the same whether or not the email has an account elsewhere on the instance (nothing
    /// of another account shows), and no account is touched until its person accepts — someone new by choosing their
    /// own password, someone with an account by accepting while signed in.
    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let body = try req.decodeJSON(CreateBody.self)
        if body.password != nil {
            throw AtiendeError.invalid("'password' is not accepted: the invited person chooses their own when they accept", code: "password_not_accepted")
        }
        let (invitation, token) = try await req.atiende.accounts.invite(email: body.email, role: body.role, workspace: scope.workspaceID,
                                                                        by: scope.userID)
        return try json(InvitationResponse(email: invitation.email, role: invitation.role, invitationURL: invitationURL(req, token: token),
                                           expiresAt: invitation.expiresAt), status: .created)
    }

    /// The absolute link to send to the invited person.
    static func invitationURL(_ req: Request, token: String) -> String {
        req.publicBase + SiteURL.invitation(token).path
    }

    struct UpdateBody: Decodable { var role: Role }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let userID = try req.uuidParameter("userId", "member")
        let membership = try await req.atiende.accounts.changeRole(of: userID, to: try req.decodeJSON(UpdateBody.self).role,
                                                                   workspace: scope.workspaceID, actor: scope.userID)
        return try json(MemberResponse(id: userID, email: membership.user.email, name: membership.user.name, role: membership.role,
                                       isActive: membership.user.isActive))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        try await req.atiende.accounts.remove(try req.uuidParameter("userId", "member"), workspace: scope.workspaceID, actor: scope.userID)
        return Response(status: .noContent)
    }
}

enum PasswordPolicy {
    static let minimumLength = 10

    static func check(_ password: String) throws {
        guard password.count >= minimumLength, password.count <= 200 else {
            throw AtiendeError.invalid("passwords must be 10 to 200 characters", code: "weak_password")
        }
    }
}

enum TeamsController {
    struct TeamResponse: Encodable, Sendable {
        var id: UUID
        var name: String
        var memberIDs: [UUID]
        enum CodingKeys: String, CodingKey { case id, name, memberIDs = "member_ids" }
    }

    static func response(_ team: Team) -> TeamResponse {
        TeamResponse(id: team.id ?? UUID(), name: team.name, memberIDs: (team.$members.value ?? []).map(\.$user.id))
    }

    static func list(_ req: Request) async throws -> Response {
        let teams = try await req.scope.query(Team.self, on: req.db).with(\.$members).sort(\.$name).all()
        return try json(teams.map(response))
    }

    struct Body: Decodable {
        var name: String?
        var memberIDs: [UUID]?
        enum CodingKeys: String, CodingKey { case name, memberIDs = "member_ids" }
    }

    static func create(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let body = try req.decodeJSON(Body.self)
        guard let name = body.name else { throw AtiendeError.invalid("'name' is required", code: "invalid_name") }
        let team = try await req.atiende.teams.create(name: name, members: body.memberIDs, workspace: scope.workspaceID, actor: scope.userID)
        return try json(response(team), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let team = try await scope.find(Team.self, try req.uuidParameter("teamId", "team"), on: req.db)
        let body = try req.decodeJSON(Body.self)
        try await req.atiende.teams.update(team, name: body.name, members: body.memberIDs, actor: scope.userID)
        return try json(response(team))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let team = try await scope.find(Team.self, try req.uuidParameter("teamId", "team"), on: req.db)
        try await req.atiende.teams.delete(team, actor: scope.userID)
        return Response(status: .noContent)
    }
}
