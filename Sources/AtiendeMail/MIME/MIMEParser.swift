import Foundation

extension StringProtocol {
    /// Without leading and trailing ASCII spaces, tabs and line breaks (Foundation's trimming is far slower).
    var trimmed: String {
        let whole = Substring(self)
        let utf8 = whole.utf8
        var start = utf8.startIndex, end = utf8.endIndex
        func blank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }
        while start < end, blank(utf8[start]) { start = utf8.index(after: start) }
        while end > start, blank(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return String(whole[start..<end])
    }
}

/// One header field, unfolded, its value as it came (use `MailHeaders.text` for the decoded form).
public struct MailHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    /// `name` lower-cased, for lookups.
    var key: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
        key = name.lowercased()
    }
}

public struct MailHeaders: Sendable, Equatable {
    public var fields: [MailHeader]

    public init(_ fields: [MailHeader] = []) { self.fields = fields }

    public func raw(_ name: String) -> String? {
        let key = name.lowercased()
        return fields.first { $0.key == key }?.value
    }
    public func all(_ name: String) -> [String] {
        let key = name.lowercased()
        return fields.filter { $0.key == key }.map(\.value)
    }
    /// The value with RFC 2047 encoded words decoded and whitespace tidied.
    public func text(_ name: String) -> String? { raw(name).map { EncodedWords.decode($0).trimmed } }
}

public struct MailAddress: Sendable, Equatable, Hashable {
    public var name: String?
    public var email: String

    public init(name: String?, email: String) {
        self.name = name
        self.email = email
    }
}

/// `type/subtype; key=value…`, parameters with RFC 2231 continuations and charsets put together.
public struct ContentType: Sendable, Equatable {
    public var type: String
    public var subtype: String
    public var parameters: [String: String]
    public var mime: String { "\(type)/\(subtype)" }

    public static let plain = ContentType(type: "text", subtype: "plain", parameters: [:])

    public init(type: String, subtype: String, parameters: [String: String]) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    public init(_ raw: String?) {
        guard let raw, !raw.isEmpty else { self = .plain; return }
        let (value, parameters) = HeaderParameters.parse(raw)
        let parts = value.lowercased().split(separator: "/", maxSplits: 1).map { $0.trimmed }
        if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
            type = parts[0]
            subtype = parts[1]
        } else {
            type = "text"
            subtype = "plain"
        }
        self.parameters = parameters
    }
}

public struct MailAttachment: Sendable, Equatable {
    public var filename: String
    public var contentType: String
    /// `cid:` reference of an inline image, without angle brackets.
    public var contentID: String?
    public var inline: Bool
    public var data: Data

    public init(filename: String, contentType: String, contentID: String?, inline: Bool, data: Data) {
        self.filename = filename
        self.contentType = contentType
        self.contentID = contentID
        self.inline = inline
        self.data = data
    }
}

/// What a bounce (multipart/report; report-type=delivery-status) says.
public struct DeliveryReport: Sendable, Equatable {
    public var action: String?
    public var status: String?
    public var diagnostic: String?
    public var finalRecipient: String?
    /// The Message-ID of the message that bounced, from the returned headers.
    public var originalMessageID: String?
    /// 5.x.x, or an action of "failed": the message will not be delivered.
    public var permanent: Bool { status?.hasPrefix("5") == true || action?.lowercased() == "failed" }
}

/// A parsed message. Parsing never fails on malformed input: what could not be read is listed in `problems`, and the
/// raw bytes are kept so the original can always be downloaded.
public struct ParsedMail: Sendable {
    public var raw: Data
    public var headers: MailHeaders
    public var subject: String
    public var from: [MailAddress]
    public var to: [MailAddress]
    public var cc: [MailAddress]
    public var replyTo: [MailAddress]
    public var messageID: String?
    public var inReplyTo: [String]
    public var references: [String]
    public var date: Date?
    /// The best plain text of the message (from text/plain, else from its HTML).
    public var text: String
    public var html: String?
    public var attachments: [MailAttachment]
    public var report: DeliveryReport?
    public var problems: [String]

