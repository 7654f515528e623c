import Foundation

/// Bytes in a named charset to a Swift string. Spanish mail comes in UTF-8, ISO-8859-1 and Windows-1252 (often
/// mislabelled one as the other); unknown or lying labels fall back so that text is never lost.
public enum Charsets {
    /// Windows-1252's 0x80–0x9F (€, curly quotes, dashes…); the rest of the range is ISO-8859-1.
    static let cp1252: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    public static func decode(_ bytes: some Collection<UInt8>, charset raw: String?) -> String {
        let charset = (raw ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\"' \t")).lowercased()
        switch charset {
        case "utf-8", "utf8", "":
            return utf8OrLatin(bytes)
        case "us-ascii", "ascii", "ansi_x3.4-1968":
            return utf8OrLatin(bytes)
        case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1", "cp819":
            // Mail labelled Latin-1 is very often Windows-1252 (curly quotes, €): the supersets agree on every Latin-1 letter.
            return windows1252(bytes)
        case "windows-1252", "cp1252", "x-cp1252":
            return windows1252(bytes)
        case "iso-8859-15", "latin9", "latin-9":
            return latin9(bytes)
        case "utf-16", "utf-16le", "utf-16be":
            let data = Data(bytes)
            let encoding: String.Encoding = charset == "utf-16be" ? .utf16BigEndian : charset == "utf-16le" ? .utf16LittleEndian : .utf16
            return String(data: data, encoding: encoding) ?? utf8OrLatin(bytes)
        default:
            return utf8OrLatin(bytes)
        }
    }

    /// UTF-8 when the bytes are valid UTF-8, else Windows-1252 (so `cafÃ©`-style mojibake and lost letters don't happen).
    static func utf8OrLatin(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: Array(bytes), as: UTF8.self) { return text }
        return windows1252(bytes)
    }

    static func windows1252(_ bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.reserveCapacity(bytes.count)
        for byte in bytes {
            let value: UInt32 = (0x80...0x9F).contains(byte) ? UInt32(cp1252[Int(byte) - 0x80]) : UInt32(byte)
            scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
        }
        return String(scalars)
    }

    static func latin9(_ bytes: some Collection<UInt8>) -> String {
        let changed: [UInt8: UInt32] = [0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D, 0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178]
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(Unicode.Scalar(changed[byte] ?? UInt32(byte)) ?? "\u{FFFD}") }
        return String(scalars)
    }
}

/// Content transfer encodings.
public enum TransferEncoding {
    /// Base64, ignoring line breaks and anything that is not in the alphabet; a broken tail is dropped, not fatal.
    public static func base64(_ bytes: some Collection<UInt8>) -> [UInt8] {
        // Well-formed base64 (the usual case) goes through Foundation's decoder; anything odd through ours.
        if let data = Data(base64Encoded: Data(bytes), options: .ignoreUnknownCharacters) { return [UInt8](data) }
        return lenientBase64(bytes)
    }

    static func lenientBase64(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var buffer: UInt32 = 0, count = 0
        for byte in bytes {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            case UInt8(ascii: "="):
                // Padding ends a quantum.
                if count >= 2 { flush(&out, buffer, count) }
                buffer = 0; count = 0
                continue
            default: continue
            }
            buffer = buffer << 6 | value
            count += 1
            if count == 4 {
                out.append(UInt8(buffer >> 16 & 0xFF)); out.append(UInt8(buffer >> 8 & 0xFF)); out.append(UInt8(buffer & 0xFF))
                buffer = 0; count = 0
            }
        }
        if count >= 2 { flush(&out, buffer, count) }
        return out
    }

    private static func flush(_ out: inout [UInt8], _ buffer: UInt32, _ count: Int) {
        let shifted = buffer << (6 * UInt32(4 - count))
        out.append(UInt8(shifted >> 16 & 0xFF))
        if count == 3 { out.append(UInt8(shifted >> 8 & 0xFF)) }
    }

    /// Quoted-printable: `=XX` escapes and `=` soft line breaks; `_` is a space in encoded words (`header: true`).
    public static func quotedPrintable(_ bytes: some Collection<UInt8>, header: Bool = false) -> [UInt8] {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        while i < input.count {
            let byte = input[i]
            if byte == UInt8(ascii: "=") {
                if i + 2 < input.count, let high = hex(input[i + 1]), let low = hex(input[i + 2]) {
                    out.append(high << 4 | low)
                    i += 3
                    continue
                }
                // A soft line break: "=" then optional spaces and CRLF or LF.
                var j = i + 1
                while j < input.count, input[j] == UInt8(ascii: " ") || input[j] == UInt8(ascii: "\t") { j += 1 }
                if j < input.count, input[j] == UInt8(ascii: "\r") { j += 1 }
                if j < input.count, input[j] == UInt8(ascii: "\n") { i = j + 1; continue }
                if j >= input.count { break }
                out.append(byte)
                i += 1
            } else if header && byte == UInt8(ascii: "_") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else {
                out.append(byte)
                i += 1
            }
        }
        return out
    }
}
