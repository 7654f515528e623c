// MIME parse throughput: `swift build -c release --product atiende-mime-bench && .build/release/atiende-mime-bench`.
// Parses (1) the fixture corpus, (2) typical 30 KB customer mails (alternative text+HTML, quoted reply, signature),
// (3) mails with a 5 MB base64 PDF, (4) one message of 500 small parts, each many times, and prints MB/s.
import AtiendeMail
import Foundation

func crlf(_ s: String) -> String { s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") }

func typical() -> Data {
    let para = "Hola, les escribo por el pedido nº 5521: llegó con la caja dañada y falta una pieza. ¿Pueden enviarla? Gracias.\n"
    let quoted = String(repeating: "> " + para, count: 60)
    return Data(crlf("""
    From: =?utf-8?Q?Jos=C3=A9_P=C3=A9rez?= <jose@example.com>
    To: soporte@tienda.cl
    Subject: =?utf-8?Q?Re:_[#5521]_Caja_da=C3=B1ada?=
    Message-ID: <bench@example.com>
    In-Reply-To: <atiende.c1.m1@tienda.cl>
    References: <atiende.c1.m1@tienda.cl>
    Date: Mon, 23 Nov 2026 10:00:00 -0300
    MIME-Version: 1.0
    Content-Type: multipart/alternative; boundary="b1"

    --b1
    Content-Type: text/plain; charset=utf-8
    Content-Transfer-Encoding: 8bit

    \(String(repeating: para, count: 40))
    El lun, 23 nov 2026 a las 09:00, Soporte escribió:
    \(quoted)
    --b1
    Content-Type: text/html; charset=utf-8
    Content-Transfer-Encoding: 8bit

    <html><body>\(String(repeating: "<p>" + para + "</p>", count: 40))<blockquote>\(quoted)</blockquote></body></html>
    --b1--

    """).utf8)
}

func withAttachment() -> Data {
    let pdf = Data((0..<(5 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    var lines = pdf.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    lines += "\r\n"
    return Data(crlf("""
    From: a@example.com
    To: soporte@tienda.cl
    Subject: Factura
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="m"

    --m
    Content-Type: text/plain; charset=utf-8

    Adjunto la factura.
    --m
    Content-Type: application/pdf; name="factura.pdf"
    Content-Disposition: attachment; filename="factura.pdf"
    Content-Transfer-Encoding: base64

    """).utf8) + Data(lines.utf8) + Data("--m--\r\n".utf8)
}

func manyParts() -> Data {
    var body = "From: a@example.com\r\nTo: b@example.com\r\nSubject: Muchas partes\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n"
    for n in 0..<500 {
        body += "--p\r\nContent-Type: application/octet-stream; name=\"parte-\(n).bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        body += Data(repeating: UInt8(n % 256), count: 2048).base64EncodedString(options: .lineLength76Characters) + "\r\n"
    }
    return Data((body + "--p--\r\n").utf8)
}

func corpus() -> [Data] {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Tests/AtiendeMailTests/Fixtures")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.filter { $0.hasSuffix(".eml") }.sorted().compactMap { try? Data(contentsOf: dir.appendingPathComponent($0)) }
}

func measure(_ name: String, _ messages: [Data], seconds: Double = 3) {
    let bytes = messages.reduce(0) { $0 + $1.count }
    guard bytes > 0 else { print("\(name): nothing to parse"); return }
    var rounds = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    while elapsed < seconds {
        for message in messages { _ = try? MIMEParser.parse(message) }
        rounds += 1
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    let mb = Double(bytes * rounds) / 1_048_576
    let perMessage = elapsed / Double(rounds * messages.count) * 1e6
    print(String(format: "%-34@ %8.1f MB/s  %9.0f messages/s  (%.0f µs each, %d × %d messages of %.1f KB avg)",
                 name as NSString, mb / elapsed, Double(rounds * messages.count) / elapsed, perMessage, rounds, messages.count,
                 Double(bytes) / Double(messages.count) / 1024))
}

measure("fixture corpus (48 shapes)", corpus())
measure("typical reply, text + HTML", [typical()])
measure("5 MB base64 PDF attachment", [withAttachment()])
measure("500 parts", [manyParts()])
