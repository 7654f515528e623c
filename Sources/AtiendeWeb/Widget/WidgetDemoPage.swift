import AtiendeChannels
import AtiendeCore
import Plot
import Vapor

/// `/widget/demo?inbox=…`: a sample shop page with the widget embedded exactly as a customer's site would, to try
/// the live chat against this server. `lang=en|es` sets the page language, which the widget follows.
enum WidgetDemoPage {
    static func show(_ req: Request) async throws -> Response {
        let t = req.query[String.self, at: "lang"].flatMap(Localizer.Language.init(rawValue:)).map(Localizer.init) ?? Localizer.negotiate(req)
        guard let raw = req.query[String.self, at: "inbox"], let id = UUID(uuidString: raw),
              let inbox = try await Inbox.find(id, on: req.db), inbox.channel == .webchat else {
            throw AtiendeError.notFound("live chat inbox")
        }
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .h1(.text(t("widget.demo.title"))),
            .p(.text(t("widget.demo.intro", inbox.name))),
            .pre(.code(.class("copy"), .text(WebchatDescriptor.embedCode(inbox, publicURL: req.publicBase)))),
            .p(.text(t("widget.demo.try"))))
        let page = Layout.plain(t("widget.demo.title"), t: t, csrf: nil, content, extra: [
            .script(.src("/widget.js"), .attribute(named: "data-inbox", value: id.uuidString.lowercased()), .attribute(named: "async", value: "async")),
        ])
        return try await HTMLPage(html: page).encodeResponse(for: req)
    }
}
