import Foundation

/// The pieces every help desk's export shares: checking a conversation's customer and times, mapping its status and
/// priority, and saying what was wrong with a record without giving up on the rest.
struct ExportReading {
    var history = ImportedHistory()
    let source: String
    /// The customers' ids, for checking each conversation's; the conversations', messages' and files' ids taken so far,
    /// so that one listed twice is said once and written once.
    var customers = Set<String>()
    var taken = Set<String>()

    mutating func problem(_ record: String, _ code: ImportedHistory.Problem.Code, _ detail: String? = nil) {
        history.problems.append(.init(record, code, detail))
    }

    /// A person of the customer's side or of the team, by their kind; nil (and a problem) without an id.
    mutating func person(_ row: [String: Any], record: String, name: Any?, email: Any?, phone: Any?, organization: String? = nil,
                         created: Any?, agent: Bool) {
        guard let id = ExportJSON.id(row["id"]) else { return problem(record, .noID) }
        let person = ImportedHistory.Person(sourceID: id, name: ExportJSON.string(name), email: ExportJSON.string(email),
                                            phone: ExportJSON.string(phone), organization: organization, createdAt: ExportJSON.date(created))
        if agent { history.agents[id] = person } else if customers.insert(id).inserted { history.people.append(person) }
        else { problem(record, .duplicate) }
    }

    static func status(_ raw: String?, _ table: [String: ConversationStatus], record: String, problems: inout [ImportedHistory.Problem]) -> ConversationStatus {
        guard let raw else { return .open }
        if let status = table[raw.lowercased()] { return status }
        problems.append(.init(record, .unknownStatus, String(raw.prefix(40))))
        return .open
    }

    static func priority(_ raw: String?, _ table: [String: Priority], record: String, problems: inout [ImportedHistory.Problem]) -> Priority {
        guard let raw else { return .none }
        if let priority = table[raw.lowercased()] { return priority }
        problems.append(.init(record, .unknownPriority, String(raw.prefix(40))))
        return .none
    }

    /// A conversation once its messages are read: it needs an id, a known customer, a creation time and one message.
    mutating func conversation(_ record: String, id: String?, customer: String?, created: Date?, build: (inout [ImportedHistory.Problem]) -> ImportedHistory.Conversation?) {
        guard id != nil else { return problem(record, .noID) }
        guard let customer, customers.contains(customer) else {
            return problem(record, .unknownCustomer, customer ?? "")
        }
        guard created != nil else { return problem(record, .noTime) }
        var problems: [ImportedHistory.Problem] = []
        let built = build(&problems)
        history.problems += problems
        guard var conversation = built else { return }
        guard taken.insert("conversation:\(conversation.sourceID)").inserted else { return problem(record, .duplicate) }
        conversation.messages = conversation.messages.filter { message in
            guard taken.insert("message:\(message.sourceID)").inserted else {
                problem("\(record) message \(message.sourceID)", .duplicate)
                return false
            }
            return true
        }
        for n in conversation.messages.indices {
            conversation.messages[n].files = conversation.messages[n].files.filter { taken.insert("file:\($0.sourceID)").inserted }
        }
        guard !conversation.messages.isEmpty else { return problem(record, .noMessage) }
        history.conversations.append(conversation)
    }

    /// A message: it needs an id, a valid time and some text or a file.
    static func message(_ record: String, id: String?, author: ImportedHistory.Message.Author, note: Bool, text: String?, created: Any?,
                        files: [ImportedHistory.File], problems: inout [ImportedHistory.Problem]) -> ImportedHistory.Message? {
        guard let id else { problems.append(.init(record, .noID)); return nil }
        guard let at = ExportJSON.date(created) else { problems.append(.init(record, .noTime)); return nil }
        let body = String((text ?? "").withoutNUL.trimmingCharacters(in: .whitespacesAndNewlines).prefix(Ingest.maxTextLength))
        guard !body.isEmpty || !files.isEmpty else { problems.append(.init(record, .empty)); return nil }
        return .init(sourceID: id, author: author, note: note, text: body, createdAt: at, files: files)
    }

