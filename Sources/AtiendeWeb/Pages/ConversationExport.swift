import AtiendeCore
import Fluent
import Foundation
import Vapor

/// The reports' export with one row per conversation: what the conversation is now (number, channel, inbox, team,
/// agent, reason, status) and what was counted of it in the period. Each count column adds up to the reports' figure
/// for the same period and filters, and each time column to the figure's sum of seconds (its mean is the sum ÷ the
/// count beside it): the rows are the very changes the rollups were made of (`MetricsReport.conversations`).
/// The same columns are the page's CSV and the API's JSON.
enum ConversationExport {
    enum Cell {
        case none
        case text(String)
        case count(Int64)
        case seconds(Double)
        case date(Date)
        /// An id; its name in the CSV.
        case ref(UUID, name: String?)
        /// A code (a status, a channel); in the CSV, its translation under `key` + the code.
        case code(String, key: String)
    }

    struct Entry {
        var id: UUID
        /// Nil once the conversation was deleted (what was counted of it stays counted).
        var conversation: Conversation?
        var figures: MetricsReport.Figures
    }

    struct Column {
        /// The API's field, and the last part of the CSV header's translation key (`reports.export.<key>`).
        var key: String
        /// Its JSON schema in the API's description (null also for what a deleted conversation no longer has).
        var schema: [String: Any]
        var value: (Entry) -> Cell

        init(key: String, _ schema: [String: Any] = OpenAPIDocument.nullable(OpenAPIDocument.string), value: @escaping (Entry) -> Cell) {
            self.key = key
            self.schema = schema
            self.value = value
        }
    }

    static func count(_ key: String, _ metric: Metric) -> Column {
        Column(key: key, OpenAPIDocument.integer) { .count($0.figures.count(metric)) }
    }
    static func seconds(_ key: String, _ metric: Metric) -> Column {
        Column(key: key, OpenAPIDocument.number) { .seconds($0.figures.totals[metric] ?? 0) }
    }

    /// The API's row.
    static var schema: [String: Any] {
        Dictionary(columns(names: Names()).map { ($0.key, $0.schema) }, uniquingKeysWith: { a, _ in a })
    }

    /// Scores answered in the period, as "4" (or "2 4" for two surveys).
    static func scores(_ key: String, _ metric: Metric) -> Column {
        Column(key: key) { entry in
            let given = (entry.figures.buckets[metric] ?? [:]).filter { $0.value > 0 }.sorted { $0.key < $1.key }
                .flatMap { Array(repeating: String($0.key), count: $0.value) }
            return given.isEmpty ? .none : .text(given.joined(separator: " "))
        }
    }

    static func columns(names: Names) -> [Column] {
        [
            Column(key: "number", OpenAPIDocument.nullable(OpenAPIDocument.integer)) { $0.conversation.map { .count(Int64($0.number)) } ?? .none },
            Column(key: "conversation_id", OpenAPIDocument.uuid) { .text($0.id.uuidString.lowercased()) },
            Column(key: "started_at", OpenAPIDocument.nullable(OpenAPIDocument.dateTime)) { $0.conversation.map { .date($0.createdAt) } ?? .none },
            Column(key: "channel") { $0.conversation.map { .code($0.channel.rawValue, key: "channel.") } ?? .none },
            Column(key: "inbox_id", OpenAPIDocument.nullable(OpenAPIDocument.uuid)) { $0.conversation.map { .ref($0.$inbox.id, name: names.inboxes[$0.$inbox.id]) } ?? .none },
            Column(key: "team_id", OpenAPIDocument.nullable(OpenAPIDocument.uuid)) { entry in entry.conversation?.$team.id.map { .ref($0, name: names.teams[$0]) } ?? .none },
            Column(key: "agent_id", OpenAPIDocument.nullable(OpenAPIDocument.uuid)) { entry in entry.conversation?.$assignee.id.map { .ref($0, name: names.members[$0]) } ?? .none },
            Column(key: "reason") { $0.conversation?.contactReason.map(Cell.text) ?? .none },
            Column(key: "status") { $0.conversation.map { .code($0.status.rawValue, key: "status.") } ?? .none },
            count("created", .created), count("resolved", .resolved), count("reopened", .reopened), count("replies", .replies),
            count("fcr", .fcr), count("derived", .derived),
            count("first_responses", .firstResponse), seconds("first_response_seconds", .firstResponse),
            count("next_responses", .nextResponse), seconds("next_response_seconds", .nextResponse),
            seconds("resolution_seconds", .resolution),
            seconds("first_response_business_seconds", .firstResponseBusiness), seconds("next_response_business_seconds", .nextResponseBusiness),
            seconds("resolution_business_seconds", .resolutionBusiness),
            count("handled", .handle), seconds("handle_seconds", .handle),
            count("csat_answers", .csatAnswers), count("csat_satisfied", .csatSatisfied), scores("csat_scores", .csatAnswers),
            count("nps_answers", .npsAnswers), count("nps_promoters", .npsPromoters), count("nps_detractors", .npsDetractors),
            scores("nps_scores", .npsAnswers),
            count("sla_breaches", .slaBreaches),
        ]
    }

