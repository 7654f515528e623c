@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

/// Live pages re-read one region at a time: each answers alone, with only what it shows.
@Suite("Live regions")
struct LiveRegionTests {
    func slug(_ app: TestApp, _ workspace: WorkspaceFixture) async throws -> String {
        try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
    }

    @Test("live regions: a page answers one region alone — a row (or nothing once it left the view), the list, the timeline, the head, the customer — and the frame's sidebar and bell")
    func liveRegions() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let slug = try await slug(app, workspace)
            let inbox = try await workspace.apiInbox(app)
            for i in 1...2 {
                #expect(try await inbox.post(app, APIInbox.message("r-\(i)", from: ["id": "c-\(i)", "name": "Cliente \(i)"], text: "mensaje \(i)")).status == 200)
            }
            let (browser, _) = try await Browser.signedIn(app, as: workspace.adminID)
            func region(_ path: String, _ name: String, row: Int? = nil) async throws -> HTTPAnswer {
                var headers = [("Accept", "text/html"), ("X-Live-Region", name)]
                if let row { headers.append(("X-Live-Row", String(row))) }
                return try await browser.send(.GET, path, headers: headers)
            }
            let inboxPath = "/app/\(slug)/inbox?view=all&status=open"
            let one = try await region(inboxPath, "row", row: 2)
            #expect(one.status == 200 && one.text.contains("data-number=\"2\"") && !one.text.contains("data-number=\"1\""))
            #expect(!one.text.contains("class=\"sidebar\"") && !one.text.contains("topbar"), "the region alone, without the frame")
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/2", token: workspace.token, json: ["status": "resolved"]).status == 200)
            #expect(try await region(inboxPath, "row", row: 2).text.contains("data-number") == false, "no longer in the open view")
            let list = try await region(inboxPath, "inbox-list")
            #expect(list.text.contains("data-live=\"inbox-list\"") && list.text.contains("Cliente 1") && !list.text.contains("Cliente 2"))
            #expect(try await region(inboxPath, "timeline").status == 400)
            #expect(try await region(inboxPath, "row").status == 400)

            let conversation = "/app/\(slug)/conversations/1"
            let timeline = try await region(conversation, "timeline")
            #expect(timeline.text.contains("data-live=\"timeline\"") && timeline.text.contains("mensaje 1") && !timeline.text.contains("reply-text"))
            #expect(try await region(conversation, "conversation-head").text.contains("data-live=\"conversation-head\""))
            #expect(try await region(conversation, "customer").text.contains("Cliente 1"))

            let sidebar = try await browser.get("/app/\(slug)/regions/sidebar")
            #expect(sidebar.status == 200 && sidebar.text.contains("data-live=\"sidebar\"") && sidebar.text.contains("data-count=\"all\">1<"))
            #expect(try await browser.get("/app/\(slug)/regions/bell").text.contains("id=\"bell\""))
            #expect(try await browser.get("/app/\(slug)/regions/nothing").status == 400)
            // Another workspace's regions are not found, like its pages.
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            let (stranger, _) = try await Browser.signedIn(app, as: other.adminID)
            #expect(try await stranger.get("/app/\(slug)/regions/sidebar").status == 404)
        }
    }
}