    static func files(_ value: Any?, id: String, name: String, type: String, url: String, record: String,
                      problems: inout [ImportedHistory.Problem]) -> [ImportedHistory.File] {
        (value as? [Any] ?? []).compactMap { item in
            let row = item as? [String: Any] ?? [:]
            guard let fileID = ExportJSON.id(row[id]), let link = ExportJSON.string(row[url]) else {
                problems.append(.init(record, .attachmentLink))
                return nil
            }
            return .init(sourceID: fileID, filename: ExportJSON.string(row[name]) ?? "attachment", contentType: ExportJSON.string(row[type]), url: link)
        }
    }
}

/// Zendesk's API JSON: `users.json` (`{"users": [...]}`, end users and agents by `role`), `organizations.json`
/// (optional), `tickets.json` and `comments/<ticket id>.json` (`{"comments": [...]}`, the first one the description).
enum ZendeskExport {
    static let statuses: [String: ConversationStatus] = ["new": .open, "open": .open, "pending": .pending, "hold": .pending,
                                                         "solved": .resolved, "closed": .closed]
    static let priorities: [String: Priority] = ["low": .low, "normal": .medium, "high": .high, "urgent": .urgent]

    static func read(_ folder: URL) throws -> ImportedHistory {
        var reading = ExportReading(source: "zendesk")
        var organizations: [String: String] = [:]
        for row in try ExportJSON.rows(folder, "organizations.json", key: "organizations", required: false) {
            if let id = ExportJSON.id(row["id"]), let name = ExportJSON.string(row["name"]) { organizations[id] = name }
        }
        for (n, row) in try ExportJSON.rows(folder, "users.json", key: "users").enumerated() {
            let role = ExportJSON.string(row["role"]) ?? "end-user"
            reading.person(row, record: "user \(ExportJSON.id(row["id"]) ?? "#\(n + 1)")", name: row["name"], email: row["email"], phone: row["phone"],
                           organization: ExportJSON.id(row["organization_id"]).flatMap { organizations[$0] }, created: row["created_at"],
                           agent: role == "agent" || role == "admin")
        }
        for (n, ticket) in try ExportJSON.rows(folder, "tickets.json", key: "tickets").enumerated() {
            let id = ExportJSON.id(ticket["id"])
            let record = "ticket \(id ?? "#\(n + 1)")"
            let created = ExportJSON.date(ticket["created_at"])
            let agents = reading.history.agents
            reading.conversation(record, id: id, customer: ExportJSON.id(ticket["requester_id"]), created: created) { problems in
                guard let id, let created else { return nil }
                var comments: [[String: Any]]
                do {
                    comments = try ExportJSON.list(try ExportJSON.load(folder.appendingPathComponent("comments/\(id).json"), required: false)
                                                   ?? ["comments": [["id": "description-\(id)", "author_id": ticket["requester_id"] ?? "",
                                                                      "plain_body": ticket["description"] ?? "", "public": true,
                                                                      "created_at": ticket["created_at"] ?? ""]]],
                                                   key: "comments", file: "comments/\(id).json")
                } catch {
                    problems.append(.init(record, .unreadable, "\(error)"))
                    return nil
                }
                let messages = comments.compactMap { c -> ImportedHistory.Message? in
                    let cid = ExportJSON.id(c["id"])
                    let place = "\(record) comment \(cid ?? "?")"
                    let author = ExportJSON.id(c["author_id"])
                    return ExportReading.message(place, id: cid, author: author.flatMap { agents[$0] } != nil ? .agent(author) : .customer,
                                                 note: (c["public"] as? Bool) == false, text: ExportJSON.string(c["plain_body"]) ?? ExportJSON.string(c["body"]),
                                                 created: c["created_at"],
                                                 files: ExportReading.files(c["attachments"], id: "id", name: "file_name", type: "content_type",
                                                                            url: "content_url", record: place, problems: &problems), problems: &problems)
                }
                return .init(sourceID: id, customer: ExportJSON.id(ticket["requester_id"]) ?? "", subject: ExportJSON.string(ticket["subject"]),
                             status: ExportReading.status(ExportJSON.string(ticket["status"]), statuses, record: record, problems: &problems),
                             priority: ExportReading.priority(ExportJSON.string(ticket["priority"]), priorities, record: record, problems: &problems),
                             labels: (ticket["tags"] as? [Any] ?? []).compactMap(ExportJSON.string), assignee: ExportJSON.id(ticket["assignee_id"]),
                             createdAt: created, updatedAt: ExportJSON.date(ticket["updated_at"]), messages: messages)
            }
        }
        return reading.history
    }
}

