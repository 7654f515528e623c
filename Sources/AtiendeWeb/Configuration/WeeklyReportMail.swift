import AtiendeCore
import AtiendeMail
import Fluent
import Foundation

/// The `report.weekly` job: the week's figures beside the week before's, by email, in the supervisor's language, with
/// the link to the reports of that week. Checked again when it runs: someone who stopped it, left or lost the role
/// gets nothing.
struct WeeklyReportMail: JobHandler {
    let store: Store
    let mail: SystemMail
    let publicURL: String?

    func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(WeeklyReports.Payload.self)
        let db = store.db
        guard let membership = try await Membership.query(on: db).filter(\.$id == payload.membershipID).with(\.$user).with(\.$workspace).first(),
              membership.weeklyReport == true, membership.role >= .supervisor, membership.user.isActive
        else { return }
        let workspace = membership.workspace, user = membership.user
        let workspaceID = try workspace.requireID()
        let t = Localizer(Localizer.Language(rawValue: user.language) ?? .es)
        // Monday to Sunday, whole days in the workspace's time zone, before the Monday it is sent.
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: workspace.timeZone) ?? .gmt
        let monday = calendar.startOfDay(for: payload.weekStart)
        let week = MetricsReport.Period(from: calendar.date(byAdding: .day, value: -7, to: monday) ?? monday, to: monday)
        let report = MetricsReport(store: store)
        let current = try await report.figures(workspace: workspaceID, period: week)
        let previous = try await report.figures(workspace: workspaceID, period: week.previous)
        let waiting = try await AtRiskEntry.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$handledAt == nil).count()
        let zone = calendar.timeZone
        let first = ReportQuery.day(week.from, in: zone), last = ReportQuery.day(week.to.addingTimeInterval(-1), in: zone)
        var lines = [t("mail.greeting", user.name), "", t("weekly.intro", workspace.name, first, last), ""]
        for row in ReportsPage.overviewTable(t, current, previous).rows { lines.append("- \(row[0]): \(row[1]) (\(t("reports.before", row[2])))") }
        lines += ["- " + t("weekly.at_risk", waiting)]
        if let base = publicURL?.trimmingCharacters(in: CharacterSet(charactersIn: "/")) {
            let link = base + SiteURL.reports(workspace.slug).path(query: [("period", "custom"), ("from", first), ("to", last)])
            lines += ["", t("weekly.open"), link, "", "-- ", t("weekly.why"), base + SiteURL.reports(workspace.slug).path]
        } else {
            lines += ["", "-- ", t("weekly.why")]
        }
        var outgoing = OutgoingMail(from: MailAddress(name: "Atiende · " + workspace.name, email: mail.from),
                                    to: [MailAddress(name: user.name, email: user.email)],
                                    subject: "[\(workspace.name)] " + t("weekly.subject", first, last),
                                    messageID: mail.messageID(job.id), date: store.clock.now(), text: lines.joined(separator: "\n"))
        outgoing.extraHeaders = [("Auto-Submitted", "auto-generated")]
        try await mail.send(outgoing)
    }
}
