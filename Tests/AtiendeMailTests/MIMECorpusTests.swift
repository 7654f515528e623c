@testable import AtiendeMail
import Foundation
import Testing

/// The fixture corpus (`Fixtures/make_corpus.py`): every message is parsed and compared with what it must give.
@Suite("MIME corpus")
struct MIMECorpusTests {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
    }

    @Test("the corpus has at least 40 real-shaped messages")
    func size() { #expect(Self.names.count >= 40) }

    @Test("each message gives what it must", arguments: names)
    func message(_ name: String) throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(name))
        let expectURL = Self.directory.appendingPathComponent(String(name.dropLast(4)) + ".json")
        let expect = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: expectURL)) as? [String: Any])
        let mail = try MIMEParser.parse(data)
        #expect(mail.raw == data, "the original is kept byte for byte")

        if let subject = expect["subject"] as? String { #expect(mail.subject == subject) }
        if expect.keys.contains("from") {
            if let from = expect["from"] as? [String] {
                #expect(mail.from.first?.email == from[0])
                if from.count > 1 { #expect(mail.from.first?.name == from[1]) }
            } else {
                #expect(mail.from.isEmpty)
            }
        }
        for (key, list) in [("to", mail.to), ("cc", mail.cc), ("reply_to", mail.replyTo)] {
            if let emails = expect[key] as? [String] { #expect(list.map(\.email) == emails, "\(key)") }
        }
        if let id = expect["message_id"] as? String { #expect(mail.messageID == id) }
        if let ids = expect["in_reply_to"] as? [String] { #expect(mail.inReplyTo == ids) }
        if let ids = expect["references"] as? [String] { #expect(mail.references == ids) }
        for needle in expect["text_contains"] as? [String] ?? [] { #expect(mail.text.contains(needle), "text has \(needle): \(mail.text.prefix(300))") }
        for needle in expect["text_not_contains"] as? [String] ?? [] { #expect(!mail.text.contains(needle), "text lacks \(needle)") }
        if let html = expect["html"] as? Bool { #expect((mail.html != nil) == html) }
        if let automatic = expect["automatic"] as? Bool { #expect(mail.isAutomatic == automatic) }
        if expect["problems"] as? Bool == true { #expect(!mail.problems.isEmpty) }
        if expect.keys.contains("date") {
            if let date = expect["date"] as? String {
                #expect(mail.date == ISO8601DateFormatter().date(from: date))
            } else {
                #expect(mail.date == nil)
            }
        }
        if let attachments = expect["attachments"] as? [[String: Any]] {
            #expect(mail.attachments.count == attachments.count, "\(mail.attachments.map(\.filename))")
            for (found, wanted) in zip(mail.attachments, attachments) {
                #expect(found.filename == wanted["filename"] as? String)
                #expect(found.contentType == wanted["content_type"] as? String)
                if let size = wanted["size"] as? Int { #expect(found.data.count == size, "\(found.filename)") }
                if let inline = wanted["inline"] as? Bool { #expect(found.inline == inline, "\(found.filename) inline") }
                if let id = wanted["content_id"] as? String { #expect(found.contentID == id) }
            }
        }
        if let report = expect["report"] as? [String: Any] {
            let found = try #require(mail.report)
            if let action = report["action"] as? String { #expect(found.action == action) }
            if let status = report["status"] as? String { #expect(found.status == status) }
            if let recipient = report["final_recipient"] as? String { #expect(found.finalRecipient == recipient) }
            if let original = report["original_message_id"] as? String { #expect(found.originalMessageID == original) }
            if let permanent = report["permanent"] as? Bool { #expect(found.permanent == permanent) }
            if let diagnostic = report["diagnostic_contains"] as? String { #expect(found.diagnostic?.contains(diagnostic) == true) }
        }
    }

    @Test("a message over the size limit is refused, not truncated")
    func tooLarge() {
        var limits = MIMEParser.Limits()
        limits.maxBytes = 10
        #expect(throws: MIMEParser.Failure.tooLarge(11)) { try MIMEParser.parse(Data(repeating: 65, count: 11), limits: limits) }
    }

    @Test("pieces: encoded words, parameters, quoted-printable, base64, charsets")
    func pieces() {
        #expect(EncodedWords.decode("=?utf-8?q?caf=C3=A9?= =?utf-8?q?_con_leche?=") == "café con leche")
        #expect(EncodedWords.decode("Re: =?ISO-8859-1?Q?Informaci=F3n?= urgente") == "Re: Información urgente")
        #expect(EncodedWords.decode("=?utf-8?x?nope?=") == "=?utf-8?x?nope?=")
        let (value, parameters) = HeaderParameters.parse("attachment; filename*=iso-8859-1'es'Informaci%F3n.pdf; size=12")
        #expect(value == "attachment" && parameters["filename"] == "Información.pdf" && parameters["size"] == "12")
        #expect(TransferEncoding.quotedPrintable(Array("a=3Db=\r\nc=ZZ".utf8)) == Array("a=bc=ZZ".utf8))
        #expect(TransferEncoding.base64(Array("SG9s\r\nYQ==".utf8)) == Array("Hola".utf8))
        #expect(TransferEncoding.base64(Array("SG9sYQ".utf8)) == Array("Hola".utf8), "missing padding")
        #expect(Charsets.decode([0x93, 0x68, 0x6f, 0x6c, 0x61, 0x94], charset: "windows-1252") == "“hola”")
        #expect(Charsets.decode([0xE9], charset: "utf-8") == "é", "invalid UTF-8 falls back instead of losing the letter")
        #expect(Addresses.parse("=?utf-8?Q?Mar=C3=ADa?= <maria@x.cl>").first == MailAddress(name: "María", email: "maria@x.cl"))
        let iso = ISO8601DateFormatter()
        #expect(MailDate.parse("Tue, 8 Dec 2026 10:00:00 -0300 (CLT)") == iso.date(from: "2026-12-08T13:00:00Z"))
        #expect(MailDate.parse("8 Dec 26 10:00 EST") == iso.date(from: "2026-12-08T15:00:00Z"))
        #expect(MailDate.parse("Sun, 29 Feb 2032 23:59:60 +0000") == iso.date(from: "2032-03-01T00:00:00Z"))
        #expect(MailDate.parse("ayer a las 5") == nil && MailDate.parse("Mon, 32 Jan 2026 10:00:00 +0000") == nil)
        // Years no mail can carry are refused instead of overflowing (a fuzzer find).
        #expect(MailDate.parse("1 Jan 9223372036854775807 10:00:00 +0000") == nil)
        #expect(MailDate.parse("1 Jan 1000000000000000 10:00:00 +0000") == nil)
        #expect(MailDate.parse("1 Jan -400000000000000000 10:00:00 +0000") == nil)
    }
}
