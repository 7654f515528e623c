import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// `/app/{ws}/at-risk` (supervisors and admins): the customers to worry about, why, what was done and how long it
/// took; and which contact reasons put them there, week by week.
enum AtRiskPage {
    static let periods = [7, 30, 90]

    static func show(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .supervisor)
        let t = desk.t
        let status = try AtRiskController.status(req)
        let current = status
        let days = req.query[Int.self, at: "days"].flatMap { periods.contains($0) ? $0 : nil } ?? 30
        let now = req.atiende.store.clock.now()
        let entries = try await req.atiende.atRisk.list(workspace: desk.workspaceID, status: status, since: now.addingTimeInterval(-Double(days) * 86_400))
        let conversations = Dictionary(try await desk.scope.query(Conversation.self, on: req.db).filter(\.$id ~~ entries.map(\.conversationID)).all()
            .map { ($0.id!, $0) }, uniquingKeysWith: { a, _ in a })
        let contacts = Dictionary(try await desk.scope.query(Contact.self, on: req.db).filter(\.$id ~~ entries.map(\.contactID)).all()
            .map { ($0.id!, $0) }, uniquingKeysWith: { a, _ in a })
        let zone = TimeZone(identifier: desk.workspace.timeZone) ?? .gmt
        let trends = try await req.atiende.atRisk.trends(workspace: desk.workspaceID, weeks: 12, now: now, zone: zone)
        let weekNames = trends.weeks.map { String(ReportQuery.day($0, in: zone).suffix(5)) }
        let ranked = trends.rows.sorted { ($0.value.reduce(0, +), $1.key) > ($1.value.reduce(0, +), $0.key) }
        let trendTable = ReportsPage.Table(id: "trends", title: t("at_risk.trends"), headers: [t("reports.dimension.reason")] + weekNames,
                                           rows: ranked.map { [$0.key.isEmpty ? t("reports.none") : $0.key] + $0.value.map(String.init) })
        if req.query[String.self, at: "format"] == "csv" {
            guard req.query[String.self, at: "table"] == trendTable.id else { throw AtiendeError.invalid("table is trends", code: "invalid_table") }
            return ReportsPage.csv(trendTable, filename: "atiende-at-risk-trends.csv")
        }
        func link(_ status: AtRiskService.Status) -> Node<HTML.BodyContext> {
            .a(.href(SiteURL.atRisk(desk.slug).path(query: [("status", status.rawValue), ("days", String(days))])),
               .if(status == current, .aria("current", "page")), .text(t("at_risk.status.\(status.rawValue)")))
        }
        let content: Node<HTML.BodyContext> = .div(.class("settings at-risk"),
            .h1(.text(t("at_risk.title"))),
            .p(.class("hint"), .text(t("at_risk.hint"))),
            .nav(.class("tabs"), .aria("label", t("at_risk.title")), link(.open), .text(" · "), link(.handled), .text(" · "), link(.all)),
            .form(.class("report-filters"), .method(.get), .action(SiteURL.atRisk(desk.slug).path),
                  .field(.type(.hidden), .name("status"), .value(status.rawValue)),
                  .label(.span(.text(t("reports.period_label"))),
                         .dropdown(.name("days"), .forEach(periods) { n in .option(.value(String(n)), .text(t("at_risk.days", n)), .selected(n == days)) })),
                  .button(.type(.submit), .text(t("reports.show")))),
            .div(.class("table-scroll"), .table(.class("grid"), .id("at-risk-list"),
                .thead(.tr(.th(.text(t("at_risk.when"))), .th(.text(t("at_risk.customer"))), .th(.text(t("at_risk.conversation"))),
                           .th(.text(t("at_risk.why"))), .th(.text(t("reports.dimension.reason"))), .th(.text(t("at_risk.done"))))),
                .tbody(.forEach(entries) { entry in
                    row(desk, entry, conversation: conversations[entry.conversationID], contact: contacts[entry.contactID])
                }))),
            .if(entries.isEmpty, .p(.class("hint"), .text(t("at_risk.empty")))),
            ReportsPage.section(trendTable, chart: SVGChart.bars(title: trendTable.title, categories: weekNames,
                                                                 series: ranked.prefix(5).map { (name: $0.key.isEmpty ? t("reports.none") : $0.key,
                                                                                                 values: $0.value.map(Double.init)) }),
                                csvBase: SiteURL.atRisk(desk.slug).path, t: t))
        return try await HTMLPage(html: Layout.desk(desk, title: t("at_risk.title"), page: "at-risk", content)).encodeResponse(for: req)
    }

    static func row(_ desk: Desk, _ entry: AtRiskEntry, conversation: Conversation?, contact: Contact?) -> Node<HTML.TableContext> {
        let t = desk.t
        let why = t("at_risk.kind.\(entry.kind.rawValue)") + " — " + (entry.kind == .slaBreach ? t("sla.\(entry.detail)") : entry.detail)
        let done: Node<HTML.BodyContext>
        if let handled = entry.handledAt {
            let minutes = max(1, Int(handled.timeIntervalSince(entry.createdAt) / 60))
            done = .text([t("at_risk.action.\(entry.action?.rawValue ?? "other")"), desk.memberName(entry.handledBy) ?? "",
                          t("at_risk.after", ReportsPage.duration(Double(minutes * 60), t)), entry.note ?? ""].filter { !$0.isEmpty }.joined(separator: " · "))
        } else {
            done = .form(.class("inline"), .data("api", SettingsPages.apiBase(desk) + "/at-risk/\(entry.id?.uuidString.lowercased() ?? "")/handle"),
                         .data("method", "POST"), .data("then", "reload"),
                         .label(.span(.class("sr"), .text(t("at_risk.done"))),
                                .dropdown(.name("action"), .forEach(AtRiskEntry.Action.allCases) { .option(.value($0.rawValue), .text(t("at_risk.action.\($0.rawValue)"))) })),
                         .label(.span(.class("sr"), .text(t("at_risk.note"))),
                                .field(.type(.text), .name("note"), .placeholder(t("at_risk.note")), .data("type", "omit-empty"),
                                       .attribute(named: "maxlength", value: "500"))),
                         .button(.type(.submit), .text(t("at_risk.handle"))), SettingsPages.formError())
        }
        return .tr(.class(entry.handledAt == nil ? "open" : "handled"),
            .td(.data("label", t("at_risk.when")), .text(desk.format.dateTime(entry.createdAt))),
            .td(.data("label", t("at_risk.customer")), .unwrap(contact) { c in
                .a(.href(SiteURL.contact(desk.slug, entry.contactID).path), .text(c.name ?? c.email ?? t("contact.unnamed")))
            }),
            .td(.data("label", t("at_risk.conversation")), .unwrap(conversation) { c in
                .group(.a(.href(SiteURL.conversation(desk.slug, c.number).path), .text("#\(c.number)")),
                       .if(!c.labels.isEmpty, .span(.class("hint"), .text(" " + c.labels.joined(separator: ", ")))))
            }),
            .td(.data("label", t("at_risk.why")), .text(why)),
            .td(.data("label", t("reports.dimension.reason")), .text(entry.reason ?? "—")),
            .td(.data("label", t("at_risk.done")), done))
    }
}
