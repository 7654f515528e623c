import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// `/app/{workspace}/settings/service`: business hours and holidays per inbox, service-level policies and the
/// automatic answers, as plain forms (hours "09:00-18:00, 19:00-21:00" per day; rules one per line).
enum ServiceSettingsPage {
    // MARK: Text forms of hours and rules

    static func hoursText(_ intervals: [BusinessHours.Interval]?) -> String {
        (intervals ?? []).sorted { $0.start < $1.start }
            .map { String(format: "%02d:%02d-%02d:%02d", $0.start / 60, $0.start % 60, $0.end / 60, $0.end % 60) }.joined(separator: ", ")
    }

    /// "09:00-18:00, 19:00-21:00", "24h" or empty (closed).
    static func parseHours(_ text: String, day: String) throws -> [BusinessHours.Interval] {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.isEmpty { return [] }
        if trimmed == "24h" || trimmed == "24" { return [.init(0, 1440)] }
        func minute(_ part: Substring) throws -> Int {
            let pieces = part.trimmingCharacters(in: .whitespaces).split(separator: ":").compactMap { Int($0) }
            guard (1...2).contains(pieces.count), (0...24).contains(pieces[0]), pieces.count == 1 || (0...59).contains(pieces[1]) else {
                throw AtiendeError.invalid("\(day): '\(text)' is not like 09:00-18:00", code: "invalid_business_hours")
            }
            return pieces[0] * 60 + (pieces.count == 2 ? pieces[1] : 0)
        }
        return try trimmed.split(separator: ",").map { range in
            let ends = range.split(separator: "-")
            guard ends.count == 2 else { throw AtiendeError.invalid("\(day): '\(text)' is not like 09:00-18:00", code: "invalid_business_hours") }
            return BusinessHours.Interval(try minute(ends[0]), try minute(ends[1]))
        }
    }

    /// One field per day (`day_mon` … `day_sun`), Monday first; with no hours yet, weekdays 09:00-18:00.
    static func weekFields<Context>(_ t: Localizer, _ hours: BusinessHours?) -> Node<Context> {
        let days: [BusinessHours.Weekday] = [.mon, .tue, .wed, .thu, .fri, .sat, .sun]
        return .element(named: "div", nodes: [.attribute(named: "class", value: "checks")] + days.map { day -> Node<Context> in
            let shown = hours?.week[day] ?? (hours == nil && ![.sat, .sun].contains(day) ? [.init(hours: 9, 18)] : nil)
            return .element(named: "label", nodes: [
                .element(named: "span", nodes: [.text(t("day.\(day.rawValue)"))]),
                .selfClosedElement(named: "input", attributes: Part.group([.type(.text), .name("day_\(day.rawValue)"), .value(hoursText(shown)),
                                                                           .placeholder("09:00-18:00"), .attribute(named: "size", value: "14")]).attributes()),
            ])
        })
    }

    static func parseWeek(_ form: [String: String]) throws -> [BusinessHours.Weekday: [BusinessHours.Interval]] {
        var week: [BusinessHours.Weekday: [BusinessHours.Interval]] = [:]
        for day in BusinessHours.Weekday.allCases {
            let intervals = try parseHours(form["day_\(day.rawValue)"] ?? "", day: day.rawValue)
            if !intervals.isEmpty { week[day] = intervals }
        }
        return week
    }

    static func holidaysText(_ holidays: [BusinessHours.Holiday]) -> String {
        holidays.map { "\($0.date) \($0.name)" }.joined(separator: "\n")
    }

