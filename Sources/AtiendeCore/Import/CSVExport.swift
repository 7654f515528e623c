import Foundation

/// Spreadsheets: `contacts.csv` (optional: `id, name, email, phone, organization, created_at`) and `conversations.csv`,
/// one row per message, in order: `conversation_id, created_at, from` (`customer`, `agent` or `note`) and `text` are
/// required; `message_id, contact_id, contact_name, contact_email, contact_phone, agent_email, subject, status,
/// priority, labels` (separated by `;`), `attachment_url, attachment_name` are read when present. A conversation's
/// customer is its `contact_id` from `contacts.csv`, or else the first row's contact columns; a row without a
/// `message_id` is keyed by what it says, so that a second import of the same file finds it.
enum CSVExport {
    static let statuses: [String: ConversationStatus] = Dictionary(uniqueKeysWithValues: ConversationStatus.allCases.map { ($0.rawValue, $0) })
        .merging(["new": .open, "solved": .resolved, "abierta": .open, "pendiente": .pending, "resuelta": .resolved, "cerrada": .closed]) { a, _ in a }
    static let priorities: [String: Priority] = Dictionary(uniqueKeysWithValues: Priority.allCases.map { ($0.rawValue, $0) })
        .merging(["normal": .medium, "baja": .low, "media": .medium, "alta": .high, "urgente": .urgent]) { a, _ in a }

    static func read(_ folder: URL) throws -> ImportedHistory {
        var reading = ExportReading(source: "csv")
        let contactsFile = folder.appendingPathComponent("contacts.csv")
        if FileManager.default.fileExists(atPath: contactsFile.path) {
            for (line, row) in try rows(contactsFile) {
                reading.person(["id": row["id"] ?? ""], record: "contacts.csv line \(line)", name: row["name"], email: row["email"],
                               phone: row["phone"], organization: ExportJSON.string(row["organization"]), created: row["created_at"], agent: false)
            }
        }
        // Rows grouped by conversation, in the order the file first names each.
        var order: [String] = []
        var groups: [String: [(line: Int, row: [String: String])]] = [:]
        let file = folder.appendingPathComponent("conversations.csv")
        for (line, row) in try rows(file, required: ["conversation_id", "created_at", "from", "text"]) {
            guard let id = ExportJSON.string(row["conversation_id"]) else {
                reading.problem("conversations.csv line \(line)", .noID)
                continue
            }
            if groups[id] == nil { order.append(id) }
            groups[id, default: []].append((line, row))
        }
        for id in order {
            let group = groups[id] ?? []
            let first = group[0].row
            let record = "conversation \(id) (conversations.csv line \(group[0].line))"
            // The customer: from contacts.csv, or one person per address written in the rows.
            var customer = ExportJSON.string(first["contact_id"])
            if customer == nil, let key = ExportJSON.string(first["contact_email"]).map({ "email:\($0.lowercased())" })
                ?? ExportJSON.string(first["contact_phone"]).map({ "phone:\($0)" }) {
                if !reading.customers.contains(key) {
                    reading.person(["id": key], record: record, name: first["contact_name"], email: first["contact_email"], phone: first["contact_phone"],
                                   created: first["created_at"], agent: false)
                }
                customer = key
            }
            var agents: [String: ImportedHistory.Person] = [:]
            let created = ExportJSON.date(first["created_at"])
            reading.conversation(record, id: id, customer: customer, created: created) { problems in
                guard let created else { return nil }
                var labels: [String] = []
                let messages = group.compactMap { line, row -> ImportedHistory.Message? in
                    let at = "conversations.csv line \(line)"
                    let from = (row["from"] ?? "").lowercased()
                    guard ["customer", "agent", "note"].contains(from) else {
                        problems.append(.init(at, .unknownAuthor))
                        return nil
                    }
                    for label in (row["labels"] ?? "").split(separator: ";") {
                        let clean = label.trimmingCharacters(in: .whitespaces)
                        if !clean.isEmpty && !labels.contains(clean) { labels.append(clean) }
                    }
                    let agent = ExportJSON.string(row["agent_email"]).map { $0.lowercased() }
                    if let agent { agents[agent] = .init(sourceID: agent, email: agent) }
                    // A spreadsheet's message ids may start again in each conversation: they are the conversation's.
                    let key = id + "/" + (ExportJSON.string(row["message_id"])
                        ?? "row-" + SecretToken.sha256Hex([row["created_at"] ?? "", from, row["text"] ?? ""].joined(separator: "\u{1F}")).prefix(24))
                    let files: [ImportedHistory.File] = ExportJSON.string(row["attachment_url"]).map { url in
                        [.init(sourceID: "\(key)-file", filename: ExportJSON.string(row["attachment_name"]) ?? "attachment", contentType: nil, url: url)]
                    } ?? []
                    return ExportReading.message(at, id: key, author: from == "customer" ? .customer : .agent(agent), note: from == "note",
                                                 text: row["text"], created: row["created_at"], files: files, problems: &problems)
                }
                let last = group[group.count - 1].row
                return .init(sourceID: id, customer: customer ?? "", subject: ExportJSON.string(first["subject"]),
                             status: ExportReading.status(ExportJSON.string(last["status"]), statuses, record: record, problems: &problems),
                             priority: ExportReading.priority(ExportJSON.string(last["priority"]), priorities, record: record, problems: &problems),
                             labels: labels, assignee: messages.reversed().compactMap { m -> String? in
                                 if case .agent(let who) = m.author, !m.note { return who }
                                 return nil
                             }.first, createdAt: created, updatedAt: nil, messages: messages)
            }
            reading.history.agents.merge(agents) { a, _ in a }
        }
        return reading.history
    }

    /// The rows of a CSV file by header (the first line), each with its line number; `required` columns must be there.
    static func rows(_ url: URL, required: [String] = ["id"]) throws -> [(Int, [String: String])] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ExportJSON.Unreadable(file: url.lastPathComponent, .missing)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ExportJSON.Unreadable(file: url.lastPathComponent, .notUTF8) }
        let records = parse(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
            throw ExportJSON.Unreadable(file: url.lastPathComponent, .empty)
        }
        let missing = required.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw ExportJSON.Unreadable(file: url.lastPathComponent, .header, missing.joined(separator: ", "))
        }
        return records.dropFirst().filter { !($0.fields.count == 1 && $0.fields[0].isEmpty) }.map { record in
            (record.line, Dictionary(zip(header, record.fields), uniquingKeysWith: { a, _ in a }))
        }
    }

    /// RFC 4180: commas, quoted fields with doubled quotes and line breaks inside; CRLF or LF.
    static func parse(_ text: String) -> [(line: Int, fields: [String])] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = [], field = "", quoted = false, line = 1, start = 1
        var chars = text.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else {
                    if c.isNewline { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: quoted = true
            case ",": fields.append(field); field = ""
            case "\n", "\r\n", "\r":
                fields.append(field); field = ""
                records.append((start, fields)); fields = []
                line += 1; start = line
            default: field.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); records.append((start, fields)) }
        return records
    }
}
