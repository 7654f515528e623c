import Foundation
import SQLKit

/// Writes another help desk's history (`ImportedHistory`) into a workspace's inbox. Every record it writes is keyed in
/// `import_records` by its source and source id in the same transaction as the record, so a second run — or one after a
/// crash — writes only what is not there yet: new people, new conversations, new messages of conversations it holds,
/// and attachments that failed before. People are contacts, joined to an existing contact when an email or phone is
/// already someone's. Conversations keep their original times, are marked `imported_at`, and get no service-level
/// clocks (nor do they reach the metrics, which measure the service given here). Attachments are downloaded through
/// `fetch` (the outbound guard's client) before each transaction; one that fails is reported and the rest goes on.
public struct Importer: Sendable {
    public typealias Fetch = @Sendable (String) async throws -> (data: Data, contentType: String?)
    public typealias Progress = @Sendable (String, Double) -> Void

    public struct Report: Codable, Sendable, Equatable {
        public var source: String
        public var dryRun: Bool
        public var contactsCreated = 0, contactsMatched = 0, contactsKnown = 0
        public var conversationsCreated = 0, conversationsExtended = 0, conversationsKnown = 0
        public var messagesCreated = 0, messagesKnown = 0
        public var attachmentsStored = 0, attachmentsFailed = 0
        /// The export's conversations, and the first one not yet looked at when the run stopped at its deadline.
        public var total = 0
        public var next: Int?
        public var problems: [ImportedHistory.Problem] = []

        enum CodingKeys: String, CodingKey {
            case source, problems, dryRun = "dry_run", contactsCreated = "contacts_created", contactsMatched = "contacts_matched",
                 contactsKnown = "contacts_known", conversationsCreated = "conversations_created",
                 conversationsExtended = "conversations_extended", conversationsKnown = "conversations_known",
                 messagesCreated = "messages_created", messagesKnown = "messages_known", attachmentsStored = "attachments_stored",
                 attachmentsFailed = "attachments_failed", total, next
        }

        /// A run's report so far with the next slice's added.
        public mutating func add(_ other: Report) {
            contactsCreated += other.contactsCreated; contactsMatched += other.contactsMatched; contactsKnown += other.contactsKnown
            conversationsCreated += other.conversationsCreated; conversationsExtended += other.conversationsExtended
            conversationsKnown += other.conversationsKnown; messagesCreated += other.messagesCreated; messagesKnown += other.messagesKnown
            attachmentsStored += other.attachmentsStored; attachmentsFailed += other.attachmentsFailed
            total = other.total
            next = other.next
            problems = Array((problems + other.problems).prefix(Importer.maxProblems))
        }
    }

    public static let contactChunk = 200
    public static let maxProblems = 1000

    let store: Store
    let files: FileStore
    let fetch: Fetch

    public init(store: Store, files: FileStore, fetch: @escaping Fetch) {
        self.store = store
        self.files = files
        self.fetch = fetch
    }

    /// Keys of what a source's earlier runs wrote: `kind:source id` → the row's id.
    typealias Keys = [String: UUID]

    /// What a run knows while it goes: the keys of what is there, the members by source id, the workspace's country.
    struct Context {
        var keys: Keys
        let agents: [String: UUID?]
        let country: String?
        let source: String
        let inbox: Inbox
        let dryRun: Bool
    }

    /// Imports the export's records from the `start`th on — its people first, then its conversations, so a run's
    /// position counts both — until they end or `deadline` passes; the report's `next` says where to go on. The
    /// reader's problems are in the report of the run that starts at 0.
    public func run(_ history: ImportedHistory, format: ImportFormat, inbox: Inbox, dryRun: Bool, from start: Int = 0, until deadline: Date? = nil,
                    progress: Progress = { _, _ in }) async throws -> Report {
        let workspaceID = inbox.$workspace.id
        let people = history.people.count, total = people + history.conversations.count
        var report = Report(source: format.rawValue, dryRun: dryRun, total: total,
                            problems: start == 0 ? Array(history.problems.prefix(Self.maxProblems)) : [])
        let members = try await self.members(workspace: workspaceID)
        var context = Context(
            keys: try await keys(source: format.rawValue, workspace: workspaceID),
            agents: history.agents.mapValues { person in person.email.flatMap { members[$0.lowercased()] } },
            country: try await store.sql.raw("SELECT default_country_code FROM workspaces WHERE id = \(bind: workspaceID)")
                .first()?.decode(column: "default_country_code", as: String?.self),
            source: format.rawValue, inbox: inbox, dryRun: dryRun)
        var position = start
        while position < total {
            if let deadline, position > start, Date() >= deadline {
                report.next = position
                break
            }
            if position < people {
                // People, a chunk per transaction.
                let chunk = Array(history.people[position..<min(position + Self.contactChunk, people)])
                try await importPeople(chunk, context: &context, report: &report)
                position += chunk.count
                progress("contacts", Double(position) / Double(max(people, 1)))
            } else {
                try await importConversation(history.conversations[position - people], context: &context, report: &report)
                position += 1
                progress("conversations", Double(position - people) / Double(max(total - people, 1)))
            }
        }
        return report
    }

    func importPeople(_ chunk: [ImportedHistory.Person], context: inout Context, report: inout Report) async throws {
        let fresh = chunk.filter { context.keys["contact:\($0.sourceID)"] == nil }
        report.contactsKnown += chunk.count - fresh.count
        guard !fresh.isEmpty else { return }
        let written = try await writeContacts(fresh, source: context.source, workspace: context.inbox.$workspace.id, country: context.country,
                                              dryRun: context.dryRun)
        context.keys.merge(written.keys) { a, _ in a }
        report.contactsCreated += written.created
        report.contactsMatched += written.matched
    }

