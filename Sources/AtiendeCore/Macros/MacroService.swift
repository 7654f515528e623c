import FluentKit
import Foundation
import SQLKit

/// Macros: saved with every action checked against the workspace, and run on one conversation in one transaction —
/// the reply, the note and the changes all happen, or none does, with one activity line naming the macro.
public struct MacroService: Sendable {
    public let store: Store
    let conversations: ConversationService
    let canned: CannedResponseService

    public init(store: Store, conversations: ConversationService) {
        self.store = store
        self.conversations = conversations
        self.canned = CannedResponseService(store: store)
    }

    public func create(name: String, actions: MacroActions, owner: UUID?, workspace workspaceID: UUID, actor: UUID) async throws -> Macro {
        let macro = try Macro(workspaceID: workspaceID, ownerID: owner, name: try Names.valid(name), actions: actions, at: Date())
        try await save(macro, actions: actions, changes: ["name", "actions"], event: .macroCreated, actor: actor)
        return macro
    }

    public func update(_ macro: Macro, name: String?, actions: MacroActions?, actor: UUID) async throws {
        var changes: [String] = []
        if let name { macro.name = try Names.valid(name); changes.append("name") }
        if actions != nil { changes.append("actions") }
        try await save(macro, actions: actions ?? macro.actions, changes: changes, event: .macroUpdated, actor: actor)
    }

    public func delete(_ macro: Macro, actor: UUID) async throws {
        let id = try macro.requireID()
        try await store.write { tx in
            try await tx.lockWorkspace(macro.$workspace.id)
            try await macro.delete(on: tx.db)
            try await EventLog.append(.macroDeleted, workspace: macro.$workspace.id, actor: actor, payload: RecordEventPayload(id: id, name: macro.name), in: tx)
        }
    }

    /// The macros `user` may run: the shared ones and their own, by name.
    public func usable(workspace workspaceID: UUID, user: UUID, on db: any Database) async throws -> [Macro] {
        try await Macro.query(on: db).filter(\.$workspace.$id == workspaceID)
            .group(.or) { $0.filter(\.$ownerID == nil).filter(\.$ownerID == user) }.sort(\.$name).all()
    }

    public func usable(_ id: UUID, workspace workspaceID: UUID, user: UUID, on db: any Database) async throws -> Macro {
        guard let macro = try await Macro.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id)
            .group(.or, { $0.filter(\.$ownerID == nil).filter(\.$ownerID == user) }).first()
        else { throw AtiendeError.notFound("macro") }
        return macro
    }

    /// Runs a macro on one conversation, as `actor`: all of it in one transaction.
    public func run(_ macro: Macro, conversation conversationID: UUID, workspace workspaceID: UUID, actor: UUID) async throws -> Conversation {
        let actions = macro.actions
        return try await store.write { tx in
            let conversation = try await ConversationService.lockedConversation(conversationID, workspace: workspaceID, in: tx)
            if let reply = actions.reply {
                var text = reply.text ?? ""
                if let id = reply.cannedResponseID {
                    let response = try await canned.usable(id, workspace: workspaceID, user: actor, on: tx.db)
                    text = try await canned.fill(response, conversation: conversationID, workspace: workspaceID, agent: actor, on: tx.db).text
                } else {
                    text = try await canned.fill(text: text, conversation: conversation, agent: actor, on: tx.db).text
                }
                _ = try await conversations.post(.init(text: text, canned: reply.cannedResponseID), to: conversation, author: actor, in: tx)
            }
            if let note = actions.note {
                _ = try await conversations.post(.init(text: note, isNote: true), to: conversation, author: actor, in: tx)
            }
            var changes = ConversationService.Changes(status: actions.status, priority: actions.priority)
            if actions.addLabels != nil || actions.removeLabels != nil {
                let removed = Set(actions.removeLabels ?? [])
                changes.labels = (conversation.labels + (actions.addLabels ?? [])).filter { !removed.contains($0) }
            }
            switch actions.assignee {
            case nil: break
            case "me": changes.assigneeID = .some(actor)
            case "none": changes.assigneeID = .some(nil)
            case let id?: changes.assigneeID = .some(UUID(uuidString: id))
            }
            switch actions.team {
            case nil: break
            case "none": changes.teamID = .some(nil)
            case let id?: changes.teamID = .some(UUID(uuidString: id))
            }
            try await ActivityLogReaction.write(.init(change: .macro, value: macro.name), conversation: conversation, actor: actor, in: tx)
            _ = try await ConversationService.change(conversation, changes, actor: actor, in: tx)
            try await tx.sql.raw("UPDATE macros SET use_count = use_count + 1 WHERE id = \(bind: try macro.requireID())").run()
            return conversation
        }
    }

    /// Every action must make sense in the workspace: a canned response the macro's users may all use, members and teams
    /// of this workspace, a status a click can set, labels and texts as a reply would take them.
    private func check(_ actions: MacroActions, owner: UUID?, workspace workspaceID: UUID, on db: any Database) async throws -> MacroActions {
        guard !actions.isEmpty else { throw AtiendeError.invalid("a macro needs at least one action", code: "invalid_macro") }
        var checked = actions
        if let reply = actions.reply {
            switch (reply.cannedResponseID, reply.text) {
            case (let id?, nil):
                let response = try await CannedResponse.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id).first()
                guard let response, response.isShared || response.ownerID == owner else { throw AtiendeError.notFound("canned response") }
            case (nil, let text?):
                try Placeholders.validate(text)
                // Its variables are filled in for each conversation when it runs.
                try ConversationService.ReplyDraft(text: text, isNote: true).validate(files: 0)
            default:
                throw AtiendeError.invalid("a macro's reply is a canned_response_id or a text", code: "invalid_macro")
            }
        }
        if let note = actions.note { try ConversationService.ReplyDraft(text: note, isNote: true).validate(files: 0) }
        checked.addLabels = try actions.addLabels.map(ConversationService.normalizeLabels)
        checked.removeLabels = try actions.removeLabels.map(ConversationService.normalizeLabels)
        if let status = actions.status, ![.open, .pending, .resolved].contains(status) {
            throw AtiendeError.invalid("a macro sets a status of open, pending or resolved", code: "invalid_macro")
        }
        if let assignee = actions.assignee, !["me", "none"].contains(assignee) {
            guard let id = UUID(uuidString: assignee),
                  try await Membership.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == id).count() == 1
            else { throw AtiendeError(.notFound, code: "member_not_found", "assignee must be 'me', 'none' or a member of this workspace") }
            checked.assignee = id.uuidString
        }
        if let team = actions.team, team != "none" {
            guard let id = UUID(uuidString: team),
                  try await Team.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id).count() == 1
            else { throw AtiendeError(.notFound, code: "team_not_found", "team must be 'none' or a team of this workspace") }
            checked.team = id.uuidString
        }
        return checked
    }

    private func save(_ macro: Macro, actions: MacroActions, changes: [String], event: EventType, actor: UUID) async throws {
        let workspaceID = macro.$workspace.id
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            macro.actionsJSON = try EventLog.json(try await check(actions, owner: macro.ownerID, workspace: workspaceID, on: tx.db))
            macro.updatedAt = tx.now
            try await macro.save(on: tx.db)
            try await EventLog.append(event, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: try macro.requireID(), name: macro.name,
                                                                  detail: macro.isShared ? "shared" : "personal", changes: changes), in: tx)
        }
    }
}