/// Freshdesk's API JSON: `contacts.json`, `agents.json` (optional; each with its `contact`), `companies.json`
/// (optional), `tickets.json` and `conversations/<ticket id>.json` (the replies and notes after the description).
enum FreshdeskExport {
    static let statuses: [String: ConversationStatus] = ["2": .open, "3": .pending, "4": .resolved, "5": .closed, "6": .pending, "7": .pending]
    static let priorities: [String: Priority] = ["1": .low, "2": .medium, "3": .high, "4": .urgent]

    static func read(_ folder: URL) throws -> ImportedHistory {
        var reading = ExportReading(source: "freshdesk")
        var companies: [String: String] = [:]
        for row in try ExportJSON.rows(folder, "companies.json", key: nil, required: false) {
            if let id = ExportJSON.id(row["id"]), let name = ExportJSON.string(row["name"]) { companies[id] = name }
        }
        for (n, row) in try ExportJSON.rows(folder, "agents.json", key: nil, required: false).enumerated() {
            let contact = row["contact"] as? [String: Any] ?? [:]
            reading.person(row, record: "agent \(ExportJSON.id(row["id"]) ?? "#\(n + 1)")", name: contact["name"], email: contact["email"],
                           phone: contact["phone"], created: row["created_at"], agent: true)
        }
        for (n, row) in try ExportJSON.rows(folder, "contacts.json", key: nil).enumerated() {
            reading.person(row, record: "contact \(ExportJSON.id(row["id"]) ?? "#\(n + 1)")", name: row["name"], email: row["email"],
                           phone: row["phone"] ?? row["mobile"], organization: ExportJSON.id(row["company_id"]).flatMap { companies[$0] },
                           created: row["created_at"], agent: false)
        }
        for (n, ticket) in try ExportJSON.rows(folder, "tickets.json", key: nil).enumerated() {
            let id = ExportJSON.id(ticket["id"])
            let record = "ticket \(id ?? "#\(n + 1)")"
            let created = ExportJSON.date(ticket["created_at"])
            reading.conversation(record, id: id, customer: ExportJSON.id(ticket["requester_id"]), created: created) { problems in
                guard let id, let created else { return nil }
                let replies: [[String: Any]]
                do {
                    replies = try ExportJSON.rows(folder, "conversations/\(id).json", key: nil, required: false)
                } catch {
                    problems.append(.init(record, .unreadable, "\(error)"))
                    return nil
                }
                var messages: [ImportedHistory.Message] = []
                func files(_ value: Any?, _ at: String) -> [ImportedHistory.File] {
                    ExportReading.files(value, id: "id", name: "name", type: "content_type", url: "attachment_url", record: at, problems: &problems)
                }
                if let first = ExportReading.message(record, id: "description-\(id)", author: .customer, note: false,
                                                     text: ExportJSON.string(ticket["description_text"]), created: ticket["created_at"],
                                                     files: files(ticket["attachments"], record), problems: &problems) {
                    messages.append(first)
                }
                for reply in replies {
                    let rid = ExportJSON.id(reply["id"])
                    let at = "\(record) conversation \(rid ?? "?")"
                    let incoming = reply["incoming"] as? Bool ?? false
                    if let message = ExportReading.message(at, id: rid, author: incoming ? .customer : .agent(ExportJSON.id(reply["user_id"])),
                                                           note: reply["private"] as? Bool ?? false, text: ExportJSON.string(reply["body_text"]),
                                                           created: reply["created_at"], files: files(reply["attachments"], at), problems: &problems) {
                        messages.append(message)
                    }
                }
                return .init(sourceID: id, customer: ExportJSON.id(ticket["requester_id"]) ?? "", subject: ExportJSON.string(ticket["subject"]),
                             status: ExportReading.status(ExportJSON.id(ticket["status"]), statuses, record: record, problems: &problems),
                             priority: ExportReading.priority(ExportJSON.id(ticket["priority"]), priorities, record: record, problems: &problems),
                             labels: (ticket["tags"] as? [Any] ?? []).compactMap(ExportJSON.string), assignee: ExportJSON.id(ticket["responder_id"]),
                             createdAt: created, updatedAt: ExportJSON.date(ticket["updated_at"]), messages: messages)
            }
        }
        return reading.history
    }
}

