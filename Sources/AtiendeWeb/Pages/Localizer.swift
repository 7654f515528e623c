import Foundation
import NIOConcurrencyHelpers
import Vapor

/// Every text a person reads, in Spanish and English, from `Resources/translations/{es,en}.json`.
/// `{0}`, `{1}` … in a text are replaced by the arguments.
struct Localizer: Sendable {
    enum Language: String, Sendable, CaseIterable { case es, en }

    let language: Language
    private let table: [String: String]

    init(_ language: Language) {
        self.language = language
        self.table = Translations.tables[language] ?? [:]
    }

    func callAsFunction(_ key: String, _ args: any CustomStringConvertible...) -> String {
        guard var text = table[key] ?? Translations.tables[.en]?[key] else { return key }
        for (index, arg) in args.enumerated() { text = text.replacingOccurrences(of: "{\(index)}", with: arg.description) }
        return text
    }

    func has(_ key: String) -> Bool { table[key] != nil }

    /// The language a visitor without an account reads: `?lang=`, then the `atiende_lang` cookie, then the browser's.
    static func negotiate(_ req: Request) -> Localizer {
        if let raw = req.query[String.self, at: "lang"], let language = Language(rawValue: raw) { return Localizer(language) }
        if let raw = req.cookies["atiende_lang"]?.string, let language = Language(rawValue: raw) { return Localizer(language) }
        let accepted = req.headers.first(name: .acceptLanguage)?.lowercased() ?? ""
        if let english = accepted.range(of: "en") {
            if let spanish = accepted.range(of: "es"), spanish.lowerBound < english.lowerBound { return Localizer(.es) }
            return Localizer(.en)
        }
        return Localizer(.es)
    }
}

enum Translations {
    private static let builtIn: [Localizer.Language: [String: String]] = {
        var tables: [Localizer.Language: [String: String]] = [:]
        for language in Localizer.Language.allCases {
            guard let url = Bundle.module.url(forResource: language.rawValue, withExtension: "json", subdirectory: "translations"),
                  let data = try? Data(contentsOf: url),
                  let table = try? JSONDecoder().decode([String: String].self, from: data)
            else { fatalError("translations for \(language.rawValue) are missing from the bundle") }
            tables[language] = table
        }
        return tables
    }()

    private static let current = NIOLockedValueBox(builtIn)

    static var tables: [Localizer.Language: [String: String]] { current.withLockedValue { $0 } }

    /// Texts that registered channels bring (their name, their fields' labels), by language code; ours win on a clash.
    static func add(_ sets: [[String: [String: String]]]) {
        current.withLockedValue { tables in
            for set in sets {
                for (code, table) in set {
                    guard let language = Localizer.Language(rawValue: code) else { continue }
                    tables[language, default: [:]].merge(table) { kept, _ in kept }
                }
            }
        }
    }
}
