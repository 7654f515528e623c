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
