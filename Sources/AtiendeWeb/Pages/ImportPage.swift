import AtiendeCore
import Foundation
import Plot
import Vapor
import ZIPFoundation

/// Settings → Import: an admin uploads another help desk's export (its folder as a ZIP, or a spreadsheet), chooses the
/// inbox, and follows the run — queued, its progress, its report and the records it could not take. The export is read
/// before anything is queued, so an unreadable one is refused at once; the work itself is `ImportRuns`' jobs.
enum ImportPage {
    /// The file each format's folder is found by, inside the ZIP.
    static let landmarks: [ImportFormat: String] = [.zendesk: "tickets.json", .freshdesk: "tickets.json", .chatwoot: "conversations.json",
                                                    .csv: "conversations.csv"]
    static let maxUnpacked: UInt64 = 2 << 30
    static let maxEntries = 200_000

    static func show(_ req: Request) async throws -> Response {
        try await page(req, desk: try await req.desk(minimum: .admin))
    }

    static func page(_ req: Request, desk: Desk, problem: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let t = desk.t
        let runs = try await req.atiende.imports.list(workspace: desk.workspaceID)
        let active = runs.contains { $0.status == .queued || $0.status == .running }
        let content: Node<HTML.BodyContext> = .div(.class("settings import"),
            .h1(.text(t("import.title"))),
            .p(.class("hint"), .text(t("import.intro"))),
            .if(desk.inboxes.isEmpty, .p(.class("form-error"), .id("import-no-inbox"),
                .a(.href(SiteURL.settings(desk.slug, .inboxes).path), .text(t("import.no_inbox"))))),
            .unwrap(problem) { .p(.class("form-error"), .role("alert"), .id("import-problem"), .text($0)) },
            .form(.class("stack"), .id("import-form"), .method(.post), .action(SiteURL.imports(desk.slug).path),
                  .attribute(named: "enctype", value: "multipart/form-data"),
                  .csrf(desk.csrf),
                  .label(.span(.text(t("import.format"))),
                         .dropdown(.name("format"), .forEach(ImportFormat.allCases) { .option(.value($0.rawValue), .text(t("import.format.\($0.rawValue)"))) })),
                  .label(.span(.text(t("import.inbox"))),
                         .dropdown(.name("inbox_id"), .required(true), .forEach(desk.inboxes) { inbox in
                             .option(.value(inbox.id?.uuidString.lowercased() ?? ""), .text(inbox.name))
                         })),
                  .label(.span(.text(t("import.file"))), .field(.type(.file), .name("export"), .required(true),
                                                                .attribute(named: "accept", value: ".zip,.csv"))),
                  .label(.class("check"), .field(.type(.checkbox), .name("dry_run"), .value("1")), .span(.text(t("import.dry_run")))),
                  .button(.type(.submit), .class("primary"), .text(t("import.start")))),
            .p(.class("hint"), .text(t("import.cli"))),
            .h2(.text(t("import.runs"))),
            .if(runs.isEmpty, .p(.class("hint"), .text(t("import.none")))),
            .div(.id("import-runs"), .unwrap(active ? "5" : nil) { .data("reload-after", $0) },
                 .forEach(runs) { run(t, desk: desk, $0) }))
        return try await HTMLPage(html: Layout.desk(desk, title: t("import.title"), page: "settings", content), status: status).encodeResponse(for: req)
    }

    static func run(_ t: Localizer, desk: Desk, _ run: ImportRun) -> Node<HTML.BodyContext> {
        let report = run.report
        let done = report.map { $0.next ?? $0.total } ?? 0
        let who = run.actorID.flatMap { id in desk.members.first { $0.user.id == id }?.user.name } ?? ""
        let inbox = desk.inboxes.first { $0.id == run.inboxID }?.name ?? ""
        return .section(.class("import-run"), .data("status", run.status.rawValue),
            .h3(.text("\(t("import.format.\(run.format.rawValue)")) → \(inbox)"),
                .if(run.dryRun, .span(.class("badge"), .text(t("import.dry")))),
                .span(.class("badge status"), .text(t("import.status.\(run.status.rawValue)")))),
            .p(.class("hint"), .text("\(desk.format.dateTime(run.createdAt)) · \(who)")),
            .if(run.status == .queued || run.status == .running,
                .element(named: "progress", nodes: [.attribute(named: "max", value: String(max(report?.total ?? 1, 1))),
                                                    .attribute(named: "value", value: String(done)), .text("\(done)")])),
            .unwrap(report) { lines(t, $0) },
            .unwrap(run.error) { .p(.class("form-error"), .text(t("import.failed", $0))) })
    }

