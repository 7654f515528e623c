import Foundation

/// Reads a customer's message for anger, in Spanish and English, with no outside service: words and phrases that say
/// it ("pésimo", "unacceptable", "nunca más"), unless a negation comes just before ("no estoy molesto", "not angry").
public enum AngerLexicon {
    /// Words and phrases, lowercased and without accents (the text is folded the same way).
    static let terms: [String] = [
        // Spanish
        "pesimo", "pesima", "horrible", "terrible", "verguenza", "estafa", "estafadores", "inaceptable", "furioso", "furiosa",
        "harto", "harta", "molesto", "molesta", "indignado", "indignada", "nunca mas", "el peor", "la peor", "basura",
        "incompetentes", "una burla", "me tienen cansado", "me tienen cansada", "denunciar", "sernac", "abogado", "fraude",
        "decepcionado", "decepcionada", "una mierda", "que asco", "ridiculo", "desastre",
        // English
        "awful", "unacceptable", "furious", "angry", "scam", "worst", "ridiculous", "disgusted", "fed up", "never again",
        "useless", "pathetic", "disgrace", "fraud", "lawyer", "rip off", "ripoff", "disappointed", "garbage", "joke of a",
    ]
    static let negations: Set<String> = ["no", "ni", "nada", "sin", "not", "never", "isn't", "wasn't", "nor", "without", "dont", "don't", "n't"]

    /// Folds accents and case, and splits into words (apostrophes kept inside words).
    static func words(_ text: String) -> [String] {
        let folded = text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: Locale(identifier: "es"))
        return folded.split { !($0.isLetter || $0.isNumber || $0 == "'") }.map(String.init)
    }

    /// The terms the text uses angrily (each once), in the order of the list. A negation reaches up to three words
    /// ahead within its clause: "no estoy molesto" is not angry, "no funciona, pésimo" is.
    public static func angryTerms(in text: String) -> [String] {
        let clauses = String(text.prefix(5000)).split { ".,;:!?¡¿\n".contains($0) }.map { words(String($0)) }.filter { !$0.isEmpty }
        var found: [String] = []
        for term in terms {
            let parts = term.split(separator: " ").map(String.init)
            search: for words in clauses where parts.count <= words.count {
                for start in 0...(words.count - parts.count) where Array(words[start..<(start + parts.count)]) == parts {
                    let before = words[max(0, start - 3)..<start]
                    let negated = before.contains { negations.contains($0) || $0.hasSuffix("n't") }
                    // "nunca más" and "never again" are negations themselves.
                    if negated && !["nunca mas", "never again"].contains(term) { continue }
                    found.append(term)
                    break search
                }
            }
        }
        return found
    }
}
