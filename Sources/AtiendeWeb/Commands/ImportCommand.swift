import AtiendeChannels
import AtiendeCore
import Fluent
import Foundation
import Vapor

/// `atiende import zendesk|freshdesk|chatwoot|csv --from DIR --inbox NAME [--workspace SLUG] [--dry-run]`.
struct ImportCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "format", help: "zendesk, freshdesk, chatwoot or csv") var format: String
        @Option(name: "from", help: "the export's folder (its layout: docs/import.md)") var from: String?
        @Option(name: "inbox", help: "the inbox the conversations go to: its name or id") var inbox: String?
        @Option(name: "workspace", help: "the workspace's slug (needed when there are several)") var workspace: String?
        @Flag(name: "dry-run", help: "count what would be imported and change nothing") var dryRun: Bool
    }
    var help: String { "Imports another help desk's export: people, conversations, messages and attachments." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let format = ImportFormat(rawValue: signature.format.lowercased()) else {
            throw AtiendeError.invalid("the format must be one of \(ImportFormat.allCases.map(\.rawValue).joined(separator: ", "))", code: "invalid_format")
        }
        guard let from = signature.from else { throw AtiendeError.invalid("--from names the export's folder", code: "invalid_folder") }
        let services = context.application.atiende
        let inbox = try await Self.inbox(signature.inbox, workspace: signature.workspace, on: services.store.db)
        let history = try format.read(URL(fileURLWithPath: from, isDirectory: true))
        let bar = ProgressBar()
        let report = try await services.importer.run(history, format: format, inbox: inbox, dryRun: signature.dryRun, progress: bar.show)
        bar.finish()
        try await services.store.write { tx in try await Importer.finish(report, inbox: inbox, actor: nil, in: tx) }
        for line in Self.lines(report) { context.console.print(line) }
    }

    /// The inbox by id or exact name, in the one workspace or the named one.
    static func inbox(_ named: String?, workspace slug: String?, on db: any Database) async throws -> Inbox {
        var workspaces = Workspace.query(on: db)
        if let slug { workspaces = workspaces.filter(\.$slug == slug) }
        let found = try await workspaces.all()
        guard let workspace = found.first else { throw AtiendeError.notFound("workspace '\(slug ?? "")'") }
        guard found.count == 1 else { throw AtiendeError.invalid("there are several workspaces: name one with --workspace", code: "invalid_workspace") }
        let inboxes = try await Inbox.query(on: db).filter(\.$workspace.$id == workspace.requireID()).all()
        guard let named else {
            throw AtiendeError.invalid("--inbox names the inbox the conversations go to: \(inboxes.map(\.name).joined(separator: ", "))", code: "invalid_inbox")
        }
        guard let inbox = inboxes.first(where: { $0.id?.uuidString.lowercased() == named.lowercased() || $0.name == named }) else {
            throw AtiendeError.notFound("inbox '\(named)'")
        }
        return inbox
    }

    /// The final report, as the terminal and the admin page show it.
    static func lines(_ r: Importer.Report) -> [String] {
        ["\(r.dryRun ? "Would import" : "Imported") from \(r.source): "
            + "\(r.contactsCreated) new contacts, \(r.contactsMatched) joined to existing ones, \(r.contactsKnown) imported before; "
            + "\(r.conversationsCreated) new conversations, \(r.conversationsExtended) with new messages, \(r.conversationsKnown) unchanged; "
            + "\(r.messagesCreated) messages (\(r.messagesKnown) imported before); "
            + "\(r.attachmentsStored) attachments stored, \(r.attachmentsFailed) failed."]
            + (r.problems.isEmpty ? [] : ["\(r.problems.count) problems:"] + r.problems.map { "  \($0.record): \($0.message)" })
    }
}

extension AtiendeServices {
    var importer: Importer { imports.importer }
}
