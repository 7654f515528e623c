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
        guard let membership = try await scope.query(Membership.self, on: req.db).filter(\.$user.$id == userID).with(\.$user).first() else {
            throw AtiendeError.notFound("member")
        }
        let body = try req.decodeJSON(UpdateBody.self)
        if membership.role == .admin && body.role != .admin { try await ensureAnotherAdmin(scope, except: userID, on: req.db) }
        membership.role = body.role
        try await req.atiende.store.write { tx in try await membership.save(on: tx.db) }
        return try json(MemberResponse(id: userID, email: membership.user.email, name: membership.user.name, role: membership.role,
                                       isActive: membership.user.isActive))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let userID = try req.uuidParameter("userId", "member")
        guard let membership = try await scope.query(Membership.self, on: req.db).filter(\.$user.$id == userID).first() else {
            throw AtiendeError.notFound("member")
        }
        if membership.role == .admin { try await ensureAnotherAdmin(scope, except: userID, on: req.db) }
        let workspaceID = scope.workspaceID
        try await req.atiende.store.write { tx in
            try await TeamMember.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == userID).delete()
            try await membership.delete(on: tx.db)
        }
        return Response(status: .noContent)
    }

    /// A workspace never loses its last admin.
    static func ensureAnotherAdmin(_ scope: Scope, except userID: UUID, on db: any Database) async throws {
        let admins = try await scope.query(Membership.self, on: db).filter(\.$role == .admin).filter(\.$user.$id != userID).count()
        guard admins > 0 else {
            throw AtiendeError(.conflict, code: "last_admin", "the workspace must keep at least one admin")
        }
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
        guard let raw = body.name else { throw AtiendeError.invalid("'name' is required", code: "invalid_name") }
        let name = try InboxesController.validName(raw)
        let team = Team(workspaceID: scope.workspaceID, name: name)
        try await save(team, members: body.memberIDs, scope: scope, req: req)
        return try json(response(team), status: .created)
    }

    static func update(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let team = try await scope.find(Team.self, try req.uuidParameter("teamId", "team"), on: req.db)
        let body = try req.decodeJSON(Body.self)
        if let name = body.name { team.name = try InboxesController.validName(name) }
        try await save(team, members: body.memberIDs, scope: scope, req: req)
        return try json(response(team))
    }

    static func remove(_ req: Request) async throws -> Response {
        let scope = try req.scope
        let team = try await scope.find(Team.self, try req.uuidParameter("teamId", "team"), on: req.db)
        try await req.atiende.store.write { tx in try await team.delete(on: tx.db) }
        return Response(status: .noContent)
    }

    /// Saves the team and, when given, replaces its members (each must belong to the workspace).
    private static func save(_ team: Team, members: [UUID]?, scope: Scope, req: Request) async throws {
        if let members {
            let known = try await scope.query(Membership.self, on: req.db).filter(\.$user.$id ~~ members).count()
            guard known == Set(members).count else {
                throw AtiendeError(.notFound, code: "member_not_found", "every member_id must be a member of this workspace")
            }
        }
        let workspaceID = scope.workspaceID
        let name = team.name
        let teamID = team.id
        let sameName = try await scope.query(Team.self, on: req.db).filter(\.$name == name).first()
        if let sameName, sameName.id != teamID {
            throw AtiendeError(.conflict, code: "team_exists", "a team named '\(name)' already exists")
        }
        try await req.atiende.store.write { tx in
            try await team.save(on: tx.db)
            let id = try team.requireID()
            if let members {
                try await TeamMember.query(on: tx.db).filter(\.$team.$id == id).delete()
                for userID in Set(members) { try await TeamMember(workspaceID: workspaceID, teamID: id, userID: userID).create(on: tx.db) }
            }
        }
        try await team.$members.load(on: req.db)
    }
}
