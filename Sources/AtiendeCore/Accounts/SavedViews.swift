import FluentKit
import Foundation

/// An agent's saved inbox views, each change with its event.
public enum SavedViews {
    public static func create(_ view: SavedView, store: Store) async throws {
        try await store.write { tx in
            try await tx.lockWorkspace(view.$workspace.id)
            view.createdAt = tx.now
            try await view.create(on: tx.db)
            try await EventLog.append(.savedViewCreated, workspace: view.$workspace.id, actor: view.userID,
                                      payload: RecordEventPayload(id: try view.requireID(), name: view.name), in: tx)
        }
    }

    public static func delete(_ view: SavedView, actor: UUID, store: Store) async throws {
        let id = try view.requireID()
        try await store.write { tx in
            try await tx.lockWorkspace(view.$workspace.id)
            try await view.delete(on: tx.db)
            try await EventLog.append(.savedViewDeleted, workspace: view.$workspace.id, actor: actor, payload: RecordEventPayload(id: id, name: view.name), in: tx)
        }
    }
}
