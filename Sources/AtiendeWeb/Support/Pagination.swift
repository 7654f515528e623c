import AtiendeCore
import Foundation
import SQLKit
import Vapor

/// A page of results and the cursor of the next one (`null` on the last page).
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    var data: [Item]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey { case data, nextCursor = "next_cursor" }

    /// `next_cursor` is always present, `null` on the last page.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// An opaque keyset cursor: the sort value and the tie-breaker of the last item returned.
struct Cursor: Codable, Sendable {
    var value: String
    var key: String

    enum CodingKeys: String, CodingKey { case value = "v", key = "k" }

    var encoded: String {
        (try? JSONEncoder().encode(self)).map { $0.base64URLEncoded() } ?? ""
    }

    static func decode(_ raw: String?) throws -> Cursor? {
        guard let raw, !raw.isEmpty else { return nil }
        var base64 = raw.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard raw.count <= 512, let data = Data(base64Encoded: base64),
              let cursor = try? JSONDecoder().decode(Cursor.self, from: data)
        else { throw AtiendeError.invalid("cursor is not one this API returned", code: "invalid_cursor") }
        return cursor
    }

    func date() throws -> Date {
        guard let seconds = Double(value) else { throw AtiendeError.invalid("cursor does not fit this sort", code: "invalid_cursor") }
        return Date(timeIntervalSince1970: seconds)
    }

    /// The rows after this cursor's row in the order (`column`, then the unique `key`), both descending or both ascending.
    /// PostgreSQL keeps times in whole microseconds and truncates the one it is given: the cursor's time, back from its
    /// text, may fall a hair short of the stored one and be taken for the microsecond before — and then the rows tied
    /// with it (rows written in one transaction share their time) would be skipped at the page's edge. So there the
    /// cursor's time is given as the middle of its microsecond. SQLite keeps the time exactly as the cursor carries it.
    func after(_ table: String, _ column: String, key: String, _ keyValue: some Encodable & Sendable, descending: Bool,
               dialect: DatabaseDialect) throws -> SQLQueryString {
        var date = try self.date()
        if dialect == .postgres {
            date = Date(timeIntervalSince1970: ((date.timeIntervalSince1970 * 1_000_000).rounded() + 0.5) / 1_000_000)
        }
        let order = descending ? "<" : ">"
        return """
            (\(ident: table).\(ident: column) \(unsafeRaw: order) \(bind: date)
             OR (\(ident: table).\(ident: column) = \(bind: date) AND \(ident: table).\(ident: key) \(unsafeRaw: order) \(bind: keyValue)))
            """
    }

    func int(_ raw: String) throws -> Int {
        guard let number = Int(raw) else { throw AtiendeError.invalid("cursor does not fit this sort", code: "invalid_cursor") }
        return number
    }

    func uuid() throws -> UUID {
        guard let id = UUID(uuidString: key) else { throw AtiendeError.invalid("cursor does not fit this sort", code: "invalid_cursor") }
        return id
    }
}

extension Request {
    /// `limit` query parameter, 1…200, default 50.
    func pageLimit(default fallback: Int = 50) throws -> Int {
        guard let raw = query[String.self, at: "limit"] else { return fallback }
        guard let limit = Int(raw), (1...200).contains(limit) else {
            throw AtiendeError.invalid("limit must be a whole number from 1 to 200", code: "invalid_limit")
        }
        return limit
    }

    func queryEnum<E: RawRepresentable>(_ name: String, _ type: E.Type) throws -> E? where E.RawValue == String {
        guard let raw = query[String.self, at: name], !raw.isEmpty else { return nil }
        guard let value = E(rawValue: raw) else { throw AtiendeError.invalid("'\(raw)' is not a valid \(name)", code: "invalid_\(name)") }
        return value
    }

    func queryUUID(_ name: String) throws -> UUID? {
        guard let raw = query[String.self, at: name], !raw.isEmpty else { return nil }
        guard let id = UUID(uuidString: raw) else { throw AtiendeError.invalid("\(name) must be a UUID", code: "invalid_\(name)") }
        return id
    }
}

extension Date {
    var cursorValue: String { String(timeIntervalSince1970) }
}
