import Foundation

extension UUID {
    /// A time-ordered id (RFC 9562, version 7): 48 bits of Unix milliseconds, then 74 random bits. Rows written one after
    /// another get ids that sort one after another, so the primary-key index grows at its end instead of at a random
    /// page for every row (on a database larger than its cache, a page read and a page write per index per row). And it
    /// costs no file: the random bits come from the system's generator (`getrandom`), where `UUID()` opens the random
    /// device for every id. For rows written in bulk or all day — messages, events, conversations, contacts; not for
    /// anything whose id must not tell when it was made.
    public static func ordered(at date: Date = Date()) -> UUID {
        var random = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        let high = (milliseconds << 16) | 0x7000 | (random.next() & 0x0FFF)
        let low = (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        func byte(_ value: UInt64, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: value >> (56 - 8 * index)) }
        return UUID(uuid: (byte(high, 0), byte(high, 1), byte(high, 2), byte(high, 3), byte(high, 4), byte(high, 5), byte(high, 6), byte(high, 7),
                           byte(low, 0), byte(low, 1), byte(low, 2), byte(low, 3), byte(low, 4), byte(low, 5), byte(low, 6), byte(low, 7)))
    }
}
