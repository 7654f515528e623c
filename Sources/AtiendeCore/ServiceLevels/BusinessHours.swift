import Foundation

/// When a team answers: a weekly schedule in a time zone, with holidays. Times are local wall-clock minutes, so
/// "09:00" stays 09:00 across daylight-saving changes; adjacent intervals (22:00–24:00 then 00:00–02:00) join, so a
/// night shift or a 24/7 calendar has no gap at midnight.
public struct BusinessHours: Codable, Sendable, Equatable {
    public enum Weekday: String, Codable, CodingKeyRepresentable, Sendable, CaseIterable {
        case sun, mon, tue, wed, thu, fri, sat
        /// `Calendar`'s weekday number (Sunday = 1).
        var number: Int { Self.allCases.firstIndex(of: self)! + 1 }
    }

    /// Minutes after local midnight, `0 ≤ start < end ≤ 1440`.
    public struct Interval: Codable, Sendable, Equatable {
        public var start: Int
        public var end: Int
        public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
        public init(hours from: Int, _ to: Int) { self.init(from * 60, to * 60) }
    }

    public struct Holiday: Codable, Sendable, Equatable {
        /// A local date, `YYYY-MM-DD`.
        public var date: String
        public var name: String
        public init(date: String, name: String) { self.date = date; self.name = name }
    }

    public var timeZone: String
    public var week: [Weekday: [Interval]]
    public var holidays: [Holiday]

    enum CodingKeys: String, CodingKey { case timeZone = "time_zone", week, holidays }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        timeZone = try c.decode(String.self, forKey: .timeZone)
        week = try c.decodeIfPresent([Weekday: [Interval]].self, forKey: .week) ?? [:]
        holidays = try c.decodeIfPresent([Holiday].self, forKey: .holidays) ?? []
    }

    public init(timeZone: String, week: [Weekday: [Interval]], holidays: [Holiday] = []) {
        self.timeZone = timeZone
        self.week = week
        self.holidays = holidays
    }

    /// Open every minute of every day (holidays still close it, if any are given).
    public static func alwaysOpen(timeZone: String = "UTC") -> BusinessHours {
        BusinessHours(timeZone: timeZone, week: Dictionary(uniqueKeysWithValues: Weekday.allCases.map { ($0, [Interval(0, 1440)]) }))
    }

    /// Monday to Friday, the same hours each day.
    public static func weekdays(_ from: Int, _ to: Int, timeZone: String, holidays: [Holiday] = []) -> BusinessHours {
        BusinessHours(timeZone: timeZone, week: [.mon, .tue, .wed, .thu, .fri].reduce(into: [:]) { $0[$1] = [Interval(hours: from, to)] },
                      holidays: holidays)
    }

    public func validate() throws {
        guard TimeZone(identifier: timeZone) != nil else {
            throw AtiendeError.invalid("'\(timeZone)' is not a time zone", code: "invalid_time_zone")
        }
        for (day, intervals) in week {
            for interval in intervals where !(0 <= interval.start && interval.start < interval.end && interval.end <= 1440) {
                throw AtiendeError.invalid("\(day.rawValue): hours must run from 00:00 to 24:00 with the start before the end",
                                           code: "invalid_business_hours")
            }
        }
        for holiday in holidays where Self.parse(holiday.date) == nil {
            throw AtiendeError.invalid("holiday '\(holiday.date)' is not a date (YYYY-MM-DD)", code: "invalid_holiday")
        }
    }

    static func parse(_ date: String) -> DateComponents? {
        let parts = date.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        return DateComponents(year: parts[0], month: parts[1], day: parts[2])
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        return calendar
    }

    /// Open intervals as absolute times, in order and merged where they touch, from the local day of `start`.
    public func openIntervals(from start: Date, days: Int = 14) -> [(start: Date, end: Date)] {
        var result: [(start: Date, end: Date)] = []
        walk(from: start, days: days) { result.append(($0, $1)); return true }
        return result
    }

    /// Visits merged open intervals that end after `start`, in order, until `visit` returns false.
    func walk(from start: Date, days: Int = 800, _ visit: (Date, Date) -> Bool) {
        let calendar = self.calendar
        let closed = Set(holidays.map(\.date))
        var pending: (Date, Date)?
        var day = calendar.startOfDay(for: start)
        for _ in 0..<days {
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            let key = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
            if !closed.contains(key), let weekday = Weekday.allCases.first(where: { $0.number == parts.weekday }) {
                for interval in (week[weekday] ?? []).sorted(by: { $0.start < $1.start }) {
                    let from = local(day, minute: interval.start, calendar: calendar)
                    let to = interval.end >= 1440 ? calendar.startOfDay(for: next) : local(day, minute: interval.end, calendar: calendar)
                    guard to > from else { continue }
                    if let open = pending, open.1 >= from {
                        pending = (open.0, max(open.1, to))
                    } else {
                        if let open = pending, open.1 > start, !visit(open.0, open.1) { return }
                        pending = (from, to)
                    }
                }
            }
            day = calendar.startOfDay(for: next)
        }
        if let open = pending, open.1 > start { _ = visit(open.0, open.1) }
    }

    /// A local wall-clock minute of a day; in a daylight-saving gap, the first minute that exists after it.
    private func local(_ day: Date, minute: Int, calendar: Calendar) -> Date {
        var parts = calendar.dateComponents([.year, .month, .day], from: day)
        parts.hour = minute / 60
        parts.minute = minute % 60
        return calendar.date(from: parts) ?? day.addingTimeInterval(TimeInterval(minute * 60))
    }

    public func isOpen(at date: Date) -> Bool {
        nextOpening(after: date) == date
    }

    /// `date` itself when open, else when it opens next (nil if it never does within two years).
    public func nextOpening(after date: Date) -> Date? {
        var opening: Date?
        walk(from: date) { start, _ in opening = max(start, date); return false }
        return opening
    }

    /// The moment `seconds` of open time have passed since `start` (nil if it never opens).
    public func adding(_ seconds: TimeInterval, to start: Date) -> Date? {
        var remaining = max(0, seconds)
        var due: Date?
        walk(from: start) { open, close in
            let from = max(open, start)
            let available = close.timeIntervalSince(from)
            if remaining <= available { due = from.addingTimeInterval(remaining); return false }
            remaining -= available
            return true
        }
        return due
    }

    /// Open time between two moments.
    public func openSeconds(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        var total: TimeInterval = 0
        walk(from: start) { open, close in
            guard open < end else { return false }
            total += min(close, end).timeIntervalSince(max(open, start))
            return true
        }
        return total
    }
}
