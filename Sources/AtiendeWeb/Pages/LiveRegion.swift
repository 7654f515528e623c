import AtiendeCore
import Plot
import Vapor

/// Live pages refresh what an event concerns: the page's script asks its own URL for one region (`X-Live-Region`) and
/// swaps it in; the frame's regions every page shares (the sidebar's counts, the bell) have a route of their own.
enum LiveRegion {
    /// The region alone, as a document the script parses.
    static func fragment(_ node: Node<HTML.BodyContext>) -> HTMLPage {
        HTMLPage(html: HTML(.body(node)))
    }

    static func unknown(_ name: String) -> AtiendeError {
        AtiendeError.invalid("this page has no live region '\(name)'", code: "invalid_region")
    }

    /// `GET /app/{workspace}/regions/{sidebar|bell}`.
    static func frame(_ req: Request) async throws -> HTMLPage {
        switch req.parameters.get("region") {
        case "sidebar": return fragment(Layout.sidebar(try await req.desk(parts: [.counts, .savedViews])))
        case "bell": return fragment(Layout.bell(try await req.desk(parts: [.unread])))
        case let other: throw unknown(other ?? "")
        }
    }
}
