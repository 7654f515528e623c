import Foundation

public enum HTMLText {
    /// `&#233;` and `&#xE9;` as their characters.
    static func numericEntities(_ text: String) -> String {
        guard text.contains("&#") else { return text }
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "&#") {
            out += rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            guard let semi = after.firstIndex(of: ";"), after.distance(from: after.startIndex, to: semi) <= 8 else {
                out += "&#"
                rest = after
                continue
            }
            let body = after[..<semi]
            let value = body.first == "x" || body.first == "X" ? UInt32(body.dropFirst(), radix: 16) : UInt32(body)
            if let value, let scalar = Unicode.Scalar(value) { out.unicodeScalars.append(scalar) } else { out += "&#" + body + ";" }
            rest = after[after.index(after: semi)...]
        }
        return out + rest
    }

    public static func plain(_ html: String) -> String {
        var text = html
        for tag in ["script", "style", "head", "title"] {
            while let open = text.range(of: "<\(tag)", options: .caseInsensitive),
                  let close = text.range(of: "</\(tag)>", options: .caseInsensitive, range: open.upperBound..<text.endIndex) {
                text.removeSubrange(open.lowerBound..<close.upperBound)
            }
        }
        // A tag's attributes may hold ">" inside quotes: a tag ends at the first ">" outside them.
        let rest = #"(?:[^>"']|"[^"]*"|'[^']*')*>"#
        for (pattern, replacement) in [("<br\\b" + rest, "\n"), ("</p>", "\n\n"), ("</div>", "\n"), ("</tr>", "\n"), ("</li>", "\n"), ("<li\\b" + rest, "• ")] {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: [.regularExpression, .caseInsensitive])
        }
        text = text.replacingOccurrences(of: "</?[A-Za-z!]" + rest, with: "", options: .regularExpression)
        let entities = ["&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'", "&apos;": "'",
                        "&aacute;": "á", "&eacute;": "é", "&iacute;": "í", "&oacute;": "ó", "&uacute;": "ú", "&ntilde;": "ñ",
                        "&Aacute;": "Á", "&Eacute;": "É", "&Iacute;": "Í", "&Oacute;": "Ó", "&Uacute;": "Ú", "&Ntilde;": "Ñ",
                        "&iexcl;": "¡", "&iquest;": "¿", "&uuml;": "ü", "&euro;": "€"]
        for (entity, value) in entities { text = text.replacingOccurrences(of: entity, with: value) }
        text = numericEntities(text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmed }
        return lines.joined(separator: "\n").replacingOccurrences(of: "\n{3,}", with: "\n\n", options: .regularExpression)
            .trimmed
    }
}
