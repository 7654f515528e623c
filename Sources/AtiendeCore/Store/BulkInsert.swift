import Foundation
import SQLKit

/// Inserts many rows with a single bound value: the rows travel as one JSON array and the database unpacks them
/// (`json_each` on SQLite, `jsonb_array_elements` on PostgreSQL). Binding each value separately costs more than
/// the insert itself on the hot ingest path.
struct BulkColumn {
    enum Kind { case uuid, text, int, date }
    var name: String
    var kind: Kind

    init(_ name: String, _ kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

enum BulkValue {
    case uuid(UUID?)
    case text(String?)
    case int(Int?)
    case date(Date?)

    var json: Any {
        switch self {
        case .uuid(let v): v.map { $0.uuidString as Any } ?? NSNull()
        case .text(let v): v.map { $0 as Any } ?? NSNull()
        case .int(let v): v.map { $0 as Any } ?? NSNull()
        case .date(let v): v.map { $0.timeIntervalSince1970 as Any } ?? NSNull()
        }
    }
}

extension WriteTransaction {
    /// `constants` are columns with the same value in every row (bound once).
    func bulkInsert(into table: String, columns: [BulkColumn], rows: [[BulkValue]],
                    constants: [(String, SQLQueryString)] = []) async throws {
        guard !rows.isEmpty else { return }
        let data = try JSONSerialization.data(withJSONObject: rows.map { $0.map(\.json) })
        let json = String(decoding: data, as: UTF8.self)
        var selects: [SQLQueryString] = []
        for (index, column) in columns.enumerated() {
            switch store.dialect {
            case .sqlite:
                selects.append("json_extract(j.value, '$[\(unsafeRaw: String(index))]')")
            case .postgres:
                let text = "(j.value->>\(index))"
                switch column.kind {
                case .uuid: selects.append("\(unsafeRaw: text)::uuid")
                case .text: selects.append("\(unsafeRaw: text)")
                case .int: selects.append("\(unsafeRaw: text)::bigint")
                case .date: selects.append("to_timestamp(\(unsafeRaw: text)::double precision)")
                }
            }
        }
        selects += constants.map(\.1)
        let names = (columns.map(\.name) + constants.map(\.0)).joined(separator: ", ")
        let source: SQLQueryString = store.dialect == .sqlite
            ? "json_each(\(bind: json)) AS j"
            : "jsonb_array_elements(\(bind: json)::jsonb) AS j(value)"
        try await sql.raw("""
            INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: names))
            SELECT \(selects.joined(separator: ", ")) FROM \(source)
            """).run()
    }
}
