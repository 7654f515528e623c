@testable import AtiendeCore
import Foundation
import Testing

/// Business hours and SLA clocks with explicit times (the clock is whatever the test says).
@Suite("Business hours and service-level clocks")
struct ServiceLevelTests {
    /// A UTC instant from an ISO-8601 string.
    func at(_ iso: String) -> Date { ISO8601.date(iso)! }

    let santiago = BusinessHours.weekdays(9, 18, timeZone: "America/Santiago")
    let madrid = BusinessHours.weekdays(9, 18, timeZone: "Europe/Madrid")

    @Test("a deadline skips the night and the weekend")
    func weekend() {
        // Friday 17:30 in Santiago (UTC-3 in November) + 1 h → Monday 09:30.
        #expect(santiago.adding(3600, to: at("2026-11-20T20:30:00Z")) == at("2026-11-23T12:30:00Z"))
        #expect(santiago.isOpen(at: at("2026-11-20T20:30:00Z")))
        #expect(!santiago.isOpen(at: at("2026-11-21T15:00:00Z")), "Saturday")
        #expect(santiago.nextOpening(after: at("2026-11-21T15:00:00Z")) == at("2026-11-23T12:00:00Z"))
        #expect(santiago.openSeconds(from: at("2026-11-20T20:30:00Z"), to: at("2026-11-23T12:30:00Z")) == 3600)
    }

    @Test("a night shift and a 24/7 calendar have no gap at midnight")
    func midnight() {
        let night = BusinessHours(timeZone: "UTC", week: Dictionary(uniqueKeysWithValues: BusinessHours.Weekday.allCases.map {
            ($0, [BusinessHours.Interval(hours: 0, 2), BusinessHours.Interval(hours: 22, 24)])
        }))
        #expect(night.adding(3600, to: at("2026-11-23T23:30:00Z")) == at("2026-11-24T00:30:00Z"))
        #expect(night.openIntervals(from: at("2026-11-23T23:00:00Z"), days: 2).first.map { $0.end } == at("2026-11-24T02:00:00Z"))
        let always = BusinessHours.alwaysOpen(timeZone: "America/Santiago")
        #expect(always.adding(60, to: at("2026-11-24T02:59:30Z")) == at("2026-11-24T03:00:30Z"), "23:59:30 local + 60 s")
        #expect(always.openSeconds(from: at("2026-11-23T00:00:00Z"), to: at("2026-11-30T00:00:00Z")) == 7 * 86_400)
    }

    @Test("daylight-saving changes in America/Santiago")
    func santiagoDST() {
        // Chile moves from UTC-4 to UTC-3 at 24:00 on Saturday 5 September 2026 (00:00 → 01:00).
        let always = BusinessHours.alwaysOpen(timeZone: "America/Santiago")
        #expect(always.adding(3600, to: at("2026-09-06T03:30:00Z")) == at("2026-09-06T04:30:00Z"), "an hour is an hour across the jump")
        // Friday 17:00 (UTC-4) + 2 h of office time → 1 h on Friday, then Monday 09:00 now in UTC-3 (12:00Z) + 1 h.
        #expect(santiago.adding(7200, to: at("2026-09-04T21:00:00Z")) == at("2026-09-07T13:00:00Z"))
        // And back to UTC-4 at 24:00 on Saturday 4 April 2026: Friday 17:00 (UTC-3) + 2 h → Monday 10:00 UTC-4 (14:00Z).
        #expect(santiago.adding(7200, to: at("2026-04-03T20:00:00Z")) == at("2026-04-06T14:00:00Z"))
    }

    @Test("daylight-saving changes in Europe/Madrid")
    func madridDST() {
        // 29 March 2026: 02:00 → 03:00. 01:30 CET + 1 h of calendar time = 03:30 CEST.
        let always = BusinessHours.alwaysOpen(timeZone: "Europe/Madrid")
        #expect(always.adding(3600, to: at("2026-03-29T00:30:00Z")) == at("2026-03-29T01:30:00Z"))
        // Friday 27 March 17:30 CET + 1 h → 30 min Friday, Monday 09:00 CEST (07:00Z) + 30 min.
        #expect(madrid.adding(3600, to: at("2026-03-27T16:30:00Z")) == at("2026-03-30T07:30:00Z"))
        // 25 October 2026: 03:00 → 02:00. Friday 17:30 CEST + 1 h → 30 min Friday, Monday 09:00 CET (08:00Z) + 30 min.
        #expect(madrid.adding(3600, to: at("2026-10-23T15:30:00Z")) == at("2026-10-26T08:30:00Z"))
    }

