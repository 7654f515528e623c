import FluentKit
import Foundation

/// Teams of a workspace: named groups of its members. Each change is one transaction with its event.
public struct TeamService: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public func create(name: String, members: [UUID]?, workspace workspaceID: UUID, actor: UUID) async throws -> Team {
        let team = Team(workspaceID: workspaceID, name: try Names.valid(name))
        try await save(team, members: members, changes: ["name"] + (members == nil ? [] : ["members"]), event: .teamCreated, actor: actor)
        return team
    }

    /// Renames the team and, when `members` is given, replaces its members.
    public func update(_ team: Team, name: String?, members: [UUID]?, actor: UUID) async throws {
        var changes: [String] = []
        if let name {
            let valid = try Names.valid(name)
            if valid != team.name { changes.append("name") }
            team.name = valid
        }
        if members != nil { changes.append("members") }
        try await save(team, members: members, changes: changes, event: .teamUpdated, actor: actor)
    }

    public func delete(_ team: Team, actor: UUID) async throws {
        let id = try team.requireID()
        let workspaceID = team.$workspace.id
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            try await team.delete(on: tx.db)
            try await EventLog.append(.teamDeleted, workspace: workspaceID, actor: actor, payload: RecordEventPayload(id: id, name: team.name), in: tx)
        }
    }

    /// Every member id must be this workspace's (404 otherwise); a name is used once per workspace.
    private func save(_ team: Team, members: [UUID]?, changes: [String], event: EventType, actor: UUID) async throws {
        let workspaceID = team.$workspace.id
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let members {
                let known = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id ~~ members).count()
                guard known == Set(members).count else {
                    throw AtiendeError(.notFound, code: "member_not_found", "every member_id must be a member of this workspace")
                }
            }
            let sameName = try await Team.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$name == team.name).first()
            if let sameName, sameName.id != team.id {
                throw AtiendeError(.conflict, code: "team_exists", "a team named '\(team.name)' already exists")
            }
            try await team.save(on: tx.db)
            let id = try team.requireID()
            if let members {
                try await TeamMember.query(on: tx.db).filter(\.$team.$id == id).delete()
                for userID in Set(members) { try await TeamMember(workspaceID: workspaceID, teamID: id, userID: userID).create(on: tx.db) }
            }
            try await EventLog.append(event, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: id, name: team.name, changes: changes), in: tx)
        }
        try await team.$members.load(on: store.db)
    }
}
