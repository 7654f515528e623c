import Foundation

/// The `{{ name }}` variables of canned responses (and of the macros and rules that send them): which names exist,
/// checking a text before it is saved, filling one in for a conversation, and finding the ones a reply still carries.
/// A variable with no value stays as it was written, so the agent sees the gap — and a public reply that still has one
/// is refused, so it never reaches a customer literally.
public enum Placeholders {
    /// The built-in names. Any other `contact.<key>` is the contact's custom attribute `<key>`.
    public static let builtIn = [
        "contact.first_name", "contact.name", "contact.email", "contact.phone",
        "conversation.number", "conversation.subject",
        "agent.first_name", "agent.name",
        "inbox.name", "business_hours.next_opening",
    ]

    /// One `{{ … }}` found in a text: its range and the name inside, trimmed.
    struct Occurrence {
        var range: Range<String.Index>
        var name: String
    }

    static func occurrences(in text: String) -> (found: [Occurrence], malformed: Bool) {
        var found: [Occurrence] = []
        var malformed = false
        var rest = text.startIndex..<text.endIndex
        while let open = text.range(of: "{{", range: rest) {
            guard let close = text.range(of: "}}", range: open.upperBound..<text.endIndex) else { malformed = true; break }
            let inner = text[open.upperBound..<close.lowerBound]
            if inner.contains("{") { malformed = true }
            found.append(Occurrence(range: open.lowerBound..<close.upperBound, name: inner.trimmingCharacters(in: .whitespaces)))
            rest = close.upperBound..<text.endIndex
        }
        return (found, malformed)
    }

    /// A name Atiende can fill: a built-in one, or `contact.<key>` for a custom attribute.
    public static func isKnown(_ name: String) -> Bool {
        if builtIn.contains(name) { return true }
        guard name.hasPrefix("contact.") else { return false }
        let key = name.dropFirst("contact.".count)
        return (1...40).contains(key.count) && key.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
    }

    /// Refuses a text with an unclosed `{{` or a name nobody can fill, saying which.
    public static func validate(_ text: String) throws {
        let (found, malformed) = occurrences(in: text)
        if malformed { throw AtiendeError.invalid("a variable is not closed: write it as {{contact.first_name}}", code: "invalid_variable") }
        if let unknown = found.first(where: { !isKnown($0.name) }) {
            throw AtiendeError.invalid("{{\(unknown.name)}} is not a variable: use \(builtIn.map { "{{\($0)}}" }.joined(separator: ", ")) or {{contact.<attribute>}}",
                                       code: "unknown_variable", parameters: ["variable": "{{\(unknown.name)}}"])
        }
    }

    /// The text with every variable that has a value filled in; those without one stay written, and are listed.
    public static func fill(_ text: String, values: [String: String]) -> (text: String, missing: [String]) {
        var result = ""
        var missing: [String] = []
        var index = text.startIndex
        for occurrence in occurrences(in: text).found {
            result += text[index..<occurrence.range.lowerBound]
            if let value = values[occurrence.name], !value.isEmpty {
                result += value
            } else {
                result += "{{\(occurrence.name)}}"
                if !missing.contains(occurrence.name) { missing.append(occurrence.name) }
            }
            index = occurrence.range.upperBound
        }
        result += text[index...]
        return (result, missing)
    }

    /// The known variables a text still carries unfilled (a reply about to be sent).
    public static func unfilled(in text: String) -> [String] {
        var names: [String] = []
        for occurrence in occurrences(in: text).found where isKnown(occurrence.name) && !names.contains(occurrence.name) {
            names.append(occurrence.name)
        }
        return names
    }

    /// What the variables are worth in one conversation, answered by one agent.
    public static func values(contact: Contact?, conversation: Conversation, agent: User?, inbox: Inbox?, language: String,
                              now: Date) -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in contact?.attributes ?? [:] { values["contact.\(key)"] = value }
        values["contact.name"] = contact?.name
        values["contact.first_name"] = contact?.name.flatMap(firstName)
        values["contact.email"] = contact?.email
        values["contact.phone"] = contact?.phone
        values["conversation.number"] = String(conversation.number)
        values["conversation.subject"] = conversation.subject
        values["agent.name"] = agent?.name
        values["agent.first_name"] = agent.flatMap { firstName($0.name) }
        values["inbox.name"] = inbox?.name
        if let hours = inbox?.businessHours, let opening = hours.nextOpening(after: now) {
            values["business_hours.next_opening"] = hours.describe(opening, language: language)
        }
        return values
    }

    static func firstName(_ name: String) -> String? {
        name.split(whereSeparator: \.isWhitespace).first.map(String.init)
    }
}
