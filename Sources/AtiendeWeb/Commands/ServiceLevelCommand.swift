import AtiendeCore
import Fluent
import Vapor

/// `atiende sla recompute` gives every active conversation its deadlines again (after bulk policy or hours
/// changes, or an import); `atiende sla scan` runs one deadline-scan pass now. Both say how long they took.
struct ServiceLevelCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "recompute | scan") var action: String
        @Option(name: "repeat", help: "scan: passes to run (default 1)") var repeatCount: Int?
    }
    var help: String { "Recomputes service-level deadlines, or runs the deadline scan once." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await SchemaMigration.run(app)
        let store = app.atiende.store
        switch signature.action {
        case "recompute":
            let started = Date()
            var total = 0
            for workspace in try await Workspace.query(on: store.db).all() {
                let id = try workspace.requireID()
                total += try await Conversation.query(on: store.db).filter(\.$workspace.$id == id).filter(\.$status ~~ ConversationStatus.active).count()
                var after: String?
                repeat {
                    let from = after
                    after = try await store.write { tx in try await ServiceLevels.retarget(workspace: id, inbox: nil, after: from, in: tx) }
                } while after != nil
            }
            let seconds = Date().timeIntervalSince(started)
            context.console.print("Recomputed \(total) active conversations in \(String(format: "%.2f", seconds)) s "
                                  + "(\(Int(Double(total) / max(seconds, 0.001))) conversations/s).")
        case "scan":
            let scanner = ServiceLevelScanner(store: store)
            for _ in 0..<max(1, signature.repeatCount ?? 1) {
                let started = DispatchTime.now().uptimeNanoseconds
                let sent = try await scanner.scan()
                let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
                context.console.print("scan: \(sent) alerts in \(micros) µs")
            }
        default:
            throw AtiendeError.invalid("unknown action '\(signature.action)': use recompute or scan", code: "invalid_action")
        }
    }
}
