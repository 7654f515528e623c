@testable import AtiendeMail
import Foundation
import Testing

@Suite("Quoted history and signatures")
struct QuotedTextTests {
    func corpus(_ name: String) throws -> ParsedMail {
        try MIMEParser.parse(Data(contentsOf: MIMECorpusTests.directory.appendingPathComponent(name)))
    }

    @Test("replies from the corpus show only what the customer wrote", arguments: [
        ("05-gmail-reply-quoted.eml", "Perfecto, la talla M me sirve. ¡Gracias!", "escribió:"),
        ("02-outlook-inline-image.eml", "Adjunto la foto del paquete dañado.\n\n[cid:image001.png@01DB3E]", "Enviado: lunes"),
        ("08-gmail-english-quote.eml", "Thanks, that works.", "wrote:"),
        ("11-apple-english-wrote.eml", "Great, thank you.", "Your refund"),
        ("12-iphone-plain.eml", "¿Tienen despacho a Temuco?", "Enviado desde mi iPhone"),
        ("14-samsung-latin1.eml", "Quiero devolver las zapatillas, ¿cómo lo hago?", "Enviado desde mi Galaxy"),
    ])
    func corpusReplies(_ name: String, _ visible: String, _ hiddenPart: String) throws {
        let split = QuotedText.split(try corpus(name).text)
        #expect(split.visible == visible)
        #expect(split.hidden.contains(hiddenPart))
    }

    @Test("Outlook in English and Spanish, separators, signatures, and nothing cut from a message that is all quote")
    func shapes() {
        let outlook = "Sounds good.\n\nFrom: Shop Support <support@shop.example>\nSent: Monday, November 23, 2026 6:00 PM\nTo: Kate\nSubject: Refund\n\nHello"
        #expect(QuotedText.split(outlook).visible == "Sounds good.")
        let spanish = "Ok, gracias.\n\n-----Mensaje original-----\nDe: Soporte\nEnviado el: lunes\n\nHola"
        #expect(QuotedText.split(spanish).visible == "Ok, gracias.")
        let signature = "Nos vemos.\n-- \nAna Pérez\nGerente de Compras\n+56 9 1111 2222"
        #expect(QuotedText.split(signature) == .init(visible: "Nos vemos.", hidden: "-- \nAna Pérez\nGerente de Compras\n+56 9 1111 2222"))
        let onlyQuote = "> texto citado\n> más"
        #expect(QuotedText.split(onlyQuote).visible == onlyQuote)
        let inline = "Respondo entre líneas:\n> ¿talla?\nM\n> ¿color?\nAzul"
        #expect(QuotedText.split(inline).visible == inline, "interleaved answers are the message")
        let wrapped = "Listo.\n\nEl lun, 23 nov 2026 a las 10:00, Soporte Tienda\n<soporte@tienda.cl> escribió:\n\n> Hola"
        #expect(QuotedText.split(wrapped).visible == "Listo.")
        let phone = "Sí, por favor.\n\nEnviado desde mi iPhone\n\n> El 23 nov 2026, a las 10:00, Soporte escribió:"
        #expect(QuotedText.split(phone).visible == "Sí, por favor.")
    }
}
