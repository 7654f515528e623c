import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// What the audit log is asked for, read alike from the page's query and the API's: `category` (a family of events,
/// `AuditLog.categories`), `actor_id` (a member), `from`/`to` (days in the workspace's time zone, `to` included) and
/// `before` (an entry's id: the page after the one that ended there).
struct AuditQuery: Sendable {
    var filter = AuditLog.Filter()
    var before: Int64?
    /// As asked, for the form and the links.
    var fields: [(String, String)] = []

    static let keys = ["category", "actor_id", "from", "to"]

    static func parse(_ value: (String) -> String?, timeZone: TimeZone) throws -> AuditQuery {
        var query = AuditQuery()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd"
        for key in keys {
            guard let raw = value(key)?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { continue }
            switch key {
            case "category":
                guard AuditLog.categories.contains(raw) else {
                    throw AtiendeError.invalid("category is one of " + AuditLog.categories.joined(separator: ", "), code: "invalid_category")
                }
                query.filter.category = raw
            case "actor_id":
                guard let id = UUID(uuidString: raw) else { throw AtiendeError.invalid("actor_id is not an id", code: "invalid_actor") }
                query.filter.actor = id
            default:
                guard raw.count == 10, let day = formatter.date(from: raw) else {
                    throw AtiendeError.invalid("\(key) is a day written as 2026-12-01", code: "invalid_date")
                }
                if key == "from" { query.filter.from = day } else { query.filter.to = day.addingTimeInterval(86_400) }
            }
            query.fields.append((key, raw))
        }
        if let from = query.filter.from, let to = query.filter.to, to <= from {
            throw AtiendeError.invalid("to is on or after from", code: "invalid_date")
        }
        if let raw = value("before"), !raw.isEmpty {
            guard let before = Int64(raw), before > 0 else { throw AtiendeError.invalid("before is an entry's id", code: "invalid_before") }
            query.before = before
        }
        return query
    }

    func value(_ key: String) -> String { fields.first { $0.0 == key }?.1 ?? "" }
}

/// The admin's audit log: who did what and when in the workspace, newest first, filtered by kind, person and days, a
/// page at a time; the filtered entries download as CSV (and the download is itself an entry).
enum AuditLogPage {
    static let pageSize = 50
    /// The most rows one CSV holds; a longer log is downloaded a period at a time.
    static let csvLimit = 20_000

    /// An entry as the page, the CSV and the API tell it.
    struct Row {
        var event: Event
        var actor: String
        var record: String
        /// As recorded: field names, a channel or a role, `key=value`, `role:agent`; `cells` says them in words.
        var details: [String]
        var address: String
    }

    /// A detail in the reader's language: `audit.detail.<token>` (with the value of `key=value` or `key:value`), a
    /// channel's or a role's name, or the token itself.
    static func detail(_ token: String, t: Localizer) -> String {
        if let split = token.firstIndex(where: { $0 == "=" || $0 == ":" }) {
            let key = String(token[..<split]), value = String(token[token.index(after: split)...])
            guard t.has("audit.detail.\(key)") else { return token }
            let named = t.has("role.\(value)") ? t("role.\(value)") : t.has("channel.\(value)") ? t("channel.\(value)") : value
            return t("audit.detail.\(key)", named)
        }
        for key in ["audit.detail.\(token)", "channel.\(token)", "role.\(token)"] where t.has(key) { return t(key) }
        return token
    }

    static func rows(_ events: [Event], members: [UUID: String]) -> [Row] {
        events.map { event in
            var record = "", details: [String] = [], address = ""
            if let payload = JSON.decode(RecordEventPayload.self, from: event.payload) {
                record = payload.name ?? ""
                details = [payload.detail].compactMap { $0 } + (payload.changes ?? [])
                address = payload.address ?? ""
            } else if let payload = JSON.decode(ContactEventPayload.self, from: event.payload) {
                record = payload.contact.name ?? ""
            }
            return Row(event: event, actor: event.actorID.flatMap { members[$0] } ?? event.actorID?.uuidString.lowercased() ?? "",
                       record: record, details: details, address: address)
        }
    }

    static func memberNames(_ desk: Desk) -> [UUID: String] {
        Dictionary(desk.members.compactMap { member in member.user.id.map { ($0, member.user.name) } }, uniquingKeysWith: { a, _ in a })
    }

