import FluentKit
import Foundation

/// Service-level policies and each inbox's hours, policy and automatic answers. Every change gives the active
/// conversations their new deadlines in the same transaction, and appends its event.
public struct ServiceLevelPolicyService: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// Saves a policy (one default per workspace). The team it escalates to must be this workspace's (404 otherwise).
    public func save(_ policy: ServiceLevelPolicy, actor: UUID) async throws {
        try policy.rules.validate()
        let workspaceID = policy.$workspace.id
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let team = policy.rules.escalateTeamID,
               try await Team.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id == team).first() == nil {
                throw AtiendeError.notFound("team")
            }
            let creating = policy.id == nil
            if creating { policy.id = UUID(); policy.createdAt = tx.now }
            if policy.isDefault {
                try await ServiceLevelPolicy.query(on: tx.db).filter(\.$workspace.$id == workspaceID)
                    .filter(\.$id != policy.id!).set(\.$isDefault, to: false).update()
            }
            try await policy.save(on: tx.db)
            try await ServiceLevels.retargetActive(workspace: workspaceID, in: tx)
            try await EventLog.append(creating ? .slaPolicyCreated : .slaPolicyUpdated, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: try policy.requireID(), name: policy.name,
                                                                  detail: policy.isDefault ? "default" : nil), in: tx)
        }
    }

    /// Deletes a policy; its inboxes fall back to the workspace default.
    public func delete(_ policy: ServiceLevelPolicy, actor: UUID) async throws {
        let workspaceID = policy.$workspace.id
        let id = try policy.requireID()
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            try await Inbox.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$slaPolicyID == id)
                .set(\.$slaPolicyID, to: nil).update()
            try await policy.delete(on: tx.db)
            try await ServiceLevels.retargetActive(workspace: workspaceID, in: tx)
            try await EventLog.append(.slaPolicyDeleted, workspace: workspaceID, actor: actor, payload: RecordEventPayload(id: id, name: policy.name), in: tx)
        }
    }

    /// An inbox's hours (nil: around the clock), policy (nil: the default) and automatic answers. The policy must be this
    /// workspace's.
    public func setInbox(_ inbox: Inbox, hours: BusinessHours?, policy: UUID?, autoReplies: AutoReplies?, actor: UUID) async throws {
        try hours?.validate()
        if let capacity = autoReplies?.capacity, capacity < 1 {
            throw AtiendeError.invalid("capacity is a whole number above 0", code: "invalid_capacity")
        }
        for template in (autoReplies.map { Array($0.firstAnswer.values) + Array($0.afterHours.values) + Array($0.busy.values) } ?? [])
        where template.count > 2000 {
            throw AtiendeError.invalid("automatic answers are at most 2000 characters", code: "invalid_auto_reply")
        }
        let workspaceID = inbox.$workspace.id
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            if let policy, try await ServiceLevelPolicy.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$id == policy).first() == nil {
                throw AtiendeError.notFound("service-level policy")
            }
            inbox.businessHoursJSON = try hours.map { try EventLog.json($0) }
            inbox.slaPolicyID = policy
            inbox.autoRepliesJSON = try autoReplies.map { try EventLog.json($0) }
            try await inbox.save(on: tx.db)
            try await ServiceLevels.retargetActive(workspace: workspaceID, inbox: try inbox.requireID(), in: tx)
            try await EventLog.append(.inboxUpdated, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: inbox.channel.rawValue,
                                                                  changes: ["business_hours", "sla_policy_id", "auto_replies"]), in: tx)
        }
    }
}
