import AtiendeCore
import Fluent
import Vapor

/// `atiende metrics rebuild [--workspace slug]`: the rollups computed again from the event log (after an import, a
/// restore, or a change to what a metric means), and how long it took; and the inbox's counts from the conversations.
struct MetricsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "rebuild") var action: String
        @Option(name: "workspace", help: "only this workspace (its slug)") var workspace: String?
    }
    var help: String { "Rebuilds the metric rollups from the event log." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "rebuild" else {
            throw AtiendeError.invalid("unknown action '\(signature.action)': use rebuild", code: "invalid_action")
        }
        let app = context.application
        try await SchemaMigration.run(app)
        let store = app.atiende.store
        var query = Workspace.query(on: store.db)
        if let slug = signature.workspace { query = query.filter(\.$slug == slug) }
        let workspaces = try await query.all()
        if let slug = signature.workspace, workspaces.isEmpty { throw AtiendeError.notFound("workspace '\(slug)'") }
        for workspace in workspaces {
            let started = Date()
            let events = try await MetricsRebuild.run(workspace: try workspace.requireID(), store: store)
            let seconds = Date().timeIntervalSince(started)
            context.console.print("\(workspace.slug): \(events) events replayed in \(String(format: "%.2f", seconds)) s "
                                  + "(\(Int(Double(events) / max(seconds, 0.001))) events/s).")
            // The inbox's live counts too, from the conversations.
            let id = try workspace.requireID()
            try await store.write { tx in try await InboxCounts.rebuild(workspace: id, on: tx.sql) }
        }
    }
}
