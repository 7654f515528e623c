@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing
import ZIPFoundation

/// A person's privacy requests through the API: only admins, only their own workspace's contacts; an erasure needs its
/// confirmation, keeps every count and what another customer sent, and leaves the event log decodable and rebuildable.
@Suite("Privacy requests: export and erasure")
struct PrivacyTests {
    static let name = "Rocío Barahona"
    static let email = "rocio.barahona@example.org"

    /// Rollups alike: the same rows and counts, totals within a millisecond each (the events carry times to the millisecond).
    static func same(_ a: [String], _ b: [String]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            let (p, q) = (x.split(separator: " ", omittingEmptySubsequences: false), y.split(separator: " ", omittingEmptySubsequences: false))
            let count = Double(p.dropLast().last ?? "") ?? 1
            return p.dropLast() == q.dropLast() && abs((Double(p.last ?? "") ?? 0) - (Double(q.last ?? "") ?? 0)) <= 0.0015 * count
        }
    }

    @Test("an admin exports and erases; agents and other workspaces cannot; counts, rebuild and a shared file stay")
    func exportAndErase() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let shared = Data(repeating: 7, count: 1500)
            let file: [String: Any] = ["filename": "factura.pdf", "content_type": "application/pdf", "data": shared.base64EncodedString()]
            for (id, from, text) in [("m1", ["id": "c-1", "name": Self.name, "email": Self.email, "phone": "+56911112222"], "Mi clave es Pehuén-4471"),
                                     ("m2", ["id": "c-1"], "Sigo esperando, Barahona"),
                                     ("m3", ["id": "c-2", "name": "Otro Cliente"], "La misma factura")] {
                var body = APIInbox.message(id, from: from, text: text)
                if id != "m2" { body["attachments"] = [file] }
                #expect(try await inbox.post(app, body).status == 200)
            }
            let contact = try #require(try await Contact.query(on: app.store.db).filter(\.$name == Self.name).first())
            let contactID = try contact.requireID().uuidString.lowercased()
            let path = "\(workspace.path)/contacts/\(contactID)"
            #expect(try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                          json: ["text": "Hola Rocío Barahona"]).status == 201)
            // Another customer types her email: the suggestion's event holds *their* snapshot, which must survive.
            let typer = try #require(try await Contact.query(on: app.store.db).filter(\.$name == "Otro Cliente").first())
            #expect(try await app.request(.PATCH, "\(workspace.path)/contacts/\(try typer.requireID().uuidString.lowercased())",
                                          token: workspace.token, json: ["email": Self.email]).status == 200)
            // Her form's rate limit names her; a member's sign-in limit must not be touched by an erasure.
            for key in ["form:contact:\(Self.email)", "signin:\(Self.email)"] {
                try await app.store.sql.raw("INSERT INTO rate_events (key, at) VALUES (\(bind: key), \(bind: Date()))").run()
            }
            let rollups = try await MetricsTests.rollups(app)

            // The export: the document and the attachment.
            let export = try await app.request(.GET, "\(path)/export", token: workspace.token)
            #expect(export.status == 200 && export.headers.first(name: .contentType) == "application/zip")
            let archive = try Archive(data: export.body, accessMode: .read)
            var document = Data()
            _ = try archive.extract(try #require(archive["contact.json"])) { document.append($0) }
            let exported = try #require(try JSONSerialization.jsonObject(with: document) as? [String: Any])
            #expect((exported["contact"] as? [String: Any])?["name"] as? String == Self.name)
            #expect(String(decoding: document, as: UTF8.self).contains("Pehuén-4471"))
            #expect(archive.filter { $0.path.hasPrefix("files/") && $0.path.hasSuffix("/factura.pdf") }.count == 1)

            // An agent may do neither; another workspace's admin does not find her.
            let (_, agent) = try await workspace.member(app, role: .agent)
            #expect(try await app.request(.GET, "\(path)/export", token: agent).status == 403)
            #expect(try await app.request(.POST, "\(path)/erasure", token: agent, json: ["confirm": true]).status == 403)
            let other = try await WorkspaceFixture.make(app, name: "Otra")
            #expect(try await app.request(.POST, "\(other.path)/contacts/\(contactID)/erasure", token: other.token,
                                          json: ["confirm": true]).status == 404)
            let unconfirmed = try await app.request(.POST, "\(path)/erasure", token: workspace.token, json: ["confirm": false])
            #expect(unconfirmed.status == 400 && unconfirmed.text.contains("confirmation_required"))
            #expect(try await Contact.find(contact.id, on: app.store.db)?.name == Self.name, "nothing changed")

            let preview = try await app.request(.GET, "\(path)/erasure", token: workspace.token).json()
            #expect(preview["conversations"] as? Int == 1 && preview["messages"] as? Int == 3 && preview["attachments"] as? Int == 1)
            let erased = try await app.request(.POST, "\(path)/erasure", token: workspace.token, json: ["confirm": true])
            let went = try erased.json()
            #expect(erased.status == 200 && went["messages"] as? Int == 3, "\(erased.text)")

            let after = try #require(try await Contact.find(contact.id, on: app.store.db))
            #expect(after.name == nil && after.email == nil && after.phone == nil && after.erasedAt != nil)
            #expect(try await ContactIdentity.query(on: app.store.db).filter(\.$contact.$id == contact.requireID()).count() == 0)
            let texts = try await Message.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).all().map(\.text)
            #expect(texts.filter { !$0.isEmpty } == ["La misma factura"], "\(texts)")
            // The other customer's copy of the same bytes is still there.
            let attachments = try await Attachment.query(on: app.store.db).all()
            #expect(attachments.count == 1)
            #expect(try app.services.files.read(try #require(attachments.first).sha256) == shared)

            let keys = try await app.store.sql.raw("SELECT key FROM rate_events").all().map { try $0.decode(column: "key", as: String.self) }
            #expect(keys == ["signin:\(Self.email)"], "\(keys)")
            let suggested = try await Event.query(on: app.store.db).filter(\.$type == EventType.contactDuplicateSuggested.rawValue).all()
            #expect(suggested.count == 1 && suggested.allSatisfy { $0.payload.contains("Otro Cliente") }, "the other person's snapshot stays")
            let phone = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token, json: ["name": "Teléfono", "channel": "phone"])
            let phoneID = try #require(UUID(uuidString: try phone.json()["id"] as? String ?? ""))
            do {
                let logged = try await app.services.conversations.log(
                    .init(inboxID: phoneID, contactID: try contact.requireID(), direction: .incoming, durationSeconds: nil, outcome: nil,
                          notes: "Llamó", resolve: false), workspace: workspace.id, author: workspace.adminID)
                Issue.record("a call was logged for an erased contact: #\(logged.number)")
            } catch let error as AtiendeError {
                #expect(error.status == 404, "\(error)")
            }

            // Her words are gone from the event log, whose payloads still decode, and the rebuild gives the same rollups.
            let events = try await Event.query(on: app.store.db).filter(\.$workspace.$id == workspace.id).all()
            for event in events {
                #expect(!event.payload.contains("Barahona") && !event.payload.contains("Pehuén") && !event.payload.contains(Self.email),
                        "\(event.type): \(event.payload)")
                if event.type == EventType.messageCreated.rawValue {
                    #expect(JSON.decode(MessageEventPayload.self, from: event.payload) != nil, "\(event.payload)")
                }
            }
            #expect(try await MetricsTests.rollups(app) == rollups)
            try await MetricsRebuild.run(workspace: workspace.id, store: app.store)
            let rebuilt = try await MetricsTests.rollups(app)
            #expect(Self.same(rebuilt, rollups), "the rebuild from the erased events counts the same: \(rebuilt) \(rollups)")

            // Both requests are in the audit log, with nothing of her in them.
            let audit = try await app.request(.GET, "\(workspace.path)/audit-log?category=contact", token: workspace.token)
            #expect(audit.text.contains("contact.erased") && audit.text.contains("contact.exported") && !audit.text.contains("Barahona"))
            // She is gone from search.
            let found = try await app.request(.GET, "\(workspace.path)/contacts?q=barahona", token: workspace.token).json()
            #expect((found["data"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a retention policy anonymises, or deletes, only conversations resolved longer ago than its months, and counts stay")
    func retention() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            for n in 1...3 {
                #expect(try await inbox.post(app, APIInbox.message("r\(n)", from: ["id": "c-\(n)", "name": "Cliente \(n)"], text: "Texto viejo \(n)")).status == 200)
            }
            for n in [1, 2] {
                #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/\(n)", token: workspace.token, json: ["status": "resolved"]).status == 200)
            }
            let path = "\(workspace.path)/inboxes/\(inbox.id.uuidString.lowercased())/retention"
            let (_, agent) = try await workspace.member(app, role: .agent)
            #expect(try await app.request(.PUT, path, token: agent, json: ["months": 12]).status == 403)
            let wrong = try await app.request(.PUT, path, token: workspace.token, json: ["months": 0])
            #expect(wrong.status == 400 && wrong.text.contains("invalid_retention"))
            #expect(try await app.request(.PUT, path, token: workspace.token, json: ["months": 12, "action": "anonymise"]).status == 200)
            #expect(try await app.request(.GET, path, token: workspace.token).json()["months"] as? Int == 12)
            let rollups = try await MetricsTests.rollups(app)

            // Eleven months on, nothing is due; thirteen months on, the two resolved ones are.
            clock.advance(by: 335 * 86_400)
            #expect(try await app.services.retention.sweep() == 0)
            clock.advance(by: 60 * 86_400)
            #expect(try await app.services.retention.sweep() == 2)
            #expect(try await app.services.retention.sweep() == 0, "done once")
            let texts = try await Message.query(on: app.store.db).filter(\.$senderType == .contact).sort(\.$createdAt).all().map(\.text)
            #expect(texts.sorted() == ["", "", "Texto viejo 3"], "\(texts)")
            let events = try await Event.query(on: app.store.db).filter(\.$type == EventType.messageCreated.rawValue).all().map(\.payload)
            #expect(events.filter { $0.contains("Texto viejo") }.count == 1)
            #expect(try await MetricsTests.rollups(app) == rollups)

            // Deleting: the third, once resolved and old enough, loses its messages; the conversation stays.
            let third = try #require(try await Conversation.query(on: app.store.db).filter(\.$number == 3).first())
            let kept = try await Message.query(on: app.store.db).filter(\.$conversation.$id != third.requireID()).count()
            #expect(try await app.request(.PUT, path, token: workspace.token, json: ["months": 1, "action": "delete"]).status == 200)
            #expect(try await app.request(.PATCH, "\(workspace.path)/conversations/3", token: workspace.token, json: ["status": "resolved"]).status == 200)
            clock.advance(by: 40 * 86_400)
            #expect(try await app.services.retention.sweep() == 1)
            #expect(try await Message.query(on: app.store.db).count() == kept)
            #expect(try await app.count(Conversation.self) == 3)
            // Clearing the policy keeps everything from then on.
            #expect(try await app.request(.PUT, path, token: workspace.token, json: ["months": NSNull()]).status == 200)
            #expect(try await Inbox.find(inbox.id, on: app.store.db)?.retentionJSON == nil)
        }
    }
}
