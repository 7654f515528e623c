import FluentKit
import Foundation

/// Members' roles and removal. A workspace never loses its last admin.
extension AccountService {
    public func changeRole(of userID: UUID, to role: Role, workspace workspaceID: UUID, actor: UUID) async throws -> Membership {
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            let membership = try await Self.membership(userID, workspace: workspaceID, in: tx)
            guard membership.role != role else { return membership }
            if membership.role == .admin { try await Self.ensureAnotherAdmin(workspaceID, except: userID, in: tx) }
            let before = membership.role
            membership.role = role
            try await membership.save(on: tx.db)
            try await EventLog.append(.memberRoleChanged, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: userID, name: membership.user.name, detail: role.rawValue,
                                                                  changes: ["role:" + before.rawValue]), in: tx)
            return membership
        }
    }

    /// Takes a person out of the workspace and its teams (their account stays, with their other workspaces).
    public func remove(_ userID: UUID, workspace workspaceID: UUID, actor: UUID) async throws {
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            let membership = try await Self.membership(userID, workspace: workspaceID, in: tx)
            if membership.role == .admin { try await Self.ensureAnotherAdmin(workspaceID, except: userID, in: tx) }
            try await TeamMember.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == userID).delete()
            try await membership.delete(on: tx.db)
            try await EventLog.append(.memberRemoved, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: userID, name: membership.user.name, detail: membership.role.rawValue), in: tx)
        }
    }

    static func membership(_ userID: UUID, workspace workspaceID: UUID, in tx: WriteTransaction) async throws -> Membership {
        guard let membership = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == userID)
            .with(\.$user).first() else { throw AtiendeError.notFound("member") }
        return membership
    }

    static func ensureAnotherAdmin(_ workspaceID: UUID, except userID: UUID, in tx: WriteTransaction) async throws {
        let admins = try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$role == .admin)
            .filter(\.$user.$id != userID).count()
        guard admins > 0 else { throw AtiendeError(.conflict, code: "last_admin", "the workspace must keep at least one admin") }
    }
}