    @Test("holidays are closed")
    func holidays() {
        let hours = BusinessHours.weekdays(9, 18, timeZone: "America/Santiago", holidays: [
            .init(date: "2026-09-18", name: "Fiestas Patrias"), .init(date: "2026-09-19", name: "Glorias del Ejército"),
        ])
        // Thursday 17 September 17:00 (UTC-3) + 2 h → 1 h Thursday; Friday is a holiday; Monday 21 09:00 + 1 h.
        #expect(hours.adding(7200, to: at("2026-09-17T20:00:00Z")) == at("2026-09-21T13:00:00Z"))
        #expect(!hours.isOpen(at: at("2026-09-18T14:00:00Z")))
        #expect(throws: AtiendeError.self) { try BusinessHours(timeZone: "UTC", week: [.mon: [.init(600, 500)]]).validate() }
        #expect(throws: AtiendeError.self) { try BusinessHours(timeZone: "Mars/Olympus", week: [:]).validate() }
        #expect(throws: AtiendeError.self) { try BusinessHours(timeZone: "UTC", week: [:], holidays: [.init(date: "18/09", name: "x")]).validate() }
    }

    @Test("clocks pause while pending, stop on resolve, and a note does not stop them")
    func clocks() {
        let time = ServiceTime.calendar
        let targets = ServiceLevelTargets(firstResponse: 3600, nextResponse: 1800, resolution: 86_400)
        var clocks = ConversationClocks()
        let t0 = at("2026-11-23T10:00:00Z")
        clocks.apply(.opened(at: t0), targets: targets, open: true, time: time)
        #expect(clocks.due(.firstResponse, time: time) == t0.addingTimeInterval(3600))
        // Pending for 20 minutes after 10 minutes: the deadline moves 20 minutes later.
        clocks.apply(.status(.pending, at: t0.addingTimeInterval(600)), targets: targets, open: false, time: time)
        #expect(clocks.due(.firstResponse, time: time) == nil, "paused")
        clocks.apply(.status(.open, at: t0.addingTimeInterval(1800)), targets: targets, open: true, time: time)
        #expect(clocks.due(.firstResponse, time: time) == t0.addingTimeInterval(3600 + 1200))
        // A bot's answer does not count; a person's does.
        clocks.apply(.answer(at: t0.addingTimeInterval(2000), byPerson: false), targets: targets, open: true, time: time)
        #expect(clocks.due(.firstResponse, time: time) != nil)
        clocks.apply(.answer(at: t0.addingTimeInterval(2400), byPerson: true), targets: targets, open: true, time: time)
        #expect(clocks.due(.firstResponse, time: time) == nil && clocks.met(.firstResponse) == true)
        // The customer writes again: the next-response clock starts; the answer stops it.
        clocks.apply(.customerMessage(at: t0.addingTimeInterval(3000)), targets: targets, open: true, time: time)
        #expect(clocks.due(.nextResponse, time: time) == t0.addingTimeInterval(4800))
        clocks.apply(.answer(at: t0.addingTimeInterval(5000), byPerson: true), targets: targets, open: true, time: time)
        #expect(clocks.met(.nextResponse) == false, "answered 200 s late")
        // Resolve stops resolution; reopening continues it.
        clocks.apply(.status(.resolved, at: t0.addingTimeInterval(7200)), targets: targets, open: false, time: time)
        #expect(clocks.due(.resolution, time: time) == nil && clocks.met(.resolution) == true)
        #expect(abs((clocks.used(.resolution, now: t0.addingTimeInterval(99_999), time: time) ?? 0) - 6000) < 0.001, "stopped: time no longer runs")
        clocks.apply(.status(.open, at: t0.addingTimeInterval(10_000)), targets: targets, open: true, time: time)
        #expect(clocks.due(.resolution, time: time) == t0.addingTimeInterval(10_000 + 86_400 - 6000))
    }