    /// The report in words, and its problems, each naming the record in the source's terms.
    static func lines(_ t: Localizer, _ r: Importer.Report) -> Node<HTML.BodyContext> {
        .group(
            .ul(.class("import-report"),
                .li(.text(t("import.report.contacts", r.contactsCreated, r.contactsMatched, r.contactsKnown))),
                .li(.text(t("import.report.conversations", r.conversationsCreated, r.conversationsExtended, r.conversationsKnown))),
                .li(.text(t("import.report.messages", r.messagesCreated, r.messagesKnown))),
                // A dry run downloads nothing: it has no attachments to tell of.
                .if(!r.dryRun, .li(.text(t("import.report.attachments", r.attachmentsStored, r.attachmentsFailed))))),
            .if(!r.problems.isEmpty, .details(.class("import-problems"),
                .summary(.text(t("import.report.problems", r.problems.count))),
                .ul(.forEach(r.problems) { .li(.strong(.text($0.record)), .text(": " + t("import.problem.\($0.code.rawValue)", $0.detail ?? ""))) }))))
    }

    struct Form: Content {
        var format: String?
        var inbox_id: String?
        var dry_run: String?
        var export: File?
    }

    static func start(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .admin)
        let t = desk.t
        func refuse(_ code: String) async throws -> Response {
            try await page(req, desk: desk, problem: t("import.error.\(code)"), status: .badRequest)
        }
        guard let form = try? req.content.decode(Form.self) else { return try await refuse("form") }
        guard let format = form.format.flatMap(ImportFormat.init(rawValue:)) else { return try await refuse("format") }
        // Only this workspace's inboxes are offered, and only they are taken.
        guard let inbox = desk.inboxes.first(where: { $0.id != nil && $0.id?.uuidString.lowercased() == form.inbox_id?.lowercased() }) else {
            return try await refuse("inbox")
        }
        guard let file = form.export, file.data.readableBytes > 0 else { return try await refuse("file") }
        let id = UUID()
        let folder = req.atiende.imports.folder(id)
        do {
            try unpack(Data(file.data.readableBytesView), named: file.filename, format: format, into: folder)
            _ = try format.read(folder)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            let why = (error as? ExportJSON.Unreadable).map { t("import.unreadable.\($0.reason.rawValue)", $0.file, $0.detail ?? "") } ?? "\(error)"
            return try await page(req, desk: desk, problem: t("import.error.unreadable", why), status: .badRequest)
        }
        try await req.atiende.imports.start(id, format: format, inbox: inbox, dryRun: form.dry_run == "1", actor: desk.userID)
        req.atiende.jobs.nudge()
        return req.redirect(to: SiteURL.imports(desk.slug).path, redirectType: .normal)
    }

    /// The export into `folder`: a ZIP's files under the folder that holds the format's landmark file (whatever folders
    /// the ZIP wraps it in), or a spreadsheet as `conversations.csv`. Paths that climb out, links and oversized
    /// archives are refused.
    static func unpack(_ data: Data, named name: String, format: ImportFormat, into folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard data.starts(with: [0x50, 0x4B]) else {
            guard format == .csv else { throw ExportJSON.Unreadable(file: name, .notZip) }
            try data.write(to: folder.appendingPathComponent(name.lowercased().hasPrefix("contacts") ? "contacts.csv" : "conversations.csv"))
            return
        }
        let archive = try Archive(data: data, accessMode: .read)
        let landmark = landmarks[format] ?? ""
        let files = archive.filter { $0.type == .file && !$0.path.hasPrefix("__MACOSX/") }
        guard files.count <= maxEntries, files.reduce(UInt64(0), { $0 + UInt64($1.uncompressedSize) }) <= maxUnpacked else {
            throw ExportJSON.Unreadable(file: name, .tooLarge)
        }
        guard let found = files.map(\.path).filter({ $0 == landmark || $0.hasSuffix("/" + landmark) }).min(by: { $0.count < $1.count }) else {
            throw ExportJSON.Unreadable(file: landmark, .missing)
        }
        let root = String(found.dropLast(landmark.count))
        // The sizes a ZIP declares may lie: the bytes written are counted too.
        var written: UInt64 = 0
        for entry in files where entry.path.hasPrefix(root) {
            let relative = String(entry.path.dropFirst(root.count))
            let parts = relative.split(separator: "/")
            guard !relative.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0 == "." }), !parts.isEmpty else {
                throw ExportJSON.Unreadable(file: name, .badPath, String(entry.path.prefix(120)))
            }
            let target = parts.reduce(folder) { $0.appendingPathComponent(String($1)) }
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: target.path, contents: nil), let out = FileHandle(forWritingAtPath: target.path) else {
                throw ExportJSON.Unreadable(file: name, .unwritable, String(relative.prefix(120)))
            }
            defer { try? out.close() }
            _ = try archive.extract(entry) { chunk in
                written += UInt64(chunk.count)
                guard written <= maxUnpacked else { throw ExportJSON.Unreadable(file: name, .tooLarge) }
                out.write(chunk)
            }
        }
    }
}
