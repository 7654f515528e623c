import Foundation

/// Another help desk's history, read from its export into one shape whatever the source (`ImportFormat`): people,
/// then conversations with their messages, each keyed by the id the source gave it, so that `Importer` can tell what it
/// already holds. Records the reader could not understand are not here: they are `problems`.
public struct ImportedHistory: Sendable {
    public struct Person: Sendable, Equatable {
        public var sourceID: String
        public var name: String?
        public var email: String?
        public var phone: String?
        public var organization: String?
        public var createdAt: Date?

        public init(sourceID: String, name: String? = nil, email: String? = nil, phone: String? = nil, organization: String? = nil,
                    createdAt: Date? = nil) {
            self.sourceID = sourceID
            self.name = name
            self.email = email
            self.phone = phone
            self.organization = organization
            self.createdAt = createdAt
        }
    }

    public struct File: Sendable, Equatable {
        public var sourceID: String
        public var filename: String
        public var contentType: String?
        public var url: String
    }

    public struct Message: Sendable, Equatable {
        public enum Author: Sendable, Equatable {
            /// The customer (or whoever the source says wrote from outside): an incoming message.
            case customer
            /// A member of the team, by the source's person id; a note when `note`.
            case agent(String?)
        }
        public var sourceID: String
        public var author: Author
        public var note: Bool
        public var text: String
        public var createdAt: Date
        public var files: [File]
    }

    public struct Conversation: Sendable, Equatable {
        public var sourceID: String
        /// The customer, by the source's person id.
        public var customer: String
        public var subject: String?
        public var status: ConversationStatus
        public var priority: Priority
        public var labels: [String]
        public var assignee: String?
        public var createdAt: Date
        public var updatedAt: Date?
        public var messages: [Message]
    }

    /// A record not taken as it was: which one (in the source's own terms: "ticket 4012", "conversations.csv line 7"),
    /// what was wrong (`code`, said in the reader's language where it is shown) and its detail (a value, an error).
    public struct Problem: Sendable, Equatable, Codable {
        public enum Code: String, Codable, Sendable, CaseIterable {
            case noID = "no_id", duplicate, unknownStatus = "unknown_status", unknownPriority = "unknown_priority"
            case unknownCustomer = "unknown_customer", noTime = "no_time", noMessage = "no_message", empty
            case attachmentLink = "attachment_link", unreadable, unknownAuthor = "unknown_author"
            case customerMissing = "customer_missing", download, deleted, erased
        }
        public var record: String
        public var code: Code
        public var detail: String?

        public init(_ record: String, _ code: Code, _ detail: String? = nil) {
            self.record = record
            self.code = code
            self.detail = detail
        }

        /// In English, for the command's report.
        public var message: String {
            let value = detail ?? ""
            return switch code {
            case .noID: "has no id; skipped"
            case .duplicate: "appears twice; the first one is kept"
            case .unknownStatus: "unknown status \"\(value)\"; imported as open"
            case .unknownPriority: "unknown priority \"\(value)\"; imported without one"
            case .unknownCustomer: "its customer \(value) is not among the exported people; skipped"
            case .noTime: "has no valid time; skipped"
            case .noMessage: "has no message; skipped"
            case .empty: "is empty; skipped"
            case .attachmentLink: "has an attachment without an id or URL; skipped"
            case .unreadable: "\(value); skipped"
            case .unknownAuthor: "\"from\" must be customer, agent or note; skipped"
            case .customerMissing: "its customer was not imported; skipped"
            case .download: "could not be downloaded (\(value)); imported without it"
            case .deleted: "was imported before and has since been deleted here; skipped"
            case .erased: "its customer's data was erased here; skipped"
            }
        }
    }

    public var people: [Person] = []
    /// The team's people (agents, admins): never contacts; matched to members by email.
    public var agents: [String: Person] = [:]
    public var conversations: [Conversation] = []
    public var problems: [Problem] = []

    public init() {}
}

