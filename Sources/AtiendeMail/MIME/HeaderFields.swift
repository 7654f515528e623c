import Foundation

public enum HeaderParameters {
    public static func parse(_ raw: String) -> (String, [String: String]) {
        var pieces: [String] = []
        var current = ""
        var quoted = false, escaped = false
        for ch in raw {
            if escaped { current.append(ch); escaped = false; continue }
            if ch == "\\" && quoted { escaped = true; current.append(ch); continue }
            if ch == "\"" { quoted.toggle() }
            if ch == ";" && !quoted { pieces.append(current); current = ""; continue }
            current.append(ch)
        }
        pieces.append(current)
        let value = pieces.first?.trimmed ?? ""
        var simple: [String: String] = [:]
        var segments: [String: [(index: Int, encoded: Bool, value: String)]] = [:]
        for piece in pieces.dropFirst() {
            guard let eq = piece.firstIndex(of: "=") else { continue }
            var key = piece[..<eq].trimmed.lowercased()
            var value = piece[piece.index(after: eq)...].trimmed
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
            }
            guard !key.isEmpty else { continue }
            let encoded = key.hasSuffix("*")
            if encoded { key.removeLast() }
            if let star = key.lastIndex(of: "*"), let index = Int(key[key.index(after: star)...]) {
                segments[String(key[..<star]), default: []].append((index, encoded, value))
            } else if encoded {
                segments[key, default: []].append((0, true, value))
            } else {
                simple[key] = value
            }
        }
        for (key, parts) in segments {
            var charset: String?
            var bytes: [UInt8] = []
            for (n, part) in parts.sorted(by: { $0.index < $1.index }).enumerated() {
                var text = part.value
                if part.encoded {
                    if n == 0 {
                        let pieces = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                        if pieces.count == 3 { charset = String(pieces[0]); text = String(pieces[2]) }
                    }
                    bytes += percentDecoded(text)
                } else {
                    bytes += Array(text.utf8)
                }
            }
            simple[key] = Charsets.decode(bytes, charset: charset)
        }
        return (value, simple)
    }

    static func percentDecoded(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count, let value = UInt8(String(decoding: utf8[i + 1...i + 2], as: UTF8.self), radix: 16) {
                out.append(value)
                i += 3
            } else {
                out.append(utf8[i])
                i += 1
            }
        }
        return out
    }
}

/// RFC 2047 `=?charset?B|Q?text?=` words; whitespace between two encoded words disappears.
public enum EncodedWords {
    public static func decode(_ raw: String) -> String {
        guard raw.contains("=?") else { return raw }
        var out = ""
        var rest = Substring(raw)
        var pendingSpace = ""
        var lastWasEncoded = false
        while !rest.isEmpty {
            guard let start = rest.range(of: "=?") else { out += pendingSpace + rest; break }
            let before = rest[..<start.lowerBound]
            let afterStart = rest[start.upperBound...]
            // charset?enc?text?=
            let parts = afterStart.split(separator: "?", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let end = parts[2].range(of: "?=") else { out += pendingSpace + rest; break }
            let charset = parts[0].split(separator: "*").first.map(String.init) ?? ""
            let encoding = parts[1].uppercased()
            let encodedText = parts[2][..<end.lowerBound]
            guard encoding == "B" || encoding == "Q", !encodedText.contains(" ") else {
                out += pendingSpace + before + "=?"
                pendingSpace = ""
                lastWasEncoded = false
                rest = afterStart
                continue
            }
            if !(lastWasEncoded && before.allSatisfy(\.isWhitespace)) { out += pendingSpace + before }
            let bytes = encoding == "B" ? TransferEncoding.base64(Array(encodedText.utf8)) : TransferEncoding.quotedPrintable(Array(encodedText.utf8), header: true)
            out += Charsets.decode(bytes, charset: charset)
            pendingSpace = ""
            lastWasEncoded = true
            rest = parts[2][end.upperBound...]
        }
        return out
    }
}

/// `"Ana Pérez" <ana@example.com>, bob@example.com, Equipo: a@b.c, d@e.f;` → addresses.
public enum Addresses {
    public static func parse(_ raw: String?) -> [MailAddress] {
        guard let raw, !raw.isEmpty else { return [] }
        var items: [String] = []
        var current = ""
        var quoted = false, angle = 0, comment = 0
        for ch in raw {
            switch ch {
            case "\"" where comment == 0: quoted.toggle()
            case "<" where !quoted: angle += 1
            case ">" where !quoted: angle = max(0, angle - 1)
            case "(" where !quoted: comment += 1
            case ")" where !quoted: comment = max(0, comment - 1)
            case ",", ";":
                if !quoted && angle == 0 && comment == 0 { items.append(current); current = ""; continue }
            case ":" where !quoted && angle == 0 && comment == 0:
                // A group name ("Equipo: a@b, c@d;"): dropped, its members kept.
                current = ""
                continue
            default: break
            }
            current.append(ch)
        }
        items.append(current)
        return items.compactMap(address)
    }