    static func parseHolidays(_ text: String) -> [BusinessHours.Holiday] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let date = parts.first else { return nil }
            return .init(date: String(date), name: parts.count > 1 ? String(parts[1]) : "")
        }
    }

    static func rulesText(_ rules: ServiceLevelRules) -> String {
        func minutes(_ seconds: TimeInterval?) -> String {
            guard let seconds else { return "-" }
            let value = seconds / 60
            return value == value.rounded() ? String(Int(value)) : String(value)
        }
        return rules.rules.map { rule in
            "\(rule.channel?.rawValue ?? "*") \(rule.priority?.rawValue ?? "*") \(minutes(rule.targets.firstResponse)) \(minutes(rule.targets.nextResponse)) \(minutes(rule.targets.resolution))"
        }.joined(separator: "\n")
    }

    /// One rule per line: `channel priority first next resolution`, `*` for any, minutes or `-` for none.
    static func parseRules(_ text: String, known: [ChannelKind]) throws -> [ServiceLevelRules.Rule] {
        try text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            func bad() -> AtiendeError { AtiendeError.invalid("'\(line)' is not 'channel priority first next resolution'", code: "invalid_sla_policy") }
            guard parts.count == 5 else { throw bad() }
            let channel: ChannelKind? = parts[0] == "*" ? nil : try ChannelKind(rawValue: parts[0]).flatMap { known.contains($0) ? $0 : nil }.orThrow(bad())
            let priority: Priority? = parts[1] == "*" ? nil : try Priority(rawValue: parts[1]).orThrow(bad())
            func seconds(_ value: String) throws -> TimeInterval? {
                if value == "-" { return nil }
                guard let minutes = Double(value.replacingOccurrences(of: ",", with: ".")), minutes > 0 else { throw bad() }
                return (minutes * 60).rounded()
            }
            return .init(channel: channel, priority: priority,
                         targets: .init(firstResponse: try seconds(parts[2]), nextResponse: try seconds(parts[3]), resolution: try seconds(parts[4])))
        }
    }

    // MARK: Page

    static func view(_ desk: Desk, policies: [ServiceLevelPolicy], saved: Bool) -> Node<HTML.BodyContext> {
        let t = desk.t
        let action = SiteURL.settings(desk.slug, .service).path
        let policyOptions: [(String, String)] = [("", t("service.default_policy"))] + policies.map { ($0.id?.uuidString.lowercased() ?? "", $0.name) }
        return .group(
            .h1(.text(t("settings.service"))),
            .if(saved, .p(.class("notice"), .role("status"), .text(t("common.saved")))),
            .h2(.text(t("service.policies"))),
            .p(.class("hint"), .text(t("service.rules_hint"))),
            .forEach(policies) { policyForm(desk, $0, action: action) },
            .h3(.text(t("service.new_policy"))),
            policyForm(desk, nil, action: action),
            .h2(.text(t("service.inboxes"))),
            .forEach(desk.inboxes) { inboxForm(desk, $0, options: policyOptions, action: action) })
    }

    static func policyForm(_ desk: Desk, _ policy: ServiceLevelPolicy?, action: String) -> Node<HTML.BodyContext> {
        let t = desk.t
        let rules = policy?.rules ?? .defaults
        return .form(.class("stack team"), .method(.post), .action(action),
            .csrf(desk.csrf),
            .field(.type(.hidden), .name("action"), .value("policy")),
            .field(.type(.hidden), .name("policy_id"), .value(policy?.id?.uuidString.lowercased() ?? "")),
            .label(.span(.text(t("inbox.name"))), .field(.type(.text), .name("name"), .value(policy?.name ?? t("service.standard")), .required(true))),
            .label(.field(.type(.checkbox), .name("is_default"), .value("1"), .if(policy?.isDefault ?? (desk.inboxes.isEmpty == false), .attribute(named: "checked", value: "checked"))),
                   .text(" " + t("service.is_default"))),
            .label(.field(.type(.checkbox), .name("business_time"), .value("1"), .if(rules.businessTime, .attribute(named: "checked", value: "checked"))),
                   .text(" " + t("service.business_time"))),
            .label(.field(.type(.checkbox), .name("notify_in_business_hours"), .value("1"), .if(rules.notifyInBusinessHours, .attribute(named: "checked", value: "checked"))),
                   .text(" " + t("service.notify_in_hours"))),
            .label(.span(.text(t("service.warn_at"))), .field(.type(.number), .name("warn_at_percent"), .value(String(rules.warnAtPercent)),
                                                              .attribute(named: "min", value: "1"), .attribute(named: "max", value: "99"))),
            .label(.span(.text(t("service.escalate_priority"))),
                   .dropdown(.name("escalate_priority"), .option(.value(""), .text(t("service.no_escalation"))),
                             .forEach(Priority.allCases.filter { $0 != .none }) { p in
                                 .option(.value(p.rawValue), .text(t("priority.\(p.rawValue)")), .selected(rules.escalatePriority == p))
                             })),
            .label(.span(.text(t("service.rules"))), .textBox(.name("rules"), .attribute(named: "rows", value: "6"), .text(rulesText(rules)))),
            .button(.type(.submit), .class("primary"), .text(t(policy == nil ? "service.create_policy" : "common.save"))))
    }

    static func inboxForm(_ desk: Desk, _ inbox: Inbox, options: [(String, String)], action: String) -> Node<HTML.BodyContext> {
        let t = desk.t
        let service = ServiceLevelsController.inboxService(inbox)
        let hours = service.businessHours
        let replies = service.autoReplies ?? AutoReplies()
        return .form(.class("stack team"), .method(.post), .action(action),
            .csrf(desk.csrf),
            .h3(desk.badge(inbox.channel), .text(" " + inbox.name)),
            .field(.type(.hidden), .name("action"), .value("inbox")),
            .field(.type(.hidden), .name("inbox_id"), .value(inbox.id?.uuidString.lowercased() ?? "")),
            .label(.span(.text(t("service.policy"))), .dropdown(.name("sla_policy_id"), .forEach(options) { value, text in
                .option(.value(value), .text(text), .selected(value == (service.slaPolicyID?.uuidString.lowercased() ?? "")))
            })),
            .label(.field(.type(.checkbox), .name("has_hours"), .value("1"), .if(hours != nil, .attribute(named: "checked", value: "checked"))),
                   .text(" " + t("service.has_hours"))),
            .label(.span(.text(t("account.time_zone"))), AuthPages.timeZoneInput(hours?.timeZone ?? desk.workspace.timeZone)),
            weekFields(t, hours),
            .label(.span(.text(t("service.holidays"))), .textBox(.name("holidays"), .attribute(named: "rows", value: "3"),
                                                                .placeholder("2026-09-18 Fiestas Patrias"), .text(holidaysText(hours?.holidays ?? [])))),
            .label(.span(.text(t("service.first_answer") + " (es)")), .textBox(.name("first_answer_es"), .attribute(named: "rows", value: "2"), .text(replies.firstAnswer["es"] ?? ""))),
            .label(.span(.text(t("service.first_answer") + " (en)")), .textBox(.name("first_answer_en"), .attribute(named: "rows", value: "2"), .text(replies.firstAnswer["en"] ?? ""))),
            .label(.span(.text(t("service.after_hours") + " (es)")), .textBox(.name("after_hours_es"), .attribute(named: "rows", value: "2"), .text(replies.afterHours["es"] ?? ""))),
            .label(.span(.text(t("service.after_hours") + " (en)")), .textBox(.name("after_hours_en"), .attribute(named: "rows", value: "2"), .text(replies.afterHours["en"] ?? ""))),
            .label(.span(.text(t("service.capacity"))), .field(.type(.number), .name("capacity"), .value(replies.capacity.map(String.init) ?? ""),
                                                              .attribute(named: "min", value: "1"))),
            .label(.span(.text(t("service.busy") + " (es)")), .textBox(.name("busy_es"), .attribute(named: "rows", value: "2"), .text(replies.busy["es"] ?? ""))),
            .label(.span(.text(t("service.busy") + " (en)")), .textBox(.name("busy_en"), .attribute(named: "rows", value: "2"), .text(replies.busy["en"] ?? ""))),
            .p(.class("hint"), .text(t("service.variables"))),
            .button(.type(.submit), .class("primary"), .text(t("common.save"))))
    }

    // MARK: Saving

    static func save(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .admin)
        let form = try req.content.decode([String: String].self)
        let scope = desk.scope
        switch form["action"] {
        case "policy":
            let policy: ServiceLevelPolicy
            if let raw = form["policy_id"], !raw.isEmpty, let id = UUID(uuidString: raw) {
                policy = try await scope.find(ServiceLevelPolicy.self, id, on: req.db)
            } else {
                policy = ServiceLevelPolicy()
                policy.$workspace.id = desk.workspaceID
            }
            policy.name = try Names.valid(form["name"] ?? "")
            policy.isDefault = form["is_default"] != nil
            var rules = ServiceLevelRules(rules: try parseRules(form["rules"] ?? "", known: desk.channels.kinds), businessTime: form["business_time"] != nil,
                                          warnAtPercent: Int(form["warn_at_percent"] ?? "") ?? 75)
            rules.escalatePriority = form["escalate_priority"].flatMap { Priority(rawValue: $0) }
            rules.notifyInBusinessHours = form["notify_in_business_hours"] != nil
            policy.rules = rules
            try await req.atiende.policies.save(policy, actor: desk.userID)
        case "inbox":
            guard let raw = form["inbox_id"], let id = UUID(uuidString: raw) else { throw AtiendeError.notFound("inbox") }
            let inbox = try await scope.find(Inbox.self, id, on: req.db)
            var hours: BusinessHours?
            if form["has_hours"] != nil {
                hours = BusinessHours(timeZone: (form["time_zone"] ?? "").trimmingCharacters(in: .whitespaces), week: try parseWeek(form),
                                      holidays: parseHolidays(form["holidays"] ?? ""))
            }
            func texts(_ prefix: String) -> [String: String] {
                ["es", "en"].reduce(into: [:]) { result, language in
                    let text = (form["\(prefix)_\(language)"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                    if !text.isEmpty { result[language] = text }
                }
            }
            var capacity: Int?
            if let raw = form["capacity"]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
                guard let value = Int(raw), value > 0 else { throw AtiendeError.invalid("capacity is a whole number above 0", code: "invalid_capacity") }
                capacity = value
            }
            let replies = AutoReplies(firstAnswer: texts("first_answer"), afterHours: texts("after_hours"), language: desk.workspace.defaultLanguage,
                                      capacity: capacity, busy: texts("busy"))
            let body = ServiceLevelsController.InboxService(
                businessHours: hours, slaPolicyID: form["sla_policy_id"].flatMap { UUID(uuidString: $0) },
                autoReplies: replies.firstAnswer.isEmpty && replies.afterHours.isEmpty && replies.busy.isEmpty && capacity == nil ? nil : replies)
            try await ServiceLevelsController.apply(body, to: inbox, scope: scope, req: req)
        default:
            throw AtiendeError.invalid("unknown action", code: "invalid_form")
        }
        return req.redirect(to: SiteURL.settings(desk.slug, .service).path(query: [("saved", "1")]), redirectType: .normal)
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> any Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
