@testable import AtiendeCore
import Foundation
import Testing

@Suite("Time-ordered ids")
struct OrderedIDTests {
    @Test("version 7 with the RFC 9562 variant, the time in the first 48 bits, and ids of later times sorting after")
    func ordered() {
        let start = Date(timeIntervalSince1970: 1_780_000_000.123)
        let ids = (0..<1000).map { UUID.ordered(at: start.addingTimeInterval(Double($0) * 0.002)) }
        for id in ids {
            let bytes = id.uuid
            #expect(bytes.6 >> 4 == 7 && bytes.8 >> 6 == 0b10, "\(id)")
        }
        let first = ids[0].uuid
        let milliseconds = [first.0, first.1, first.2, first.3, first.4, first.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(milliseconds == 1_780_000_000_123)
        // Sorted as text (SQLite keeps them so) and as bytes (PostgreSQL), they come in the order they were made.
        #expect(ids.map(\.uuidString) == ids.map(\.uuidString).sorted())
        #expect(Set(ids).count == ids.count)
        #expect(Set((0..<1000).map { _ in UUID.ordered(at: start) }).count == 1000, "the same millisecond still gives distinct ids")
    }
}