    /// RFC 3834 and the common signs of mail sent by a machine: never answer it automatically.
    public var isAutomatic: Bool {
        if let auto = headers.raw("Auto-Submitted")?.trimmed.lowercased(), !auto.hasPrefix("no") { return true }
        if let precedence = headers.raw("Precedence")?.trimmed.lowercased(),
           ["bulk", "list", "junk", "auto_reply"].contains(precedence) { return true }
        if headers.raw("X-Loop") != nil || headers.raw("X-Auto-Response-Suppress") != nil || headers.raw("List-Id") != nil
            || headers.raw("X-Autoreply") != nil || headers.raw("X-Autorespond") != nil { return true }
        if let path = headers.raw("Return-Path")?.trimmed, path == "<>" || path.isEmpty { return true }
        if report != nil || ContentType(headers.raw("Content-Type")).subtype == "report" { return true }
        let sender = from.first?.email.lowercased() ?? ""
        return sender.hasPrefix("mailer-daemon@") || sender.hasPrefix("postmaster@")
    }
}

public enum MIMEParser {
    public struct Limits: Sendable {
        public var maxBytes = 50 * 1024 * 1024
        public var maxDepth = 16
        public var maxParts = 1000
        public init() {}
    }

    public enum Failure: Error, Equatable { case tooLarge(Int) }

    public static func parse(_ data: Data, limits: Limits = Limits()) throws -> ParsedMail {
        guard data.count <= limits.maxBytes else { throw Failure.tooLarge(data.count) }
        let bytes = [UInt8](data)
        var problems: [String] = []
        var walker = Walker(bytes: bytes, limits: limits)
        let root = walker.part(0..<bytes.count, depth: 0, defaultType: .plain)
        problems += walker.problems
        let headers = root.headers
        var text = walker.texts.joined(separator: "\n")
        let html = walker.htmls.first
        if text.trimmed.isEmpty, let html { text = HTMLText.plain(html) }
        let ids = { (name: String) in MessageIDs.all(in: headers.all(name).joined(separator: " ")) }
        return ParsedMail(
            raw: data, headers: headers, subject: headers.text("Subject") ?? "",
            from: Addresses.parse(headers.raw("From")), to: Addresses.parse(headers.raw("To")), cc: Addresses.parse(headers.raw("Cc")),
            replyTo: Addresses.parse(headers.raw("Reply-To")), messageID: ids("Message-ID").first, inReplyTo: ids("In-Reply-To"),
            references: ids("References"), date: headers.raw("Date").flatMap(MailDate.parse),
            text: text, html: html, attachments: walker.attachments,
            report: walker.report, problems: problems)
    }