    /// One conversation: the messages and files it lacks downloaded first, then written in one transaction with its keys.
    func importConversation(_ conversation: ImportedHistory.Conversation, context: inout Context, report: inout Report) async throws {
        let record = "conversation \(conversation.sourceID)"
        let keys = context.keys
        guard let contactID = keys["contact:\(conversation.customer)"] ?? (context.dryRun ? UUID() : nil) else {
            return report.problem(record, .customerMissing)
        }
        let existing = keys["conversation:\(conversation.sourceID)"]
        let messages = conversation.messages.filter { keys["message:\($0.sourceID)"] == nil }
        // Files missing from messages already imported (a download that failed before) are tried again.
        let retried = conversation.messages.compactMap { message in keys["message:\(message.sourceID)"].map { (message, $0) } }
            .flatMap { message, id in message.files.filter { keys["file:\($0.sourceID)"] == nil }.map { (message: id, file: $0) } }
        report.messagesKnown += conversation.messages.count - messages.count
        if existing != nil && messages.isEmpty && (retried.isEmpty || context.dryRun) {
            report.conversationsKnown += 1
            return
        }
        if context.dryRun {
            if existing == nil { report.conversationsCreated += 1 } else { report.conversationsExtended += 1 }
            report.messagesCreated += messages.count
            return
        }
        var downloaded: [String: AttachmentSnapshot] = [:]
        for file in messages.flatMap(\.files) + retried.map(\.file) {
            do { downloaded[file.sourceID] = try await download(file) } catch {
                report.attachmentsFailed += 1
                report.problem("\(record) attachment \(file.filename)", .download, "\(error)")
            }
        }
        switch try await writeConversation(conversation, existing: existing, messages: messages, retried: retried, downloaded: downloaded,
                                           contact: contactID, agents: context.agents, inbox: context.inbox, source: context.source) {
        case .gone: report.problem(record, .deleted)
        case .erased: report.problem(record, .erased)
        case .written(let written):
            context.keys.merge(written) { a, _ in a }
            if existing == nil { report.conversationsCreated += 1 } else if !messages.isEmpty { report.conversationsExtended += 1 }
            else { report.conversationsKnown += 1 }
            report.messagesCreated += messages.count
            report.attachmentsStored += downloaded.count
        }
    }

    /// Conversations that live here: not imported, or written to by the customer since they were (routing and the
    /// service-level clocks leave imported history alone until then). `table` qualifies the columns.
    public static func live(_ table: String = "") -> String {
        let t = table.isEmpty ? "" : table + "."
        return "(\(t)imported_at IS NULL OR \(t)last_incoming_at > \(t)imported_at)"
    }

    /// The audit entry of a finished run: the counts, never the problems' wording (which may quote a customer).
    public static func finish(_ report: Report, inbox: Inbox, actor: UUID?, in tx: WriteTransaction) async throws {
        guard !report.dryRun else { return }
        let entry = RecordEventPayload(id: try inbox.requireID(), name: inbox.name, detail: report.source, changes: [
            "conversations=\(report.conversationsCreated + report.conversationsExtended)", "messages=\(report.messagesCreated)",
            "problems=\(report.problems.count)"])
        try await EventLog.append(.importFinished, workspace: inbox.$workspace.id, actor: actor, payload: entry, in: tx)
    }

    func keys(source: String, workspace: UUID) async throws -> Keys {
        var keys: Keys = [:]
        for row in try await store.sql.raw("""
            SELECT kind, source_id, target_id FROM import_records WHERE workspace_id = \(bind: workspace) AND source = \(bind: source)
            """).all() {
            keys["\(try row.decode(column: "kind", as: String.self)):\(try row.decode(column: "source_id", as: String.self))"]
                = try row.decode(column: "target_id", as: UUID.self)
        }
        return keys
    }

    /// The workspace's members by lowercased email.
    func members(workspace: UUID) async throws -> [String: UUID] {
        var members: [String: UUID] = [:]
        for row in try await store.sql.raw("""
            SELECT u.id AS id, u.email AS email FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.workspace_id = \(bind: workspace)
            """).all() {
            members[try row.decode(column: "email", as: String.self).lowercased()] = try row.decode(column: "id", as: UUID.self)
        }
        return members
    }

    func download(_ file: ImportedHistory.File) async throws -> AttachmentSnapshot {
        let (data, served) = try await fetch(file.url)
        let type = try files.validate(contentType: file.contentType ?? served ?? "application/octet-stream", size: data.count)
        return AttachmentSnapshot(id: UUID(), filename: Ingest.safeFilename(file.filename), contentType: type, size: data.count,
                                  sha256: try files.put(data))
    }

    static func record(_ kind: String, _ sourceID: String, _ target: UUID, source: String, workspace: UUID, now: Date) -> SQLQueryString {
        "(\(bind: UUID.ordered()), \(bind: workspace), \(bind: source), \(bind: kind), \(bind: String(sourceID.prefix(255))), \(bind: target), \(bind: now))"
    }

    static func insertRecords(_ rows: [SQLQueryString], on sql: any SQLDatabase) async throws {
        try await IngestSQL.insertRows("INSERT INTO import_records (id, workspace_id, source, kind, source_id, target_id, created_at) VALUES ",
                                          rows, on: sql)
    }
}

extension Importer.Report {
    mutating func problem(_ record: String, _ code: ImportedHistory.Problem.Code, _ detail: String? = nil) {
        if problems.count < Importer.maxProblems { problems.append(.init(record, code, detail)) }
    }
}
