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

    @Test("Outlook's reply header without an 'Original Message' line, in Spanish and English, starts the history")
    func outlookWithoutSeparator() throws {
        let spanish = """
            From: Marta Silva <marta@example.com>\r\nTo: soporte@tienda.cl\r\nSubject: RE: Cambio de talla [#42]\r\n\
            Message-ID: <o-es@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
            Perfecto, la cambio el lunes.\r\n\r\nDe: Tienda Sur <soporte@tienda.cl>\r\nEnviado el: lunes, 30 de noviembre de 2026 10:15\r\n\
            Para: Marta Silva <marta@example.com>\r\nAsunto: Cambio de talla [#42]\r\n\r\nHola Marta, puedes traerla a la tienda.\r\n
            """
        let english = """
            From: Kate <kate@example.com>\r\nTo: support@shop.example\r\nSubject: RE: Refund\r\n\
            Message-ID: <o-en@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
            Thanks, got it.\r\n\r\nFrom: Shop Support <support@shop.example>\r\nSent: Monday, November 30, 2026 10:15 AM\r\n\
            To: Kate <kate@example.com>\r\nSubject: Refund\r\n\r\nYour refund is on its way.\r\n
            """
        for (raw, visible, hidden) in [(spanish, "Perfecto, la cambio el lunes.", "puedes traerla"), (english, "Thanks, got it.", "on its way")] {
            let split = QuotedText.split(try MIMEParser.parse(Data(raw.utf8)).text)
            #expect(split.visible == visible && split.hidden.contains(hidden), "\(split)")
        }
    }

    @Test("format=flowed text (Apple Mail) is unwrapped for reading; quotes and the signature keep their lines")
    func flowed() throws {
        let raw = "From: Ana <ana@example.com>\r\nTo: soporte@tienda.cl\r\nSubject: Pedido\r\nMessage-ID: <f-1@example.com>\r\n"
            + "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\n"
            // With delsp=yes the space before each soft break was added by the sender (RFC 3676 §4.2): the text's own
            // space is the one before it.
            + "Hola, quer\u{00ED}a saber si el pedido 5521 ya  \r\nsali\u{00F3} de bodega, porque lo necesito para el  \r\nviernes.\r\n\r\n"
            + "> Su pedido est\u{00E1} en  \r\n> preparaci\u{00F3}n.\r\n\r\n-- \r\nAna\r\n"
        let text = try MIMEParser.parse(Data(raw.utf8)).text
        #expect(text.contains("Hola, quería saber si el pedido 5521 ya salió de bodega, porque lo necesito para el viernes."), "\(text)")
        #expect(text.contains("> Su pedido está en preparación."), "\(text)")
        #expect(text.contains("\n-- \nAna"), "\(text)")
        // Without delsp the space between the joined words stays.
        #expect(FlowedText.unwrap("uno \ndos", delSp: false) == "uno dos" && FlowedText.unwrap("uno \ndos", delSp: true) == "unodos")
    }
}