/// The formats `atiende import` reads, each from a folder laid out as its samples in `docs/import.md` show.
public enum ImportFormat: String, CaseIterable, Sendable, Codable {
    case zendesk, freshdesk, chatwoot, csv

    public func read(_ folder: URL) throws -> ImportedHistory {
        switch self {
        case .zendesk: try ZendeskExport.read(folder)
        case .freshdesk: try FreshdeskExport.read(folder)
        case .chatwoot: try ChatwootExport.read(folder)
        case .csv: try CSVExport.read(folder)
        }
    }
}

/// Reading JSON exports: values as the sources give them (ids as numbers or strings, times as RFC 3339 or Unix seconds).
public enum ExportJSON {
    /// An export that cannot be read at all: which file, why (a code the admin page says in words), a detail.
    public struct Unreadable: Error, CustomStringConvertible {
        public enum Reason: String, Sendable {
            case missing, notJSON = "not_json", notList = "not_list", notUTF8 = "not_utf8", empty, header
            case notZip = "not_zip", tooLarge = "too_large", badPath = "bad_path", unwritable
        }
        public var file: String
        public var reason: Reason
        public var detail: String?

        public init(file: String, _ reason: Reason, _ detail: String? = nil) {
            self.file = file
            self.reason = reason
            self.detail = detail
        }

        public var description: String {
            let what = switch reason {
            case .missing: "missing from the export folder"
            case .notJSON: "not valid JSON"
            case .notList: "expected a list" + (detail.map { " under \"\($0)\"" } ?? "")
            case .notUTF8: "not UTF-8 text"
            case .empty: "empty"
            case .header: "the header lacks " + (detail ?? "")
            case .notZip: "not a ZIP of the export's folder"
            case .tooLarge: "larger than an import from the page takes; use atiende import"
            case .badPath: "holds a path that leaves its folder: " + (detail ?? "")
            case .unwritable: "could not be unpacked: " + (detail ?? "")
            }
            return "\(file): \(what)"
        }
    }

    /// The file's top-level value, or nil when the file is absent (an optional part of an export).
    static func load(_ url: URL, required: Bool = true) throws -> Any? {
        guard FileManager.default.fileExists(atPath: url.path) else {
            if required { throw Unreadable(file: url.lastPathComponent, .missing) }
            return nil
        }
        do {
            return try JSONSerialization.jsonObject(with: try Data(contentsOf: url), options: [.fragmentsAllowed])
        } catch {
            throw Unreadable(file: url.lastPathComponent, .notJSON)
        }
    }

    /// The list under `key` of an object (`{"users": [...]}`), or the value itself when it is a list.
    static func list(_ value: Any?, key: String?, file: String) throws -> [[String: Any]] {
        var value = value
        if let key, let object = value as? [String: Any] { value = object[key] }
        guard let items = value as? [Any] else { throw Unreadable(file: file, .notList, key) }
        return items.map { $0 as? [String: Any] ?? [:] }
    }

    /// The records of one file of the export folder (see `list`); an absent optional file has none.
    static func rows(_ folder: URL, _ file: String, key: String?, required: Bool = true) throws -> [[String: Any]] {
        guard let value = try load(folder.appendingPathComponent(file), required: required) else { return [] }
        return try list(value, key: key, file: file)
    }

    static func id(_ value: Any?) -> String? {
        if let n = value as? Int { return String(n) }
        if let d = value as? Double, d == d.rounded(), abs(d) < 9e15 { return String(Int64(d)) }
        return string(value)
    }

    /// Text as the source gave it, trimmed, without NUL characters (PostgreSQL cannot store them); nil when empty.
    static func string(_ value: Any?) -> String? {
        guard let s = value as? String else { return nil }
        let trimmed = s.withoutNUL.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    static func date(_ value: Any?) -> Date? {
        switch value {
        case let s as String: ISO8601.date(s) ?? Double(s).map { Date(timeIntervalSince1970: $0) }
        case let n as NSNumber: Date(timeIntervalSince1970: n.doubleValue)
        default: nil
        }
    }
}
