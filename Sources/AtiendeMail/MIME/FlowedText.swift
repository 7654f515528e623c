import Foundation

/// `format=flowed` plain text (RFC 3676), as Apple Mail and others send it: a line ending in a space continues on the
/// next one (of the same quote depth), so paragraphs are re-joined for reading; space-stuffing is undone; the
/// signature line "-- " stays a line of its own.
enum FlowedText {
    static func unwrap(_ text: String, delSp: Bool) -> String {
        var out: [String] = []
        var paragraph: String?
        var paragraphDepth = 0
        for raw in text.components(separatedBy: "\n") {
            var line = Substring(raw)
            var depth = 0
            while line.first == ">" { depth += 1; line = line.dropFirst() }
            if line.first == " " { line = line.dropFirst() }  // space-stuffing (or the space after the quote marks)
            let isSignature = line == "-- "
            let flowed = line.hasSuffix(" ") && !isSignature
            var content = String(line)
            if flowed && delSp { content.removeLast() }
            if let open = paragraph, depth == paragraphDepth {
                paragraph = open + content
            } else {
                if let open = paragraph { out.append(quoted(open, depth: paragraphDepth)) }
                paragraph = content
                paragraphDepth = depth
            }
            if !flowed {
                out.append(quoted(paragraph ?? "", depth: depth))
                paragraph = nil
            }
        }
        if let open = paragraph { out.append(quoted(open, depth: paragraphDepth)) }
        return out.joined(separator: "\n")
    }

    private static func quoted(_ line: String, depth: Int) -> String {
        depth == 0 ? line : String(repeating: ">", count: depth) + " " + line
    }
}
