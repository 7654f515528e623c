@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import SQLKit
import Testing

/// The sample exports of `Tests/Samples/import`, imported through the command's own path with their attachments on a
/// real loopback server: a dry run changes nothing; the first run writes what each sample holds, joins the customer who
/// already wrote here, keeps the original times, reports the malformed records; a second run writes nothing new, and
/// fetches the attachment that failed the first time.
@Suite("Import from another help desk")
struct ImportTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/import")
    static let pdf = Data("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".utf8)
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 60))

    struct Expected: Sendable {
        var created: Int, matched: Int, conversations: Int, messages: Int, files: Int, failed: Int
        /// Words of the record each problem names, in order.
        var problems: [String]
    }

    static let expected: [ImportFormat: Expected] = [
        .zendesk: .init(created: 2, matched: 1, conversations: 3, messages: 7, files: 2, failed: 1,
                        problems: ["ticket 102 comment 5103", "ticket 104", "perdido.pdf"]),
        .freshdesk: .init(created: 1, matched: 1, conversations: 3, messages: 6, files: 2, failed: 0,
                          problems: ["contact #3", "ticket 2003", "ticket 2004"]),
        .chatwoot: .init(created: 1, matched: 1, conversations: 2, messages: 5, files: 2, failed: 0, problems: ["conversation 303"]),
        .csv: .init(created: 2, matched: 1, conversations: 2, messages: 5, files: 2, failed: 0,
                    problems: ["conversations.csv line 8", "conversation T-3"]),
    ]

    /// A copy of a sample whose file links lead to `base`.
    static func sample(_ format: ImportFormat, linkedTo base: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: samples.appendingPathComponent(format.rawValue), to: folder)
        for path in FileManager.default.subpaths(atPath: folder.path) ?? [] where path.hasSuffix(".json") || path.hasSuffix(".csv") {
            let url = folder.appendingPathComponent(path)
            var text = try String(contentsOf: url, encoding: .utf8)
            for host in ["https://tiendaluna.zendesk.com", "https://tiendaluna.freshdesk.com", "https://app.chatwoot.com", "https://archivos.tiendaluna.cl"] {
                text = text.replacingOccurrences(of: host, with: base)
            }
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return folder
    }

    static func count(_ app: TestApp, _ query: SQLQueryString) async throws -> Int {
        try await app.store.sql.raw("SELECT COUNT(*) AS n FROM " + query).first()?.decode(column: "n", as: Int.self) ?? -1
    }

    @Test("a sample imported twice: the same records once, original times, attachments, problems reported", arguments: ImportFormat.allCases)
    func importTwice(_ format: ImportFormat) async throws {
        let files = try await WebhookReceiver.start()
        files.serve("boleta-4471.pdf", type: "application/pdf", data: Self.pdf)
        files.serve("seguimiento.png", type: "image/png", data: Self.png)
        defer { Task { try? await files.stop() } }
        let expected = try #require(Self.expected[format])
        try await withApp { app in
            // The agent of the samples is this workspace's admin; Rodrigo has already written here by email.
            let workspace = try await WorkspaceFixture.make(app, email: "paula@tiendaluna.cl")
            let api = try await workspace.apiInbox(app)
            #expect(try await api.post(app, APIInbox.message("live-1", from: ["id": "r-1", "name": "Rodrigo", "email": "rodrigo.fuentes@example.cl"])).status == 200)
            let inbox = try #require(try await Inbox.find(api.id, on: app.store.db))
            let history = try format.read(try Self.sample(format, linkedTo: files.base))
            #expect(history.problems.count <= expected.problems.count)

            let dry = try await app.services.importer.run(history, format: format, inbox: inbox, dryRun: true)
            #expect(dry.conversationsCreated == expected.conversations && dry.messagesCreated == expected.messages)
            #expect(dry.contactsCreated == expected.created && dry.contactsMatched == expected.matched)
            #expect(try await Self.count(app, "conversations") == 1)
            #expect(try await Self.count(app, "import_records") == 0)

            let first = try await app.services.importer.run(history, format: format, inbox: inbox, dryRun: false)
            try await app.store.write { tx in try await Importer.finish(first, inbox: inbox, actor: workspace.adminID, in: tx) }
            #expect(first.contactsCreated == expected.created && first.contactsMatched == expected.matched, "\(first)")
            #expect(first.conversationsCreated == expected.conversations && first.messagesCreated == expected.messages, "\(first)")
            #expect(first.attachmentsStored == expected.files && first.attachmentsFailed == expected.failed, "\(first)")
            #expect(first.problems.map(\.record).count == expected.problems.count, "\(first.problems)")
            for (problem, words) in zip(first.problems, expected.problems) { #expect(problem.record.contains(words), "\(first.problems)") }

            // Rodrigo is one contact, with his live conversation and his imported ones.
            #expect(try await Self.count(app, "contacts WHERE email = 'rodrigo.fuentes@example.cl'") == 1)
            let rodrigo = try #require(try await Contact.query(on: app.store.db).filter(\.$email == "rodrigo.fuentes@example.cl").first())
            let his = try await Conversation.query(on: app.store.db).filter(\.$contact.$id == rodrigo.requireID()).sort(\.$number).all()
            #expect(his.count == 2)
            // The taladro's conversation as the source had it: its times, its status, its agent, its note, its files.
            let taladro = try #require(his.last)
            #expect(taladro.createdAt == ISO8601.date("2024-06-03T13:05:11Z") && taladro.status == .resolved)
            #expect(taladro.firstResponseAt == ISO8601.date("2024-06-03T14:10:30Z"))
            #expect(taladro.$assignee.id == workspace.adminID && taladro.anonymisedAt == nil)
            #expect(taladro.firstResponseDueAt == nil && taladro.slaDueAt == nil)
            let messages = try await Message.query(on: app.store.db).filter(\.$conversation.$id == taladro.requireID()).sort(\.$createdAt).all()
            #expect(messages.map(\.kind) == [.incoming, .note, .outgoing, .incoming])
            #expect(messages.first?.createdAt == ISO8601.date("2024-06-03T13:05:11Z") && messages[2].senderID == workspace.adminID)
            #expect(messages.first?.text.contains("sin la batería") == true && taladro.messageCount == 4)
            let attachments = try await Attachment.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).sort(\.$filename).all()
            #expect(attachments.map(\.filename) == ["boleta-4471.pdf", "seguimiento.png"])
            #expect(try app.services.files.read(attachments[0].sha256) == Self.pdf)
            #expect(try await Self.count(app, "conversations WHERE imported_at IS NOT NULL") == expected.conversations)

            // A service-level policy now does not start clocks on the imported conversations still open.
            #expect(try await app.request(.POST, "\(workspace.path)/sla-policies", token: workspace.token, json: [
                "name": "Estándar", "is_default": true,
                "rules": ["rules": [["targets": ["first_response": 3600]]], "business_time": false] as [String: Any]]).status == 201)
            #expect(try await Self.count(app, "conversations WHERE imported_at IS NOT NULL AND sla_clocks IS NOT NULL") == 0)
            #expect(try await Self.count(app, "conversations WHERE imported_at IS NULL AND sla_clocks IS NOT NULL") == 1)

            // Again, the missing file now served: nothing twice, only that file.
            files.serve("perdido.pdf", type: "application/pdf", data: Self.pdf)
            func counts() async throws -> [Int] {
                [try await Self.count(app, "contacts"), try await Self.count(app, "conversations"), try await Self.count(app, "messages")]
            }
            let before = try await counts()
            let second = try await app.services.importer.run(try format.read(try Self.sample(format, linkedTo: files.base)), format: format,
                                                             inbox: inbox, dryRun: false)
            try await app.store.write { tx in try await Importer.finish(second, inbox: inbox, actor: nil, in: tx) }
            #expect(second.contactsCreated == 0 && second.contactsKnown == expected.created + expected.matched, "\(second)")
            #expect(second.conversationsCreated == 0 && second.messagesCreated == 0 && second.messagesKnown == expected.messages, "\(second)")
            #expect(second.attachmentsStored == expected.failed && second.attachmentsFailed == 0, "\(second)")
            #expect(try await counts() == before)
            #expect(try await Self.count(app, "attachments") == expected.files + expected.failed)
            #expect(try await Self.count(app, "events WHERE type = 'import.finished'") == 2)
        }
    }

    @Test("an export read again later: new comments join their conversations, which take the source's status; an erased customer's stay out; slices add up")
    func laterExport() async throws {
        let files = try await WebhookReceiver.start()
        defer { Task { try? await files.stop() } }
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app, email: "paula@tiendaluna.cl")
            let api = try await workspace.apiInbox(app)
            let inbox = try #require(try await Inbox.find(api.id, on: app.store.db))
            let folder = try Self.sample(.zendesk, linkedTo: files.base)
            let history = try ImportFormat.zendesk.read(folder)
            // One record per slice (a deadline already past): the slices add up to one whole run.
            var report = try await app.services.importer.run(history, format: .zendesk, inbox: inbox, dryRun: false, until: .distantPast)
            var slices = 1
            while let next = report.next {
                report.add(try await app.services.importer.run(history, format: .zendesk, inbox: inbox, dryRun: false, from: next, until: .distantPast))
                slices += 1
            }
            #expect(slices == 1 + 3 && report.conversationsCreated == 3 && report.messagesCreated == 7 && report.contactsCreated == 3, "\(report)")
            #expect(report.problems.map(\.code) == [.noTime, .unknownCustomer, .download, .download, .download], "\(report.problems)")

            // Later: an agent's answer on the ticket still open, now solved; a comment for the ticket of a customer erased here.
            func edit(_ path: String, _ change: (inout [String: Any]) -> Void) throws {
                let url = folder.appendingPathComponent(path)
                var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
                change(&object)
                try JSONSerialization.data(withJSONObject: object).write(to: url)
            }
            try edit("comments/102.json") { object in
                object["comments"] = (object["comments"] as? [Any] ?? []) + [["id": 5104, "author_id": 900001, "plain_body": "Sí, te la enviamos hoy.",
                                                                               "public": true, "created_at": "2024-06-11T09:00:00Z"]]
            }
            try edit("tickets.json") { object in
                object["tickets"] = (object["tickets"] as? [[String: Any]] ?? []).map { ticket in
                    var ticket = ticket
                    if ExportJSON.id(ticket["id"]) == "102" { ticket["status"] = "solved"; ticket["updated_at"] = "2024-06-11T09:05:00Z" }
                    return ticket
                }
            }
            try edit("comments/101.json") { object in
                object["comments"] = (object["comments"] as? [Any] ?? []) + [["id": 5005, "author_id": 900002, "plain_body": "Mi RUT es 9.876.543-2",
                                                                               "public": true, "created_at": "2024-06-05T10:00:00Z"]]
            }
            let rodrigo = try #require(try await Contact.query(on: app.store.db).filter(\.$email == "rodrigo.fuentes@example.cl").first())
            _ = try await app.services.privacy.erase(try rodrigo.requireID(), workspace: workspace.id, actor: workspace.adminID)

            let later = try await app.services.importer.run(try ImportFormat.zendesk.read(folder), format: .zendesk, inbox: inbox, dryRun: false)
            #expect(later.conversationsExtended == 1 && later.messagesCreated == 1 && later.conversationsCreated == 0, "\(later)")
            #expect(later.problems.contains { $0.record == "conversation 101" && $0.code == .erased }, "\(later.problems)")
            let factura = try #require(try await Conversation.query(on: app.store.db).filter(\.$subject == "¿Hacen factura a empresa?").first())
            #expect(factura.status == .resolved && factura.messageCount == 3 && factura.waitingSince == nil, "\(factura.status)")
            #expect(factura.firstResponseAt == ISO8601.date("2024-06-11T09:00:00Z") && factura.lastMessageAt == ISO8601.date("2024-06-11T09:00:00Z"))
            #expect(try await Self.count(app, "messages WHERE text LIKE '%9.876.543-2%'") == 0)
        }
    }
}
