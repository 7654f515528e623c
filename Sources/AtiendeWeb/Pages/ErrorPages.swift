import AtiendeCore
import Plot
import Vapor

/// Failures as people see them: a translated page for browsers, a translated message for our own scripts.
enum ErrorPages {
    /// The translation of an error's code when there is one, else its English message.
    static func message(_ error: AtiendeError, t: Localizer) -> String {
        message(code: error.code, fallback: error.message, parameters: error.parameters, t: t)
    }

    /// `{name}` in the translation is the parameter of that name; a channel is named in the reader's language.
    static func message(code: String, fallback: String, parameters: [String: String] = [:], t: Localizer) -> String {
        guard t.has("error.\(code)") else { return fallback }
        // `{detail}` is what the provider or server said, in its own words.
        var text = t("error.\(code)").replacingOccurrences(of: "{detail}", with: fallback)
        for (name, value) in parameters {
            // A channel by its name, a field by its label, what it expects in words: each in the reader's language.
            let shown = name == "channel" && t.has("channel.\(value)") ? t("channel.\(value)") : t.has(value) ? t(value) : value
            text = text.replacingOccurrences(of: "{\(name)}", with: shown)
        }
        return text
    }

    /// Whether a request is a person's browser asking for a page (not the API, not our scripts).
    static func wantsPage(_ req: Request) -> Bool {
        let path = req.url.path
        if path.hasPrefix("/api/") || path.hasPrefix("/health") || path == "/metrics" || path.hasPrefix("/webhooks/") || path.hasPrefix("/widget/v1/") { return false }
        return req.headers.first(name: .accept)?.contains("text/html") ?? true
    }

    static func language(_ req: Request) async -> Localizer {
        if let signedIn = try? await req.signedIn(), let language = Localizer.Language(rawValue: signedIn.user.language) {
            return Localizer(language)
        }
        return Localizer.negotiate(req)
    }

    static func page(status: HTTPResponseStatus, code: String, message: String, t: Localizer) -> HTML {
        let title = t.has("error.title.\(status.code)") ? t("error.title.\(status.code)") : t("error.title")
        return Layout.plain(title, t: t, csrf: nil, .div(.class("card"),
            .h1(.text(title)),
            .p(.class("form-error"), .role("alert"), .text(message)),
            .p(.a(.href(SiteURL.home.path), .text(t("error.home"))))))
    }
}
