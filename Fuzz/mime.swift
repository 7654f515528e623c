// libFuzzer target for the MIME parser: `scripts/fuzz-mime [seconds]` builds it with the parser's sources and runs it.
// Any crash, trap, hang (over 10 s per input) or memory error fails the run; the corpus starts from the fixtures.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    if let mail = try? MIMEParser.parse(data) {
        // The original is always kept, whatever happened to the parts.
        precondition(mail.raw == data)
        _ = mail.isAutomatic
        _ = mail.text.count
    }
    let text = String(decoding: data, as: UTF8.self)
    _ = EncodedWords.decode(text)
    _ = HeaderParameters.parse(text)
    _ = Addresses.parse(text)
    _ = MessageIDs.all(in: text)
    _ = HTMLText.plain(text)
    return 0
}
