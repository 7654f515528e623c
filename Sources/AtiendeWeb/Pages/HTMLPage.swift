import Plot
import Vapor

/// A rendered page. Every page goes out with a strict Content-Security-Policy (no inline script, no
/// foreign origins), so even text that slipped past escaping could not run.
struct HTMLPage: AsyncResponseEncodable {
    var html: HTML
    var status: HTTPStatus = .ok

    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-store"),
    ]

    func encodeResponse(for request: Request) async throws -> Response {
        let response = Response(status: status, body: .init(string: html.render()))
        response.headers.contentType = .html
        for (name, value) in Self.securityHeaders { response.headers.replaceOrAdd(name: name, value: value) }
        request.attachCSRFCookie(to: response)
        return response
    }
}

/// Plot escapes text but writes attribute values as given, so every attribute we set goes through here.
func escapeAttribute(_ value: String) -> String {
    var out = ""
    out.reserveCapacity(value.utf8.count)
    for character in value {
        switch character {
        case "&": out += "&amp;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        default: out.append(character)
        }
    }
    return out
}

/// One piece of a form control: an attribute, its text, or an `<option>` of a `<select>`.
/// Plot's typed form elements cannot take `data-`/`aria-` attributes; these can, and escape every value.
enum Part {
    case attribute(String, String)
    case text(String)
    case option([Part])
    case group([Part])

    struct FieldType { let rawValue: String
        init?(rawValue: String) { self.rawValue = rawValue }
        private init(_ raw: String) { rawValue = raw }
        static let hidden = FieldType("hidden"), text = FieldType("text"), email = FieldType("email"), password = FieldType("password")
        static let search = FieldType("search"), checkbox = FieldType("checkbox"), file = FieldType("file"), number = FieldType("number")
        static let url = FieldType("url")
    }

    static func attribute(named name: String, value: String) -> Part { .attribute(name, value) }
    static func type(_ type: FieldType) -> Part { .attribute("type", type.rawValue) }
    static func name(_ value: String) -> Part { .attribute("name", value) }
    static func value(_ value: String) -> Part { .attribute("value", value) }
    static func id(_ value: String) -> Part { .attribute("id", value) }
    static func `class`(_ value: String) -> Part { .attribute("class", value) }
    static func placeholder(_ value: String) -> Part { .attribute("placeholder", value) }
    static func required(_ on: Bool) -> Part { on ? .attribute("required", "required") : .group([]) }
    static func autofocus(_ on: Bool) -> Part { on ? .attribute("autofocus", "autofocus") : .group([]) }
    static func selected(_ on: Bool) -> Part { on ? .attribute("selected", "selected") : .group([]) }
    static func data(_ name: String, _ value: String) -> Part { .attribute("data-\(name)", value) }
    static func aria(_ name: String, _ value: String) -> Part { .attribute("aria-\(name)", value) }
    static func option(_ parts: Part...) -> Part { .option(parts) }
    static func `if`(_ condition: Bool, _ part: Part) -> Part { condition ? part : .group([]) }
    static func forEach<S: Sequence>(_ items: S, _ transform: (S.Element) -> Part) -> Part { .group(items.map(transform)) }

    func nodes<C>() -> [Node<C>] {
        switch self {
        // An empty `value` is kept (`<option value>`): Plot drops empty attributes, and an option without one submits its label.
        case .attribute(let name, let value): [.attribute(named: name, value: escapeAttribute(value), ignoreIfValueIsEmpty: name != "value")]
        case .text(let text): [.text(text)]
        case .option(let parts): [.element(named: "option", nodes: parts.flatMap { $0.nodes() as [Node<C>] })]
        case .group(let parts): parts.flatMap { $0.nodes() as [Node<C>] }
        }
    }
}

extension Node {
    static func data(_ name: String, _ value: String) -> Node { .attribute(named: "data-\(name)", value: escapeAttribute(value)) }
    static func aria(_ name: String, _ value: String) -> Node { .attribute(named: "aria-\(name)", value: escapeAttribute(value)) }
    static func role(_ value: String) -> Node { .attribute(named: "role", value: value) }

    /// `<input>` with escaped attributes.
    static func field(_ parts: Part...) -> Node { .selfClosedElement(named: "input", attributes: Part.group(parts).attributes()) }
    /// `<select>` with escaped attributes and its options.
    static func dropdown(_ parts: Part...) -> Node { .element(named: "select", nodes: parts.flatMap { $0.nodes() as [Node] }) }
    /// `<textarea>` with escaped attributes.
    static func textBox(_ parts: Part...) -> Node { .element(named: "textarea", nodes: parts.flatMap { $0.nodes() as [Node] }) }
}

extension Part {
    func attributes<C>() -> [Attribute<C>] {
        switch self {
        case .attribute(let name, let value): [Attribute(name: name, value: escapeAttribute(value), ignoreIfValueIsEmpty: name != "value")]
        case .group(let parts): parts.flatMap { $0.attributes() as [Attribute<C>] }
        case .text, .option: []
        }
    }
}

extension Node where Context: HTML.BodyContext {
    /// The hidden CSRF field every form carries.
    static func csrf(_ token: String) -> Node { .field(.type(.hidden), .name(SessionAuth.csrfField), .value(token)) }

    static func mark(_ text: String) -> Node { .element(named: "mark", text: text) }

    /// A text with every occurrence of `terms` marked, compared without case or accents.
    static func highlighted(_ text: String, terms: [String]) -> Node {
        .group(Highlight.segments(text, terms: terms).map { $0.marked ? .mark($0.text) : .text($0.text) })
    }
}

enum Highlight {
    struct Segment: Equatable { var text: String; var marked: Bool }

    static func fold(_ c: Character) -> String { String(c).folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil) }

    /// Splits `text` into marked and plain runs; a term matches at a word start (search matches prefixes).
    static func segments(_ text: String, terms: [String]) -> [Segment] {
        let chars = Array(text)
        let folded = chars.map(fold)
        let needles = terms.map { $0.map(fold) }.filter { !$0.isEmpty }
        var marked = [Bool](repeating: false, count: chars.count)
        for i in chars.indices where i == 0 || !(chars[i - 1].isLetter || chars[i - 1].isNumber) {
            for needle in needles where i + needle.count <= chars.count && Array(folded[i..<(i + needle.count)]) == needle {
                for j in i..<(i + needle.count) { marked[j] = true }
            }
        }
        var segments: [Segment] = []
        for (i, c) in chars.enumerated() {
            if let last = segments.last, last.marked == marked[i] { segments[segments.count - 1].text.append(c) }
            else { segments.append(Segment(text: String(c), marked: marked[i])) }
        }
        return segments
    }

    /// A window of `text` around its first match, at most `length` characters.
    static func excerpt(_ text: String, terms: [String], length: Int = 220) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        guard flat.count > length else { return flat }
        let folded = flat.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
        guard folded.count == flat.count,
              let first = terms.compactMap({ folded.range(of: $0.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)) }).first
        else { return String(flat.prefix(length)) + "…" }
        let offset = max(0, folded.distance(from: folded.startIndex, to: first.lowerBound) - 60)
        let start = flat.index(flat.startIndex, offsetBy: offset)
        let slice = flat[start...].prefix(length)
        return (offset > 0 ? "…" : "") + slice + (slice.endIndex < flat.endIndex ? "…" : "")
    }
}
