import Foundation

/// What the customer wrote in a reply, without the history their client quoted below it and without the
/// "sent from my phone" signature. Spanish and English, Gmail, Outlook, Apple Mail and phones:
/// "El … escribió:", "On … wrote:", "De: … Enviado:", "From: … Sent:", "-----Mensaje original-----", "> …", "-- ".
/// The full text is always kept elsewhere; this is only what is shown first.
public enum QuotedText {
    public struct Split: Sendable, Equatable {
        public var visible: String
        /// The trimmed-away history and signature (empty when there was none).
        public var hidden: String
    }

    static let separators = ["-----original message-----", "-----mensaje original-----", "----- mensaje original -----",
                             "-----ursprüngliche nachricht-----", "________________________________", "-------- forwarded message --------",
                             "---------- forwarded message ---------", "---------- mensaje reenviado ---------"]
    static let phoneSignatures = ["enviado desde mi iphone", "sent from my iphone", "enviado desde mi ipad", "sent from my ipad",
                                  "enviado desde mi galaxy", "sent from my galaxy", "enviado desde mi smartphone", "sent from my android",
                                  "enviado desde mi teléfono", "enviado desde mi móvil", "obtener outlook para ios", "obtener outlook para android",
                                  "get outlook for ios", "get outlook for android", "enviado desde outlook", "sent from outlook",
                                  "enviado desde correo para windows", "sent from mail for windows", "sent from yahoo mail"]

    public static func split(_ text: String) -> Split {
        let lines = text.components(separatedBy: "\n")
        guard let cut = firstHistoryLine(lines) else { return Split(visible: text.trimmed, hidden: "") }
        let visible = lines[..<cut].joined(separator: "\n").trimmed
        // A reply that is nothing but quotes (or a forward) keeps everything visible.
        guard !visible.isEmpty else { return Split(visible: text.trimmed, hidden: "") }
        return Split(visible: visible, hidden: lines[cut...].joined(separator: "\n").trimmed)
    }

    static func firstHistoryLine(_ lines: [String]) -> Int? {
        for (n, raw) in lines.enumerated() {
            let line = raw.trimmed
            let lower = line.lowercased()
            // "-- " is the signature delimiter.
            if raw == "-- " || raw == "--" { return n }
            if separators.contains(where: { lower.hasPrefix($0) }) { return n }
            if phoneSignatures.contains(where: { lower.hasPrefix($0) }) && lines[(n + 1)...].allSatisfy({ $0.trimmed.isEmpty || $0.hasPrefix(">") }) {
                return n
            }
            // An attribution, possibly wrapped over the next two lines.
            let joined = ([line] + lines[(n + 1)..<min(n + 3, lines.count)].map { $0.trimmed }).joined(separator: " ").lowercased()
            if (lower.hasPrefix("el ") || lower.hasPrefix("on ") || lower.hasPrefix("le ") || lower.hasPrefix("am ")),
               let end = ["escribió:", "wrote:", "a écrit :", "schrieb:"].compactMap({ joined.range(of: $0) }).first,
               joined.distance(from: joined.startIndex, to: end.lowerBound) < 300 {
                return n
            }
            // Outlook's header block, with or without an "Original Message" line above it: "De: …" then "Enviado (el):" /
            // "Fecha:" (or "From:" then "Sent:"/"Date:"), or "Para:"/"To:" and "Asunto:"/"Subject:", within four lines.
            if lower.hasPrefix("de:") || lower.hasPrefix("from:") || lower.hasPrefix("*de:*") || lower.hasPrefix("*from:*") {
                let following = lines[(n + 1)..<min(n + 5, lines.count)].map { $0.trimmed.lowercased().replacingOccurrences(of: "*", with: "") }
                let sent = following.contains { line in ["enviado:", "enviado el:", "sent:", "fecha:", "date:"].contains { line.hasPrefix($0) } }
                let addressed = following.contains { $0.hasPrefix("para:") || $0.hasPrefix("to:") }
                    && following.contains { $0.hasPrefix("asunto:") || $0.hasPrefix("subject:") }
                if sent || addressed { return n }
            }
            // A block of "> " lines running to the end (what the customer wrote is above it).
            if line.hasPrefix(">"), lines[n...].allSatisfy({ $0.trimmed.isEmpty || $0.trimmed.hasPrefix(">") }) { return n }
        }
        return nil
    }
}