    @Test("resolved before anyone answered, then reopened: the customer is still waiting, their clock goes on")
    func reopenUnanswered() throws {
        let time = ServiceTime.calendar
        let targets = ServiceLevelTargets(firstResponse: 3600, nextResponse: 1800, resolution: 86_400)
        var clocks = ConversationClocks()
        let t0 = at("2026-11-23T10:00:00Z")
        clocks.apply(.opened(at: t0), targets: targets, open: true, time: time)
        clocks.apply(.status(.resolved, at: t0.addingTimeInterval(1000)), targets: targets, open: false, time: time)
        #expect(clocks.due(.firstResponse, time: time) == nil)
        clocks.apply(.status(.open, at: t0.addingTimeInterval(5000)), targets: targets, open: true, time: time)
        #expect(clocks.due(.firstResponse, time: time) == t0.addingTimeInterval(5000 + 3600 - 1000), "the resolved time does not count")
        // Stored and read back (as every write does), then answered: met, and a later reopening resumes nothing.
        let stored = try JSONDecoder().decode(ConversationClocks.self, from: try JSONEncoder().encode(clocks))
        #expect(stored == clocks)
        clocks.apply(.answer(at: t0.addingTimeInterval(5500), byPerson: true), targets: targets, open: true, time: time)
        clocks.apply(.status(.resolved, at: t0.addingTimeInterval(6000)), targets: targets, open: false, time: time)
        clocks.apply(.status(.open, at: t0.addingTimeInterval(7000)), targets: targets, open: true, time: time)
        #expect(clocks.due(.firstResponse, time: time) == nil && clocks.met(.firstResponse) == true)
        // Clocks stored before this existed (no "resumable") still decode.
        let old = #"{"clocks":{},"sent":[],"answered":false}"#
        #expect(throws: Never.self) { try JSONDecoder().decode(ConversationClocks.self, from: Data(old.utf8)) }
    }

    @Test("warnings and breaches are due once, and a policy change moves the deadline")
    func alerts() {
        let time = ServiceTime.calendar
        var clocks = ConversationClocks()
        let t0 = at("2026-11-23T10:00:00Z")
        let targets = ServiceLevelTargets(firstResponse: 3600)
        clocks.apply(.opened(at: t0), targets: targets, open: true, time: time)
        #expect(clocks.nextAlert(warnAtPercent: 75, time: time) == t0.addingTimeInterval(2700))
        #expect(clocks.dueAlerts(now: t0.addingTimeInterval(2000), warnAtPercent: 75, time: time).isEmpty)
        let warning = clocks.dueAlerts(now: t0.addingTimeInterval(2700), warnAtPercent: 75, time: time)
        #expect(warning.count == 1 && warning[0].0 == .firstResponse && warning[0].1 == .warning)
        clocks.markSent(.firstResponse, .warning)
        #expect(clocks.nextAlert(warnAtPercent: 75, time: time) == t0.addingTimeInterval(3600))
        // Policy change mid-conversation: 30 minutes instead of an hour → already breached.
        clocks.apply(.retarget(.init(firstResponse: 1800), at: t0.addingTimeInterval(2800)), targets: .init(firstResponse: 1800), open: true, time: time)
        #expect(clocks.due(.firstResponse, time: time) == t0.addingTimeInterval(1800))
        #expect(clocks.dueAlerts(now: t0.addingTimeInterval(2800), warnAtPercent: 75, time: time).map { $0.1 } == [.breach])
        clocks.markSent(.firstResponse, .breach)
        #expect(clocks.dueAlerts(now: t0.addingTimeInterval(9999), warnAtPercent: 75, time: time).isEmpty, "a breach fires once")
        #expect(clocks.nextAlert(warnAtPercent: 75, time: time) == nil)
        // Round-trips as JSON (it is stored on the conversation).
        let data = try! JSONEncoder().encode(clocks)
        #expect(try! JSONDecoder().decode(ConversationClocks.self, from: data) == clocks)
        #expect(String(decoding: data, as: UTF8.self).contains("\"first_response\""))
    }

    @Test("the most specific rule wins, and the defaults follow our sources")
    func rules() {
        let rules = ServiceLevelRules(rules: [
            .init(targets: .init(firstResponse: 3600)),
            .init(channel: .whatsapp, targets: .init(firstResponse: 30)),
            .init(priority: .urgent, targets: .init(firstResponse: 600)),
            .init(channel: .whatsapp, priority: .urgent, targets: .init(firstResponse: 15)),
        ])
        #expect(rules.targets(channel: .email, priority: .none)?.firstResponse == 3600)
        #expect(rules.targets(channel: .whatsapp, priority: .low)?.firstResponse == 30)
        #expect(rules.targets(channel: .email, priority: .urgent)?.firstResponse == 600)
        #expect(rules.targets(channel: .whatsapp, priority: .urgent)?.firstResponse == 15)
        #expect(ServiceLevelRules.defaults.targets(channel: .webchat, priority: .none)?.firstResponse == 30)
        #expect(ServiceLevelRules.defaults.targets(channel: .email, priority: .high)?.firstResponse == 3600)
        #expect(throws: AtiendeError.self) { try ServiceLevelRules(rules: [], warnAtPercent: 100).validate() }
    }
}