    /// CRLF line ends as LF, the way text is shown and stored.
    static func unixLines(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(13) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 13, i + 1 < bytes.count, bytes[i + 1] == 10 { i += 1; continue }
            out.append(bytes[i])
            i += 1
        }
        return out
    }

    /// Header block and body start of a byte range: the first empty line ends the headers.
    static func split(_ bytes: [UInt8], _ range: Range<Int>) -> (headers: Range<Int>, body: Range<Int>) {
        var i = range.lowerBound
        while i < range.upperBound {
            if bytes[i] == 10 {
                // "\n\n" or "\n\r\n"
                if i + 1 < range.upperBound, bytes[i + 1] == 10 { return (range.lowerBound..<i + 1, i + 2..<range.upperBound) }
                if i + 2 < range.upperBound, bytes[i + 1] == 13, bytes[i + 2] == 10 { return (range.lowerBound..<i + 1, i + 3..<range.upperBound) }
            }
            i += 1
        }
        // A first line that is a header but no blank line: all headers. Otherwise (no colon) all body.
        return (range, range.upperBound..<range.upperBound)
    }

    static func headers(_ bytes: [UInt8], _ range: Range<Int>, problems: inout [String]) -> MailHeaders {
        var fields: [MailHeader] = []
        var lineStart = range.lowerBound
        func text(_ r: Range<Int>) -> String { Charsets.utf8OrLatin(bytes[r]) }
        while lineStart < range.upperBound {
            var lineEnd = lineStart
            while lineEnd < range.upperBound, bytes[lineEnd] != 10 { lineEnd += 1 }
            var end = lineEnd
            if end > lineStart, bytes[end - 1] == 13 { end -= 1 }
            defer { lineStart = lineEnd + 1 }
            guard end > lineStart else { continue }
            let first = bytes[lineStart]
            if first == 32 || first == 9 {
                if !fields.isEmpty { fields[fields.count - 1].value += " " + text(lineStart..<end).trimmed }
                continue
            }
            guard let colon = bytes[lineStart..<end].firstIndex(of: 58), colon > lineStart else {
                if fields.isEmpty, bytes[lineStart..<end].starts(with: Array("From ".utf8)) { continue }  // an mbox separator
                problems.append("header line without a name: \(text(lineStart..<min(end, lineStart + 60)))")
                continue
            }
            let name = text(lineStart..<colon).trimmed
            guard !name.isEmpty, !name.contains(" ") else {
                problems.append("malformed header: \(text(lineStart..<min(end, lineStart + 60)))")
                continue
            }
            fields.append(MailHeader(name: name, value: text(colon + 1..<end).trimmed))
        }
        return MailHeaders(fields)
    }

    struct Part {
        var headers: MailHeaders
        var type: ContentType
    }

    /// Walks the MIME tree once, collecting texts, HTML, attachments and the delivery report.
    struct Walker {
        let bytes: [UInt8]
        let limits: Limits
        var problems: [String] = []
        var texts: [String] = []
        var htmls: [String] = []
        var attachments: [MailAttachment] = []
        var report: DeliveryReport?
        var parts = 0

        init(bytes: [UInt8], limits: Limits) {
            self.bytes = bytes
            self.limits = limits
        }

        mutating func part(_ range: Range<Int>, depth: Int, defaultType: ContentType, inAlternative: Bool = false) -> Part {
            parts += 1
            let (headerRange, bodyRange) = MIMEParser.split(bytes, range)
            let headers = MIMEParser.headers(bytes, headerRange, problems: &problems)
            let type = headers.raw("Content-Type").map { ContentType($0) } ?? defaultType
            let this = Part(headers: headers, type: type)
            guard parts <= limits.maxParts else {
                if parts == limits.maxParts + 1 { problems.append("more than \(limits.maxParts) parts; the rest were not read") }
                return this
            }
            if type.type == "multipart" {
                guard depth < limits.maxDepth else { problems.append("multiparts nested deeper than \(limits.maxDepth)"); return this }
                guard let boundary = type.parameters["boundary"], !boundary.isEmpty else {
                    problems.append("multipart without a boundary; read as text")
                    leaf(Part(headers: headers, type: .plain), bodyRange, inAlternative: inAlternative)
                    return this
                }
                let children = MIMEParser.children(bytes, bodyRange, boundary: boundary)
                if children.isEmpty {
                    // Nothing is lost: the body is read as text.
                    problems.append("multipart with no parts (boundary \(boundary.prefix(40)) not found); read as text")
                    leaf(Part(headers: headers, type: .plain), bodyRange, inAlternative: inAlternative)
                    return this
                }
                let childDefault = type.subtype == "digest" ? ContentType(type: "message", subtype: "rfc822", parameters: [:]) : ContentType.plain
                if type.subtype == "alternative" {
                    alternative(children, depth: depth, defaultType: childDefault)
                } else {
                    for child in children { _ = part(child, depth: depth + 1, defaultType: childDefault, inAlternative: inAlternative) }
                }
                return this
            }
            leaf(this, bodyRange, inAlternative: inAlternative)
            return this
        }

        /// multipart/alternative: the richest plain text and the richest HTML, not every version of the same body.
        mutating func alternative(_ children: [Range<Int>], depth: Int, defaultType: ContentType) {
            let textsBefore = texts.count, htmlsBefore = htmls.count
            for child in children { _ = part(child, depth: depth + 1, defaultType: defaultType, inAlternative: true) }
            if texts.count > textsBefore + 1 { texts.removeSubrange(textsBefore..<texts.count - 1) }
            if htmls.count > htmlsBefore + 1 { htmls.removeSubrange(htmlsBefore..<htmls.count - 1) }
        }

        mutating func leaf(_ part: Part, _ range: Range<Int>, inAlternative: Bool) {
            let encoding = part.headers.raw("Content-Transfer-Encoding")?.trimmed.lowercased() ?? "7bit"
            let raw = bytes[range]
            let body: [UInt8] = switch encoding {
            case "base64": TransferEncoding.base64(raw)
            case "quoted-printable": TransferEncoding.quotedPrintable(raw)
            default: Array(raw)
            }
            let (disposition, dispositionParameters) = part.headers.raw("Content-Disposition").map(HeaderParameters.parse) ?? ("", [:])
            let isAttachment = disposition.lowercased() == "attachment"
            var filename = (dispositionParameters["filename"] ?? part.type.parameters["name"]).map { EncodedWords.decode($0) }
            let contentID = part.headers.raw("Content-ID").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "<> \t")) }
            let mime = part.type.mime

            if part.type.type == "text", !isAttachment, filename == nil || inAlternative, ["plain", "html", "enriched"].contains(part.type.subtype) {
                let text = Charsets.decode(MIMEParser.unixLines(body), charset: part.type.parameters["charset"])
                if part.type.subtype == "html" { htmls.append(text) } else { texts.append(text) }
                return
            }
            if mime == "message/delivery-status" {
                report = MIMEParser.deliveryStatus(Charsets.utf8OrLatin(body), previous: report)
                return
            }
            if mime == "text/rfc822-headers" || (mime == "message/rfc822" && report != nil) {
                var ignored: [String] = []
                let returned = MIMEParser.headers(body, MIMEParser.split(body, 0..<body.count).headers, problems: &ignored)
                if report != nil, let id = MessageIDs.all(in: returned.raw("Message-ID") ?? "").first { report?.originalMessageID = id }
                if mime == "text/rfc822-headers" { return }
            }
            if filename == nil {
                let ext: String = switch mime {
                case "message/rfc822": "eml"
                case "text/calendar": "ics"
                case "text/plain": "txt"
                case "text/html": "html"
                default: String(part.type.subtype.prefix(10)).filter { $0.isLetter || $0.isNumber }
                }
                let base = mime == "message/rfc822" ? "forwarded" : mime == "text/calendar" ? "invite" : (part.type.type == "image" ? "image" : "attachment")
                filename = "\(base)-\(attachments.count + 1).\(ext.isEmpty ? "bin" : ext)"
            }
            attachments.append(MailAttachment(filename: filename ?? "attachment", contentType: mime, contentID: contentID,
                                              inline: !isAttachment && (contentID != nil || disposition.lowercased() == "inline"), data: Data(body)))
        }
    }

    /// The byte ranges of a multipart body's parts (between `--boundary` lines, before `--boundary--`).
    static func children(_ bytes: [UInt8], _ range: Range<Int>, boundary: String) -> [Range<Int>] {
        let delimiter = Array(("--" + boundary).utf8)
        var result: [Range<Int>] = []
        var start: Int?
        var lineStart = range.lowerBound
        while lineStart < range.upperBound {
            var lineEnd = lineStart
            while lineEnd < range.upperBound, bytes[lineEnd] != 10 { lineEnd += 1 }
            let next = min(lineEnd + 1, range.upperBound)
            if lineEnd - lineStart >= delimiter.count, bytes[lineStart] == 45, bytes[lineStart + 1] == 45,
               bytes[lineStart..<lineStart + delimiter.count].elementsEqual(delimiter) {
                let rest = bytes[(lineStart + delimiter.count)..<lineEnd]
                let closing = rest.starts(with: [45, 45])
                let trailing = closing ? rest.dropFirst(2) : rest
                if trailing.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) {
                    if let s = start {
                        // The line break before the delimiter belongs to the delimiter.
                        var end = lineStart
                        if end > s, bytes[end - 1] == 10 { end -= 1 }
                        if end > s, bytes[end - 1] == 13 { end -= 1 }
                        result.append(s..<max(s, end))
                    }
                    if closing { return result }
                    start = next
                }
            }
            lineStart = next
        }
        // No closing delimiter (a truncated message): keep what there is.
        if let s = start, s < range.upperBound { result.append(s..<range.upperBound) }
        return result
    }

    static func deliveryStatus(_ text: String, previous: DeliveryReport?) -> DeliveryReport {
        var report = previous ?? DeliveryReport()
        var fields: [String: String] = [:]
        var last: String?
        for line in text.split(whereSeparator: \.isNewline) {
            if let first = line.first, first == " " || first == "\t", let key = last {
                fields[key, default: ""] += " " + line.trimmed
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmed.lowercased()
            // Per-recipient fields come after the per-message ones; the first recipient wins.
            if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmed }
            last = key
        }
        func value(_ key: String) -> String? {
            fields[key].map { v in v.split(separator: ";", maxSplits: 1).count == 2 && ["final-recipient", "diagnostic-code", "original-recipient"].contains(key)
                ? v.split(separator: ";", maxSplits: 1)[1].trimmed : v }
        }
        report.action = value("action") ?? report.action
        report.status = value("status") ?? report.status
        report.diagnostic = value("diagnostic-code") ?? report.diagnostic
        report.finalRecipient = value("final-recipient") ?? report.finalRecipient
        return report
    }
}