/// Chatwoot's API JSON: `contacts.json` (`{"payload": [...]}`), `agents.json` (optional list), `conversations.json`
/// (`{"data": {"payload": [...]}}`) and `messages/<conversation id>.json` (`{"payload": [...]}`); times in Unix seconds.
enum ChatwootExport {
    static let statuses: [String: ConversationStatus] = ["open": .open, "pending": .pending, "snoozed": .pending, "resolved": .resolved]
    static let priorities: [String: Priority] = ["low": .low, "medium": .medium, "high": .high, "urgent": .urgent]

    static func read(_ folder: URL) throws -> ImportedHistory {
        var reading = ExportReading(source: "chatwoot")
        for (n, row) in try ExportJSON.rows(folder, "agents.json", key: nil, required: false).enumerated() {
            reading.person(row, record: "agent \(ExportJSON.id(row["id"]) ?? "#\(n + 1)")", name: row["name"], email: row["email"], phone: nil,
                           created: nil, agent: true)
        }
        for (n, row) in try ExportJSON.rows(folder, "contacts.json", key: "payload").enumerated() {
            reading.person(row, record: "contact \(ExportJSON.id(row["id"]) ?? "#\(n + 1)")", name: row["name"], email: row["email"],
                           phone: row["phone_number"], created: row["created_at"], agent: false)
        }
        let top = try ExportJSON.load(folder.appendingPathComponent("conversations.json"))
        let list = (top as? [String: Any])?["data"] ?? top
        for (n, conversation) in try ExportJSON.list(list, key: "payload", file: "conversations.json").enumerated() {
            let id = ExportJSON.id(conversation["id"])
            let record = "conversation \(id ?? "#\(n + 1)")"
            let meta = conversation["meta"] as? [String: Any] ?? [:]
            let customer = ExportJSON.id((meta["sender"] as? [String: Any])?["id"])
            let created = ExportJSON.date(conversation["created_at"])
            reading.conversation(record, id: id, customer: customer, created: created) { problems in
                guard let id, let created else { return nil }
                let rows: [[String: Any]]
                do {
                    rows = try ExportJSON.rows(folder, "messages/\(id).json", key: "payload")
                } catch {
                    problems.append(.init(record, .unreadable, "\(error)"))
                    return nil
                }
                // Activity lines ("assigned to…") are the desk's own record, not part of the exchange.
                let messages = rows.filter { ExportJSON.id($0["message_type"]) != "2" }.compactMap { m -> ImportedHistory.Message? in
                    let mid = ExportJSON.id(m["id"])
                    let at = "\(record) message \(mid ?? "?")"
                    let sender = m["sender"] as? [String: Any] ?? [:]
                    let incoming = ExportJSON.id(m["message_type"]) == "0"
                    return ExportReading.message(at, id: mid, author: incoming ? .customer : .agent(ExportJSON.id(sender["id"])),
                                                 note: m["private"] as? Bool ?? false, text: ExportJSON.string(m["content"]), created: m["created_at"],
                                                 files: ExportReading.files(m["attachments"], id: "id", name: "file_name", type: "content_type",
                                                                            url: "data_url", record: at, problems: &problems), problems: &problems)
                }
                let attributes = conversation["additional_attributes"] as? [String: Any] ?? [:]
                return .init(sourceID: id, customer: customer ?? "", subject: ExportJSON.string(attributes["mail_subject"]),
                             status: ExportReading.status(ExportJSON.string(conversation["status"]), statuses, record: record, problems: &problems),
                             priority: ExportReading.priority(ExportJSON.string(conversation["priority"]), priorities, record: record, problems: &problems),
                             labels: (conversation["labels"] as? [Any] ?? []).compactMap(ExportJSON.string),
                             assignee: ExportJSON.id((meta["assignee"] as? [String: Any])?["id"]), createdAt: created,
                             updatedAt: ExportJSON.date(conversation["last_activity_at"]), messages: messages)
            }
        }
        return reading.history
    }
}
