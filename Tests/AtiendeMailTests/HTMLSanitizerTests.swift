@testable import AtiendeMail
import Foundation
import Testing

/// Hostile HTML bodies as they arrive in real attacks and filter-evasion lists; none may keep active content.
/// Hostile HTML bodies as they arrive in real attacks and filter-evasion lists (`Fixtures/xss.json`, also rendered in
/// Chromium by `Tests/e2e/test_mail_html.py`); none may keep active content.
let hostileHTML: [String] = {
    let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("xss.json")
    return (try? JSONDecoder().decode([String].self, from: Data(contentsOf: url))) ?? []
}()

@Suite("HTML sanitizer")
struct HTMLSanitizerTests {
    @Test("at least 30 hostile bodies")
    func size() { #expect(hostileHTML.count >= 30) }

    @Test("no hostile body keeps active content", arguments: hostileHTML)
    func hostile(_ html: String) {
        let clean = HTMLSanitizer.sanitize(html).html
        let lower = clean.lowercased()
        for tag in ["<script", "<iframe", "<object", "<embed", "<form", "<input", "<button", "<svg", "<math", "<style", "<link", "<meta",
                    "<base", "<textarea", "<video", "<audio", "<source", "<details", "<template", "<noscript", "<isindex", "<keygen", "<body"] {
            #expect(!lower.contains(tag), "\(tag) in \(clean)")
        }
        #expect(lower.range(of: #"[\s/"']on[a-z]+\s*="#, options: .regularExpression) == nil, "an event handler in \(clean)")
        #expect(!lower.contains("style="), "style in \(clean)")
        // Every URL left is http(s)/mailto, or cid: for images.
        for match in clean.matches(of: /(?:href|src|data-remote-src|background|action)="([^"]*)"/) {
            let url = String(match.1).lowercased()
            #expect(url.hasPrefix("https:") || url.hasPrefix("http:") || url.hasPrefix("mailto:") || url.hasPrefix("cid:"), "\(url) in \(clean)")
        }
    }

    @Test("mail formatting survives; links open safely; remote images wait for the agent; cid images stay")
    func keeps() {
        let html = """
        <div dir="ltr"><p>Hola <b>Marta</b>, <i>gracias</i>.</p><table border="1"><tr><td colspan="2">Pedido 5521</td></tr></table>
        <a href="https://tienda.cl/pedido/5521">ver pedido</a> <a href="mailto:ayuda@tienda.cl">escribir</a>
        <img src="cid:logo@tienda" alt="logo"><img src="https://tracker.example/p.gif"><blockquote>cita</blockquote></div>
        """
        let result = HTMLSanitizer.sanitize(html)
        #expect(result.html.contains("<b>Marta</b>") && result.html.contains("<td colspan=\"2\">Pedido 5521</td>"))
        #expect(result.html.contains("<a href=\"https://tienda.cl/pedido/5521\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">"))
        #expect(result.html.contains("href=\"mailto:ayuda@tienda.cl\""))
        #expect(result.html.contains("<img src=\"cid:logo@tienda\" alt=\"logo\">"))
        #expect(result.html.contains("data-remote-src=\"https://tracker.example/p.gif\"") && !result.html.contains(" src=\"https://tracker"))
        #expect(result.blockedImages == 1)
        #expect(HTMLSanitizer.sanitize(html, allowRemoteImages: true).html.contains("<img src=\"https://tracker.example/p.gif\">"))
        // Unclosed tags are closed; stray end tags ignored; text is escaped.
        #expect(HTMLSanitizer.sanitize("<p><b>sin cerrar").html == "<p><b>sin cerrar</b></p>")
        #expect(HTMLSanitizer.sanitize("a</div>b &lt;c&gt; 1 < 2").html == "ab &lt;c&gt; 1 &lt; 2")
        #expect(HTMLSanitizer.sanitize("<p title='a\"b'>x</p>").html == "<p title=\"a&quot;b\">x</p>")
    }

    @Test("void elements it drops (embed, source, track, frame) take nothing after them: a <picture> newsletter keeps its text")
    func voidElementsKeepTheRest() {
        let newsletter = """
            <table><tr><td><picture><source srcset="https://cdn.example/hero.webp" type="image/webp"><source media="(max-width: 600px)">\
            <img src="cid:hero@x" alt="Oferta"></picture></td></tr><tr><td><p>Hola Ana, tu pedido 5521 ya salió.</p>\
            <embed src="x.swf"><track kind="captions"><frame src="x.html"><p>Gracias por comprar en Tienda Sur.</p></td></tr></table>
            """
        let clean = HTMLSanitizer.sanitize(newsletter).html
        #expect(clean.contains("tu pedido 5521 ya salió") && clean.contains("Gracias por comprar en Tienda Sur"), "\(clean)")
        #expect(clean.contains("<img src=\"cid:hero@x\"") && !clean.contains("<source") && !clean.contains("<embed"))
    }

    @Test("HTML to text leaves no debris when an attribute value holds '>'")
    func textWithAngleInAttribute() {
        let text = HTMLText.plain(#"<p>Hola</p><a title="a > b" href="https://x.example/?q=1>2">el enlace</a><br class="x>y">fin<img alt='1 > 0'>"#)
        #expect(text == "Hola\n\nel enlace\nfin", "\(text)")
    }
}