/// `value; key=value; key*=charset'lang'%xx; key*0="a"; key*1="b"` → the value and its parameters, lower-cased keys.
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
public enum HTMLText {
    /// `&#233;` and `&#xE9;` as their characters.
    static func numericEntities(_ text: String) -> String {
        guard text.contains("&#") else { return text }
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "&#") {
            out += rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            guard let semi = after.firstIndex(of: ";"), after.distance(from: after.startIndex, to: semi) <= 8 else {
                out += "&#"
                rest = after
                continue
            }
            let body = after[..<semi]
            let value = body.first == "x" || body.first == "X" ? UInt32(body.dropFirst(), radix: 16) : UInt32(body)
            if let value, let scalar = Unicode.Scalar(value) { out.unicodeScalars.append(scalar) } else { out += "&#" + body + ";" }
            rest = after[after.index(after: semi)...]
        }
        return out + rest
    }

    public static func plain(_ html: String) -> String {
        var text = html
        for tag in ["script", "style", "head", "title"] {
            while let open = text.range(of: "<\(tag)", options: .caseInsensitive),
                  let close = text.range(of: "</\(tag)>", options: .caseInsensitive, range: open.upperBound..<text.endIndex) {
                text.removeSubrange(open.lowerBound..<close.upperBound)
            }
        }
        for (pattern, replacement) in [("<br[^>]*>", "\n"), ("</p>", "\n\n"), ("</div>", "\n"), ("</tr>", "\n"), ("</li>", "\n"), ("<li[^>]*>", "• ")] {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: [.regularExpression, .caseInsensitive])
        }
        text = text.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        let entities = ["&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'", "&apos;": "'",
                        "&aacute;": "á", "&eacute;": "é", "&iacute;": "í", "&oacute;": "ó", "&uacute;": "ú", "&ntilde;": "ñ",
                        "&Aacute;": "Á", "&Eacute;": "É", "&Iacute;": "Í", "&Oacute;": "Ó", "&Uacute;": "Ú", "&Ntilde;": "Ñ",
                        "&iexcl;": "¡", "&iquest;": "¿", "&uuml;": "ü", "&euro;": "€"]
        for (entity, value) in entities { text = text.replacingOccurrences(of: entity, with: value) }
        text = numericEntities(text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmed }
        return lines.joined(separator: "\n").replacingOccurrences(of: "\n{3,}", with: "\n\n", options: .regularExpression)
            .trimmed
    }
}
