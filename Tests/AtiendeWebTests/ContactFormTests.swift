@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import NIOCore
import Testing

@Suite("The public contact form", .serialized)
struct ContactFormTests {
    /// A multipart body with the given fields and an optional file.
    func multipart(_ fields: [(String, String)], file: (name: String, type: String, data: Data)? = nil) -> (Data, String) {
        let boundary = "atiende-\(UUID().uuidString)"
        var body = Data()
        for (name, value) in fields {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        if let file {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"\(file.name)\"\r\nContent-Type: \(file.type)\r\n\r\n".utf8))
            body.append(file.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    @Test("a customer's form becomes a conversation with its number; spam, replays and floods are refused and store nothing")
    func form() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app, name: "Tienda Sur")
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let path = "/help/\(slug)/contact"
            let browser = Browser(app)
            #expect(try await browser.get(path).status == 404, "no web form inbox yet")
            #expect(try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Web", "channel": "webform"]).status == 201)

            func submit(_ fields: [(String, String)], file: (name: String, type: String, data: Data)? = nil, wait: TimeInterval = 5) async throws -> HTTPAnswer {
                let page = try await browser.get(path)
                #expect(page.status == 200)
                let csrf = try #require(Browser.csrf(in: page))
                let token = try #require(page.text.range(of: "name=\"form_token\" value=\"").map { String(page.text[$0.upperBound...].prefix { $0 != "\"" }) })
                clock.advance(by: wait)
                let (body, type) = multipart([("_csrf", csrf), ("form_token", token)] + fields, file: file)
                return try await browser.send(.POST, path, body: body, headers: [("Content-Type", type), ("Accept", "text/html")])
            }
            let fields = [("name", "Rosa Díaz"), ("email", "Rosa@Example.com"), ("subject", "Cambio de talla"), ("message", "Quiero cambiar la talla.")]

            #expect(try await submit(fields, wait: 1).status == 400, "too fast")
            #expect(try await submit(fields + [("website", "http://spam.example")]).status == 400, "honeypot")
            #expect(try await submit([("email", "not-an-email"), ("message", "hola")]).status == 400)
            #expect(try await app.count(Conversation.self) == 0)

            let pdf = Data("%PDF-1.4 boleta".utf8)
            let sent = try await submit(fields, file: ("boleta.pdf", "application/pdf", pdf))
            #expect(sent.status == 200 && sent.text.contains("#1"), "\(sent.text.prefix(300))")
            let conversation = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(conversation.channel == .webform && conversation.subject == "Cambio de talla")
            #expect(try await ContactIdentity.query(on: app.store.db).filter(\.$value == "rosa@example.com").count() == 1)
            #expect(try await Attachment.query(on: app.store.db).first()?.filename == "boleta.pdf")

            // A replayed submission (same token) is the same request.
            let page = try await browser.get(path)
            let csrf = try #require(Browser.csrf(in: page))
            let token = try #require(page.text.range(of: "name=\"form_token\" value=\"").map { String(page.text[$0.upperBound...].prefix { $0 != "\"" }) })
            clock.advance(by: 5)
            let (body, type) = multipart([("_csrf", csrf), ("form_token", token)] + fields)
            let first = try await browser.send(.POST, path, body: body, headers: [("Content-Type", type)])
            let again = try await browser.send(.POST, path, body: body, headers: [("Content-Type", type)])
            #expect(first.status == 200 && again.status == 200 && again.text.contains("#2"))
            #expect(try await app.count(Message.self) == 2)
            // A forged token and a missing CSRF token are refused.
            let (forged, forgedType) = multipart([("_csrf", csrf), ("form_token", "1.abc.def")] + fields)
            #expect(try await browser.send(.POST, path, body: forged, headers: [("Content-Type", forgedType)]).status == 400)
            let (noCSRF, noCSRFType) = multipart([("form_token", token)] + fields)
            #expect(try await browser.send(.POST, path, body: noCSRF, headers: [("Content-Type", noCSRFType)]).status == 403)

            // Three messages per email in ten minutes.
            #expect(try await submit(fields).status == 200)
            let flooded = try await submit(fields)
            #expect(flooded.status == 429)
            #expect(try await app.count(Message.self) == 3)
            // The English form answers in English: its action carries the language it was read in.
            let english = try await browser.get(path + "?lang=en")
            let action = try #require(english.text.range(of: "action=\"").map { String(english.text[$0.upperBound...].prefix { $0 != "\"" }) })
            #expect(action.hasSuffix("?lang=en"), "\(action)")
            let englishToken = try #require(english.text.range(of: "name=\"form_token\" value=\"").map { String(english.text[$0.upperBound...].prefix { $0 != "\"" }) })
            clock.advance(by: 5)
            let englishFields = [("name", "Kate"), ("email", "kate@example.com"), ("message", "I would like another size.")]
            let (englishBody, englishType) = multipart([("_csrf", try #require(Browser.csrf(in: english))), ("form_token", englishToken)] + englishFields)
            let thanks = try await browser.send(.POST, action.replacingOccurrences(of: "&amp;", with: "&"), body: englishBody,
                                                headers: [("Content-Type", englishType), ("Accept", "text/html")])
            #expect(thanks.status == 200 && thanks.text.contains(Localizer(.en)("form.thanks")), "\(thanks.text.prefix(400))")
        }
    }
}
