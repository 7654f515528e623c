import Foundation

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
                var text = Charsets.decode(MIMEParser.unixLines(body), charset: part.type.parameters["charset"])
                if part.type.subtype == "plain", part.type.parameters["format"]?.lowercased() == "flowed" {
                    text = FlowedText.unwrap(text, delSp: part.type.parameters["delsp"]?.lowercased() == "yes")
                }
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
