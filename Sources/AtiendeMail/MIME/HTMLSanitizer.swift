import Foundation

/// Mail HTML reduced to an allow-list before anyone sees it: no scripts, event handlers, `javascript:` or `data:` URLs,
/// forms, frames, objects, styles or SVG; links only to http, https and mailto (opened in a new tab without referrer);
/// images only from `cid:` parts, or from the web when the agent asks (`allowRemoteImages`). Everything else is text.
/// The output is always well-formed: every tag it opens it closes.
public enum HTMLSanitizer {
    public struct Result: Sendable, Equatable {
        public var html: String
        /// Remote images that were held back (so the agent can be offered "show images").
        public var blockedImages: Int
    }

    static let allowed: Set<String> = [
        "a", "abbr", "b", "big", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "div", "dl", "dt",
        "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small",
        "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    ]
    static let void: Set<String> = ["br", "hr", "img", "col"]
    /// Dropped with everything inside them.
    static let dropped: Set<String> = [
        "script", "style", "head", "title", "iframe", "frameset", "object", "applet", "noscript", "noembed", "noframes",
        "template", "svg", "math", "textarea", "select", "option", "xmp", "plaintext", "canvas", "audio", "video",
    ]
    /// Dropped alone: void elements have no end tag, so skipping "to their end" would swallow the rest of the message
    /// (a `<picture><source>…<img></picture>` newsletter lost its text).
    static let droppedVoid: Set<String> = ["embed", "source", "track", "frame", "param", "wbr", "base", "meta", "link", "input", "keygen", "area"]
    static let attributes: [String: Set<String>] = [
        "*": ["dir", "lang", "title", "align"],
        "a": ["href"],
        "img": ["src", "alt", "width", "height"],
        "td": ["colspan", "rowspan", "valign", "width"], "th": ["colspan", "rowspan", "valign", "width"],
        "table": ["border", "cellpadding", "cellspacing", "width"], "col": ["span", "width"], "colgroup": ["span"],
        "font": ["color", "size", "face"], "ol": ["start", "type"], "li": ["value"], "blockquote": ["cite"], "q": ["cite"],
    ]

    public static func sanitize(_ html: String, allowRemoteImages: Bool = false) -> Result {
        var out = ""
        out.reserveCapacity(html.utf8.count)
        var open: [String] = []
        var blocked = 0
        let chars = Array(html.unicodeScalars)
        var i = 0
        func text(_ s: String) { out += escapeText(decodeEntities(s)) }
        var pendingText = ""
        func flush() { if !pendingText.isEmpty { text(pendingText); pendingText = "" } }

        while i < chars.count {
            let c = chars[i]
            guard c == "<", i + 1 < chars.count else { pendingText.unicodeScalars.append(c); i += 1; continue }
            let next = chars[i + 1]
            if next == "!" || next == "?" {
                flush()
                // Comments, doctypes, CDATA, processing instructions: gone.
                if i + 3 < chars.count, chars[i + 2] == "-", chars[i + 3] == "-" {
                    i = find("-->", in: chars, from: i + 4).map { $0 + 3 } ?? chars.count
                } else {
                    i = (firstIndex(of: ">", in: chars, from: i + 2) ?? chars.count - 1) + 1
                }
                continue
            }
            let closing = next == "/"
            let nameStart = closing ? i + 2 : i + 1
            guard nameStart < chars.count, chars[nameStart].properties.isAlphabetic else {
                pendingText.unicodeScalars.append(c)
                i += 1
                continue
            }
            flush()
            // The tag, to its ">" outside quotes.
            var j = nameStart
            var quote: Unicode.Scalar?
            while j < chars.count {
                let d = chars[j]
                if let q = quote { if d == q { quote = nil } } else if d == "\"" || d == "'" { quote = d } else if d == ">" { break }
                j += 1
            }
            let inside = String(String.UnicodeScalarView(chars[nameStart..<min(j, chars.count)]))
            i = min(j + 1, chars.count)
            var nameEnd = inside.startIndex
            while nameEnd < inside.endIndex, let scalar = inside[nameEnd].unicodeScalars.first,
                  scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == ":" {
                nameEnd = inside.index(after: nameEnd)
            }
            let name = inside[..<nameEnd].lowercased()
            if closing {
                if let index = open.lastIndex(of: name) {
                    for tag in open[index...].reversed() { out += "</\(tag)>" }
                    open.removeSubrange(index...)
                }
                continue
            }
            if droppedVoid.contains(name) { continue }
            if dropped.contains(name) {
                // Skip to the matching end tag (or the end of the document).
                let selfClosing = inside.hasSuffix("/")
                if !selfClosing {
                    i = findEndTag(name, in: chars, from: i) ?? chars.count
                }
                continue
            }
            guard allowed.contains(name) else { continue }  // unknown or forbidden tag (form, input, button, base, meta, link…): text kept
            var attrs = ""
            for (key, rawValue) in parseAttributes(String(inside[nameEnd...])) {
                guard attributes["*"]!.contains(key) || attributes[name]?.contains(key) == true else { continue }
                let value = decodeEntities(rawValue)
                switch (name, key) {
                case ("a", "href"):
                    guard let url = safeURL(value, schemes: ["http", "https", "mailto"]) else { continue }
                    attrs += " href=\"\(escapeAttribute(url))\""
                case ("img", "src"):
                    if value.lowercased().hasPrefix("cid:") {
                        attrs += " src=\"\(escapeAttribute(value))\""
                    } else if let url = safeURL(value, schemes: ["http", "https"]) {
                        if allowRemoteImages { attrs += " src=\"\(escapeAttribute(url))\"" } else {
                            blocked += 1
                            attrs += " data-remote-src=\"\(escapeAttribute(url))\""
                        }
                    }
                case ("font", "color"):
                    guard value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "#" }), value.count <= 20 else { continue }
                    attrs += " color=\"\(escapeAttribute(value))\""
                default:
                    attrs += " \(key)=\"\(escapeAttribute(value))\""
                }
            }
            if name == "a" { attrs += " rel=\"noopener noreferrer nofollow\" target=\"_blank\"" }
            if void.contains(name) {
                out += "<\(name)\(attrs)>"
            } else {
                out += "<\(name)\(attrs)>"
                open.append(name)
                if open.count > 200 { out += "</\(open.removeLast())>" }
            }
        }
        flush()
        for tag in open.reversed() { out += "</\(tag)>" }
        return Result(html: out, blockedImages: blocked)
    }

    /// `key=value`, `key="value"`, `key='value'`, bare `key`; names lower-cased.
    static func parseAttributes(_ text: String) -> [(String, String)] {
        var result: [(String, String)] = []
        let s = Array(text.unicodeScalars)
        var i = 0
        func skipSpace() { while i < s.count, s[i].properties.isWhitespace || s[i] == "/" { i += 1 } }
        while i < s.count {
            skipSpace()
            var name = ""
            while i < s.count, !s[i].properties.isWhitespace, s[i] != "=", s[i] != "/", s[i] != ">" { name.unicodeScalars.append(s[i]); i += 1 }
            while i < s.count, s[i].properties.isWhitespace { i += 1 }
            var value = ""
            if i < s.count, s[i] == "=" {
                i += 1
                while i < s.count, s[i].properties.isWhitespace { i += 1 }
                if i < s.count, s[i] == "\"" || s[i] == "'" {
                    let q = s[i]
                    i += 1
                    while i < s.count, s[i] != q { value.unicodeScalars.append(s[i]); i += 1 }
                    i += 1
                } else {
                    while i < s.count, !s[i].properties.isWhitespace, s[i] != ">" { value.unicodeScalars.append(s[i]); i += 1 }
                }
            }
            if !name.isEmpty { result.append((name.lowercased(), value)) } else if i < s.count { i += 1 }
        }
        return result
    }

    /// The URL when its scheme (after removing what browsers ignore: controls, spaces) is allowed; relative URLs are not.
    static func safeURL(_ raw: String, schemes: Set<String>) -> String? {
        let cleaned = String(String.UnicodeScalarView(raw.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F }))
        guard let colon = cleaned.firstIndex(of: ":") else { return nil }
        let scheme = cleaned[..<colon].lowercased()
        guard schemes.contains(scheme), cleaned.count <= 4096 else { return nil }
        return cleaned
    }

    static func firstIndex(of scalar: Unicode.Scalar, in chars: [Unicode.Scalar], from: Int) -> Int? {
        var i = from
        while i < chars.count { if chars[i] == scalar { return i }; i += 1 }
        return nil
    }

    static func find(_ needle: String, in chars: [Unicode.Scalar], from: Int) -> Int? {
        let n = Array(needle.unicodeScalars)
        var i = from
        while i + n.count <= chars.count {
            if chars[i..<i + n.count].elementsEqual(n) { return i }
            i += 1
        }
        return nil
    }

    /// Just past `</name …>`, case-insensitively.
    static func findEndTag(_ name: String, in chars: [Unicode.Scalar], from: Int) -> Int? {
        let n = Array(name.unicodeScalars)
        var i = from
        while i + n.count + 2 <= chars.count {
            if chars[i] == "<", chars[i + 1] == "/",
               zip(chars[(i + 2)..<(i + 2 + n.count)], n).allSatisfy({ String($0.0).lowercased() == String($0.1) }) {
                let after = i + 2 + n.count
                if after == chars.count || !chars[after].properties.isAlphabetic {
                    return (firstIndex(of: ">", in: chars, from: after) ?? chars.count - 1) + 1
                }
            }
            i += 1
        }
        return nil
    }

    static func escapeText(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public static func escapeAttribute(_ s: String) -> String {
        escapeText(s).replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }

    /// Named entities mail uses, and every numeric one (`&#106;`, `&#x6A;`, with or without the semicolon).
    static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        let named: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "colon": ":",
                                       "tab": "\t", "newline": "\n", "aacute": "á", "eacute": "é", "iacute": "í", "oacute": "ó",
                                       "uacute": "ú", "ntilde": "ñ", "Ntilde": "Ñ", "iexcl": "¡", "iquest": "¿", "uuml": "ü", "euro": "€",
                                       "copy": "©", "reg": "®", "hellip": "…", "mdash": "—", "ndash": "–", "laquo": "«", "raquo": "»"]
        var out = ""
        let chars = Array(s.unicodeScalars)
        var i = 0
        while i < chars.count {
            guard chars[i] == "&" else { out.unicodeScalars.append(chars[i]); i += 1; continue }
            var j = i + 1
            var body = ""
            while j < chars.count, j - i <= 10, chars[j].properties.isAlphabetic || ("0"..."9").contains(chars[j]) || chars[j] == "#" {
                body.unicodeScalars.append(chars[j]); j += 1
            }
            let hasSemicolon = j < chars.count && chars[j] == ";"
            var decoded: String?
            if body.hasPrefix("#x") || body.hasPrefix("#X") {
                decoded = UInt32(body.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
            } else if body.hasPrefix("#") {
                decoded = UInt32(body.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
            } else if hasSemicolon {
                decoded = named[body]
            }
            if let decoded, !body.isEmpty {
                out += decoded
                i = hasSemicolon ? j + 1 : j
            } else {
                out += "&"
                i += 1
            }
        }
        return out
    }
}
