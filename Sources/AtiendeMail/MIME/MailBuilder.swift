import Foundation

/// Builds the RFC 5322 messages Atiende sends: UTF-8 everywhere (RFC 2047 words in headers, quoted-printable text,
/// base64 files), lines within 78 characters, threading headers, and `Auto-Submitted: auto-replied` on automatic mail.
public struct OutgoingMail: Sendable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var cc: [MailAddress] = []
    public var replyTo: MailAddress?
    public var subject: String
    public var messageID: String
    public var inReplyTo: String?
    public var references: [String] = []
    public var date: Date
    public var text: String
    public var html: String?
    public var attachments: [MailAttachment] = []
    /// Sent by a machine (automatic answers): marked so that other machines don't answer it (RFC 3834).
    public var automatic = false
    public var extraHeaders: [(String, String)] = []

    public init(from: MailAddress, to: [MailAddress], subject: String, messageID: String, date: Date, text: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.messageID = messageID
        self.date = date
        self.text = text
    }
}

public enum MailBuilder {
    public static func build(_ mail: OutgoingMail, boundarySeed: String = String(UUID().uuidString.prefix(18))) -> Data {
        var headers: [(String, String)] = [
            ("From", address(mail.from)),
            ("To", mail.to.map(address).joined(separator: ", ")),
        ]
        if !mail.cc.isEmpty { headers.append(("Cc", mail.cc.map(address).joined(separator: ", "))) }
        if let replyTo = mail.replyTo { headers.append(("Reply-To", address(replyTo))) }
        headers.append(("Subject", encodeWords(mail.subject)))
        headers.append(("Date", rfc5322(mail.date)))
        headers.append(("Message-ID", "<\(mail.messageID)>"))
        if let parent = mail.inReplyTo { headers.append(("In-Reply-To", "<\(parent)>")) }
        if !mail.references.isEmpty { headers.append(("References", mail.references.map { "<\($0)>" }.joined(separator: " "))) }
        if mail.automatic {
            headers.append(("Auto-Submitted", "auto-replied"))
            headers.append(("X-Auto-Response-Suppress", "All"))
        }
        headers += mail.extraHeaders
        headers.append(("MIME-Version", "1.0"))

        let textPart = part(type: "text/plain; charset=utf-8", encoding: "quoted-printable", body: quotedPrintable(mail.text))
        var body: (type: String, content: String)
        if let html = mail.html {
            let boundary = "alt-" + boundarySeed
            let htmlPart = part(type: "text/html; charset=utf-8", encoding: "quoted-printable", body: quotedPrintable(html))
            body = ("multipart/alternative; boundary=\"\(boundary)\"", multipart([textPart, htmlPart], boundary: boundary))
        } else {
            body = ("text/plain; charset=utf-8", quotedPrintable(mail.text))
        }
        var encoding: String? = mail.html == nil ? "quoted-printable" : nil
        if !mail.attachments.isEmpty {
            let boundary = "mix-" + boundarySeed
            var parts = [mail.html == nil ? textPart : headerBlock([("Content-Type", body.type)]) + body.content]
            for file in mail.attachments {
                var fields = [("Content-Type", "\(file.contentType); \(parameter("name", file.filename))"),
                              ("Content-Disposition", "\(file.inline ? "inline" : "attachment"); \(parameter("filename", file.filename))")]
                if let id = file.contentID { fields.append(("Content-ID", "<\(id)>")) }
                fields.append(("Content-Transfer-Encoding", "base64"))
                parts.append(headerBlock(fields)
                             + file.data.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))
            }
            body = ("multipart/mixed; boundary=\"\(boundary)\"", multipart(parts, boundary: boundary))
            encoding = nil
        }
        headers.append(("Content-Type", body.type))
        if let encoding { headers.append(("Content-Transfer-Encoding", encoding)) }
        var out = headers.map { fold($0.0 + ": " + $0.1) }.joined(separator: "\r\n")
        out += "\r\n\r\n" + body.content
        if !out.hasSuffix("\r\n") { out += "\r\n" }
        return Data(out.utf8)
    }

    static func part(type: String, encoding: String, body: String) -> String {
        headerBlock([("Content-Type", type), ("Content-Transfer-Encoding", encoding)]) + body
    }

    /// Folded header lines and the blank line after them.
    static func headerBlock(_ fields: [(String, String)]) -> String {
        fields.map { fold($0.0 + ": " + $0.1) }.joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func multipart(_ parts: [String], boundary: String) -> String {
        parts.map { "--\(boundary)\r\n\($0)\r\n" }.joined() + "--\(boundary)--\r\n"
    }

    public static func address(_ a: MailAddress) -> String {
        guard let name = a.name, !name.isEmpty else { return "<\(a.email)>" }
        if name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" <\(a.email)>"
        }
        return encodeWords(name) + " <\(a.email)>"
    }

    /// RFC 2047 `=?utf-8?B?…?=` words when the text is not plain ASCII; each word within 75 characters.
    public static func encodeWords(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard !clean.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) || clean.contains("=?") else { return clean }
        var words: [String] = []
        var chunk = ""
        for character in clean {
            // 39 bytes of UTF-8 → 52 of base64, +12 of "=?utf-8?B??=" = 64: a word fits a line even right after "Subject: ".
            if (chunk + String(character)).utf8.count > 39 {
                words.append("=?utf-8?B?" + Data(chunk.utf8).base64EncodedString() + "?=")
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?" + Data(chunk.utf8).base64EncodedString() + "?=") }
        return words.joined(separator: " ")
    }

    /// `name*0*=utf-8''percent-encoded; name*1*=…` (RFC 2231, in pieces that fit a line) for non-ASCII file names,
    /// a quoted string otherwise.
    static func parameter(_ name: String, _ value: String) -> String {
        if value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" }), value.count < 50 {
            return "\(name)=\"\(value)\""
        }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "file"
        var pieces: [String] = []
        var rest = Substring(encoded)
        while !rest.isEmpty {
            // Never split a %XX escape.
            var end = rest.index(rest.startIndex, offsetBy: min(45, rest.count))
            if let percent = rest[..<end].lastIndex(of: "%"), rest.distance(from: percent, to: end) < 3 { end = percent }
            pieces.append(String(rest[..<end]))
            rest = rest[end...]
        }
        return pieces.enumerated().map { n, piece in "\(name)*\(n)*=\(n == 0 ? "utf-8''" : "")\(piece)" }.joined(separator: "; ")
    }

    /// Header lines longer than 78 characters folded at spaces.
    static func fold(_ line: String) -> String {
        guard line.count > 78 else { return line }
        var out = ""
        var current = ""
        for (n, word) in line.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            // Never right after "Name:": a value starting with folding white space reads differently in some parsers.
            if n > 1, !current.isEmpty, current.count + 1 + word.count > 78 {
                out += current + "\r\n"
                current = " " + word
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        return out + current
    }

    /// Quoted-printable with CRLF line ends and soft breaks before 76 characters.
    public static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var lines: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var encoded = ""
            var width = 0
            for (n, byte) in bytes.enumerated() {
                let last = n == bytes.count - 1
                let piece: String
                if (byte >= 33 && byte <= 126 && byte != 61) || (byte == 32 && !last) || (byte == 9 && !last) {
                    piece = String(UnicodeScalar(byte))
                } else {
                    piece = String(format: "=%02X", byte)
                }
                if width + piece.count > 75 {
                    encoded += "=\r\n"
                    width = 0
                }
                encoded += piece
                width += piece.count
            }
            lines.append(encoded)
        }
        return lines.joined(separator: "\r\n")
    }

    public static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