    /// Names for the CSV: inboxes, teams and members of the workspace.
    struct Names {
        var inboxes: [UUID: String] = [:]
        var teams: [UUID: String] = [:]
        var members: [UUID: String] = [:]
    }

    /// The period's rows, in conversation order.
    static func entries(workspace: UUID, query: ReportQuery, store: Store, db: any Database) async throws -> [Entry] {
        let counted = try await MetricsReport(store: store).conversations(workspace: workspace, period: query.period, filter: query.filter)
        var conversations: [UUID: Conversation] = [:]
        for chunk in counted.map(\.conversation).chunked(500) {
            for conversation in try await Conversation.query(on: db).filter(\.$workspace.$id == workspace).filter(\.$id ~~ chunk).all() {
                conversations[try conversation.requireID()] = conversation
            }
        }
        return counted.map { Entry(id: $0.conversation, conversation: conversations[$0.conversation], figures: $0.figures) }
            .sorted { ($0.conversation?.number ?? .max, $0.id.uuidString) < ($1.conversation?.number ?? .max, $1.id.uuidString) }
    }

    /// The page's CSV: headers in the reader's language, names for ids, numbers written as they write them.
    static func table(_ entries: [Entry], desk: Desk, zone: TimeZone) -> ReportsPage.Table {
        let t = desk.t
        var names = Names()
        for inbox in desk.inboxes { if let id = inbox.id { names.inboxes[id] = inbox.name } }
        for team in desk.teams { if let id = team.id { names.teams[id] = team.name } }
        for member in desk.members { if let id = member.user.id { names.members[id] = member.user.name } }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let columns = columns(names: names)
        return ReportsPage.Table(id: "conversations", title: t("reports.export.title"), headers: columns.map { t("reports.export.\($0.key)") },
                                 rows: entries.map { entry in
                                     columns.map { column in
                                         switch column.value(entry) {
                                         case .none: ""
                                         case .text(let text): text
                                         case .count(let n): String(n)
                                         case .seconds(let s): ReportsPage.decimal(t, s, digits: 3)
                                         case .date(let date): formatter.string(from: date)
                                         case .ref(let id, let name): name ?? id.uuidString.lowercased()
                                         case .code(let code, let key): t(key + code)
                                         }
                                     }
                                 })
    }

    /// The API's rows: ids, numbers and ISO 8601 times, null for none.
    struct JSONRows: Encodable {
        var entries: [Entry]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var list = encoder.unkeyedContainer()
            let columns = ConversationExport.columns(names: Names())
            for entry in entries {
                var row = list.nestedContainer(keyedBy: Key.self)
                for column in columns {
                    let key = Key(stringValue: column.key)
                    switch column.value(entry) {
                    case .none: try row.encodeNil(forKey: key)
                    case .text(let text): try row.encode(text, forKey: key)
                    case .count(let n): try row.encode(n, forKey: key)
                    case .seconds(let s): try row.encode(s, forKey: key)
                    case .date(let date): try row.encode(ISO8601.string(date), forKey: key)
                    case .ref(let id, _): try row.encode(id.uuidString.lowercased(), forKey: key)
                    case .code(let code, _): try row.encode(code, forKey: key)
                    }
                }
            }
        }
    }
}
