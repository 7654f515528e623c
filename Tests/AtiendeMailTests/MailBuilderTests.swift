@testable import AtiendeMail
import Foundation
import Testing

@Suite("Building mail")
struct MailBuilderTests {
    @Test("what we build parses back to the same message, within line limits")
    func roundTrip() throws {
        var mail = OutgoingMail(from: MailAddress(name: "Soporte Tienda Sur", email: "soporte@tienda.cl"),
                                to: [MailAddress(name: "José Pérez", email: "jose@example.com")],
                                subject: "Re: [#1234] Cotización del pedido nº 5521 — ¿cuándo llega? Necesito saberlo antes del viernes, gracias",
                                messageID: "atiende.c1234.m9@tienda.cl", date: Date(timeIntervalSince1970: 1_795_000_000),
                                text: "Hola José,\n\nTu pedido sale mañana. Línea larga: " + String(repeating: "ñandú = pingüino ", count: 12) + "\nFin con espacio al final \n")
        mail.cc = [MailAddress(name: "Compras \"Central\"", email: "compras@example.com")]
        mail.replyTo = MailAddress(name: "Soporte Tienda Sur", email: "soporte+k7Qx2m@tienda.cl")
        mail.inReplyTo = "CAF=abc@mail.gmail.com"
        mail.references = ["atiende.c1234.m1@tienda.cl", "CAF=abc@mail.gmail.com"]
        mail.html = "<p>Hola José,</p><p>Tu pedido sale mañana.</p>"
        mail.attachments = [
            MailAttachment(filename: "Guía de despacho nº 88.pdf", contentType: "application/pdf", contentID: nil, inline: false, data: Data("%PDF-1.4 guía".utf8)),
            MailAttachment(filename: "logo.png", contentType: "image/png", contentID: "logo@tienda", inline: true, data: Data([0x89, 0x50, 0x4E, 0x47])),
        ]
        mail.automatic = true
        let data = MailBuilder.build(mail)
        let raw = String(decoding: data, as: UTF8.self)
        for line in raw.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 78, "line too long: \(line)") }
        #expect(!raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "CRLF only")
        let sevenBit = raw.unicodeScalars.allSatisfy { $0.isASCII }
        #expect(sevenBit, "7-bit clean")

        let parsed = try MIMEParser.parse(data)
        #expect(parsed.subject == mail.subject)
        #expect(parsed.from == [mail.from])
        #expect(parsed.to == mail.to)
        #expect(parsed.cc == mail.cc)
        #expect(parsed.replyTo.first?.email == "soporte+k7Qx2m@tienda.cl")
        #expect(parsed.messageID == mail.messageID && parsed.inReplyTo == ["CAF=abc@mail.gmail.com"] && parsed.references == mail.references)
        #expect(parsed.date == mail.date)
        #expect(parsed.text == mail.text.replacingOccurrences(of: "\r\n", with: "\n"))
        #expect(parsed.html == mail.html)
        #expect(parsed.attachments.map(\.filename) == ["Guía de despacho nº 88.pdf", "logo.png"])
        #expect(parsed.attachments.map(\.data) == mail.attachments.map(\.data))
        #expect(parsed.attachments[1].inline && parsed.attachments[1].contentID == "logo@tienda")
        #expect(parsed.isAutomatic, "our automatic mail says so")
        #expect(parsed.headers.raw("Auto-Submitted") == "auto-replied")
    }

    @Test("plain text only, ASCII headers left readable")
    func plain() throws {
        let mail = OutgoingMail(from: MailAddress(name: nil, email: "soporte@tienda.cl"), to: [MailAddress(name: "Ana", email: "ana@example.com")],
                                subject: "Pedido 5521", messageID: "m1@tienda.cl", date: Date(timeIntervalSince1970: 0), text: "a=b\n")
        let raw = String(decoding: MailBuilder.build(mail), as: UTF8.self)
        #expect(raw.contains("Subject: Pedido 5521\r\n") && raw.contains("To: \"Ana\" <ana@example.com>\r\n"))
        #expect(raw.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"))
        let parsed = try MIMEParser.parse(Data(raw.utf8))
        #expect(parsed.text == "a=b\n")
        #expect(!parsed.isAutomatic)
    }
}