    static func address(_ item: String) -> MailAddress? {
        var text = item.trimmed
        guard !text.isEmpty else { return nil }
        var email: String
        var name: String?
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            email = String(text[text.index(after: open)..<close])
            name = String(text[..<open])
        } else {
            // Comments: "ana@example.com (Ana)".
            if let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close {
                name = String(text[text.index(after: open)..<close])
                text.removeSubrange(open...close)
            }
            email = text
        }
        email = email.trimmed
        guard email.contains("@"), !email.contains(" ") else { return nil }
        name = name.map { raw in
            var text = raw.trimmed
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
                text = String(text.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
            }
            return EncodedWords.decode(text).trimmed
        }
        return MailAddress(name: name?.isEmpty == false ? name : nil, email: email)
    }
}

public enum MessageIDs {
    /// Every `<id>` in a header, without the brackets; bare ids when there are no brackets.
    public static func all(in raw: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(raw)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            let id = rest[rest.index(after: open)..<close].trimmed
            if !id.isEmpty, id.count <= 998 { ids.append(id) }
            rest = rest[rest.index(after: close)...]
        }
        if ids.isEmpty {
            ids = raw.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init).filter { $0.contains("@") }
        }
        return ids
    }
}

/// RFC 5322 dates (`Tue, 8 Dec 2026 10:00:00 -0300 (CLT)`), with the obsolete zone names and two-digit years.
public enum MailDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let zones: [String: Int] = ["ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -300, "edt": -240, "cst": -360, "cdt": -300,
                                       "mst": -420, "mdt": -360, "pst": -480, "pdt": -420]

    public static func parse(_ raw: String) -> Date? {
        var text = raw
        if let comment = text.firstIndex(of: "(") { text = String(text[..<comment]) }
        var tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map { $0.lowercased() }
        if let first = tokens.first, first.first?.isLetter == true { tokens.removeFirst() }
        guard tokens.count >= 4, let day = Int(tokens[0]), (1...31).contains(day),
              let month = months.firstIndex(of: String(tokens[1].prefix(3))), var year = Int(tokens[2]) else { return nil }
        if tokens[2].count <= 2 { year += year < 50 ? 2000 : 1900 }
        // A year outside what a mail can mean would overflow the arithmetic below (the fuzzer found one).
        guard (1...9999).contains(year) else { return nil }
        let time = tokens[3].split(separator: ":").compactMap { Int($0) }
        guard (2...3).contains(time.count), (0...23).contains(time[0]), (0...59).contains(time[1]),
              time.count == 2 || (0...60).contains(time[2]) else { return nil }
        var offset = 0
        if tokens.count > 4 {
            let zone = tokens[4]
            if let sign = zone.first, sign == "+" || sign == "-", zone.count == 5, let value = Int(zone.dropFirst()) {
                offset = (value / 100 * 60 + value % 100) * (sign == "-" ? -1 : 1)
            } else if let minutes = zones[zone] {
                offset = minutes
            }
        }
        // Days from the civil date (Howard Hinnant's algorithm), then seconds.
        let y = month < 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = month + 1
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let seconds = days * 86400 + time[0] * 3600 + time[1] * 60 + (time.count == 3 ? time[2] : 0) - offset * 60
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

/// HTML to readable text, for mail that has no plain part (display of the HTML itself goes through the sanitizer).