    static func show(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .admin)
        let t = desk.t
        // Filters the reader got wrong are said beside the form, over the whole log; a CSV asked for so is refused.
        var problem: String?
        var query = AuditQuery()
        do {
            query = try AuditQuery.parse({ req.query[String.self, at: $0] }, timeZone: desk.timeZone)
        } catch let error as AtiendeError where req.query[String.self, at: "format"] != "csv" {
            problem = t("audit.error.\(error.code)")
        }
        let names = memberNames(desk)
        if req.query[String.self, at: "format"] == "csv" { return try await csv(req, desk: desk, query: query, names: names) }
        let found = try await AuditLog.entries(workspace: desk.workspaceID, filter: query.filter, before: query.before, limit: pageSize + 1, on: req.db)
        let rows = rows(Array(found.prefix(pageSize)), members: names)
        let older = found.count > pageSize ? rows.last.map { SiteURL.auditLog(desk.slug).path(query: query.fields + [("before", String($0.event.seq))]) } : nil
        let content: Node<HTML.BodyContext> = .div(.class("settings audit"),
            .h1(.text(t("audit.title"))),
            .p(.class("hint"), .text(t("audit.intro"))),
            filterForm(desk, query),
            .unwrap(problem) { .p(.class("form-error"), .role("alert"), .id("audit-problem"), .text($0)) },
            table(rows, desk: desk),
            .if(rows.isEmpty, .p(.class("hint"), .text(t("audit.empty")))),
            .p(.class("pager"),
               .if(query.before != nil, .a(.href(SiteURL.auditLog(desk.slug).path(query: query.fields)), .text("← " + t("audit.newest")))),
               .unwrap(older) { .a(.id("audit-older"), .href($0), .text(t("audit.older") + " →")) }),
            .p(.a(.class("csv"), .id("audit-csv"), .href(SiteURL.auditLog(desk.slug).path(query: query.fields + [("format", "csv")])),
                  .attribute(named: "download", value: ""), .text(t("audit.csv")))))
        return try await HTMLPage(html: Layout.desk(desk, title: t("audit.title"), page: "settings", content)).encodeResponse(for: req)
    }

    static func headers(_ t: Localizer) -> [String] {
        [t("audit.when"), t("audit.who"), t("audit.what"), t("audit.record"), t("audit.details"), t("audit.address")]
    }

    static func cells(_ row: Row, desk: Desk) -> [String] {
        [desk.format.dateTime(row.event.createdAt), row.actor, desk.t("audit.event.\(row.event.type)"), row.record,
         row.details.map { detail($0, t: desk.t) }.joined(separator: ", "), row.address]
    }

    static func table(_ rows: [Row], desk: Desk) -> Node<HTML.BodyContext> {
        let headers = headers(desk.t)
        return .div(.class("table-scroll"),
                    .table(.class("grid"), .id("audit-table"),
                           .thead(.tr(.forEach(headers) { .th(.text($0)) })),
                           .tbody(.forEach(rows) { row in
                               .tr(.data("type", row.event.type),
                                   .forEach(Array(zip(headers, cells(row, desk: desk)))) { header, cell in .td(.data("label", header), .text(cell)) })
                           })))
    }

    static func filterForm(_ desk: Desk, _ query: AuditQuery) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .form(.class("report-filters"), .method(.get), .action(SiteURL.auditLog(desk.slug).path),
            .label(.span(.text(t("audit.category"))),
                   .dropdown(.name("category"), .option(.value(""), .text(t("reports.all"))),
                             .forEach(AuditLog.categories) { category in
                                 .option(.value(category), .text(t("audit.category.\(category)")), .selected(category == query.filter.category))
                             })),
            .label(.span(.text(t("audit.who"))),
                   .dropdown(.name("actor_id"), .option(.value(""), .text(t("reports.all"))),
                             .forEach(desk.members) { member in
                                 .option(.value(member.user.id?.uuidString.lowercased() ?? ""), .text(member.user.name),
                                         .selected(member.user.id == query.filter.actor))
                             })),
            .label(.span(.text(t("reports.from"))), .field(.type(.init(rawValue: "date") ?? .text), .name("from"), .value(query.value("from")))),
            .label(.span(.text(t("reports.to"))), .field(.type(.init(rawValue: "date") ?? .text), .name("to"), .value(query.value("to")))),
            .button(.type(.submit), .class("primary"), .text(t("reports.show"))))
    }

    /// Every entry the filters select, newest first, up to `csvLimit`.
    static func csv(_ req: Request, desk: Desk, query: AuditQuery, names: [UUID: String]) async throws -> Response {
        var events: [Event] = []
        var before = query.before
        while events.count < csvLimit {
            let page = try await AuditLog.entries(workspace: desk.workspaceID, filter: query.filter, before: before,
                                                  limit: min(1_000, csvLimit - events.count), on: req.db)
            events += page
            guard page.count == 1_000, let last = page.last else { break }
            before = last.seq
        }
        let filters = query.fields.filter { !["from", "to"].contains($0.0) }.map { "\($0)=\($1)" }
        try await AuditLog.recordExport(workspace: desk.workspaceID, actor: desk.userID, what: "audit_log",
                                        period: "\(query.value("from"))..\(query.value("to"))", filters: filters, store: req.atiende.store)
        var lines = rows(events, members: names).map { cells($0, desk: desk) + [$0.event.type] }
        // A longer log is not cut without saying so.
        if events.count >= csvLimit { lines.append([desk.t("audit.csv_truncated", csvLimit)] + Array(repeating: "", count: headers(desk.t).count)) }
        let table = ReportsPage.Table(id: "audit", title: desk.t("audit.title"), headers: headers(desk.t) + [desk.t("audit.type")], rows: lines)
        return ReportsPage.csv(table, filename: "atiende-audit-log.csv")
    }
}
