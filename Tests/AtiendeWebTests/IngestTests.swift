@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("API channel ingest", .serialized)
struct IngestTests {
    @Test("the same signed message posted 10 times in parallel creates one message")
    func replayedInParallel() async throws {
        try await withApp { app in
            // setup
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let body = try JSONSerialization.data(withJSONObject: APIInbox.message("msg-1", from: ["id": "cust-1", "name": "Ana"]))
            // act
            let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for _ in 0..<10 { group.addTask { try await inbox.postRaw(app, body) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // assert
            #expect(answers.allSatisfy { $0.status == 200 })
            let numbers = Set(try answers.map { try $0.json()["conversation_number"] as? Int })
            #expect(numbers == [1])
            #expect(try answers.filter { try $0.json()["duplicate"] as? Bool == false }.count == 1)
            #expect(try await app.count(Message.self) == 1)
            #expect(try await app.count(Conversation.self) == 1)
        }
    }

    @Test("a bad signature, a stale timestamp or an unknown inbox gets 401 and creates nothing")
    func rejectsUnsigned() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let body = APIInbox.message("msg-1", from: ["id": "cust-1"])

            let badSignature = try await inbox.post(app, body, secret: "whsec_wrong")
            let stale = try await inbox.post(app, body, timestamp: Int(Date().timeIntervalSince1970) - 400)
            let future = try await inbox.post(app, body, timestamp: Int(Date().timeIntervalSince1970) + 400)  // well outside the 5 minutes, however slow the machine
            let unknown = try await APIInbox(id: UUID(), secret: inbox.secret).post(app, body)
            let unsigned = try await app.request(.POST, "/api/v1/channels/api/\(inbox.id.uuidString)/messages",
                                                 json: body)

            for answer in [badSignature, stale, future, unknown, unsigned] {
                #expect(answer.status == 401, "\(answer.text)")
                #expect(try answer.json()["error"] != nil)
            }
            #expect(try badSignature.json()["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } == "bad_signature")
            #expect(try stale.json()["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } == "stale_timestamp")
            #expect(try await app.count(Message.self) == 0)
            #expect(try await app.count(Contact.self) == 0)
            #expect(try await Event.query(on: app.store.db).filter(\.$type !~ ["inbox.created", "api_token.created"]).count() == 0,
                    "only the inbox's own (and the fixture's token)")
        }
    }

    @Test("malformed or hostile bodies get 400 with a reason and change nothing")
    func rejectsMalformed() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let cases: [(Data, String)] = [
                (Data("not json".utf8), "invalid_payload"),
                (try JSONSerialization.data(withJSONObject: ["from": ["id": "x"], "text": "hi"]), "invalid_payload"),
                (try JSONSerialization.data(withJSONObject: ["message_id": "m", "from": [:] as [String: String], "text": "hi"]), "invalid_sender"),
                (try JSONSerialization.data(withJSONObject: ["message_id": "m", "from": ["email": "not-an-email"], "text": "hi"]), "invalid_sender"),
                (try JSONSerialization.data(withJSONObject: ["message_id": "m", "from": ["id": "x"], "text": "  "]), "empty_message"),
                (try JSONSerialization.data(withJSONObject: ["message_id": "m", "from": ["id": "x"], "text": "hi", "sent_at": "yesterday"]), "invalid_sent_at"),
                (try JSONSerialization.data(withJSONObject: ["message_id": "m", "from": ["id": "x"],
                                                             "attachments": [["filename": "x.exe", "content_type": "application/x-msdownload", "data": "TVqQ"]]]),
                 "attachment_type_not_allowed"),
                (try JSONSerialization.data(withJSONObject: ["message_id": String(repeating: "m", count: 300), "from": ["id": "x"], "text": "hi"]), "invalid_message_id"),
            ]
            for (raw, code) in cases {
                let answer = try await inbox.postRaw(app, raw)
                #expect((400...415).contains(answer.status), "\(answer.text)")
                let error = try answer.json()["error"] as? [String: Any]
                #expect(error?["code"] as? String == code, "\(answer.text)")
            }
            #expect(try await app.count(Message.self) == 0)
            #expect(try await app.count(Contact.self) == 0)
        }
    }

    @Test("50 parallel first messages from one new sender create one contact and one conversation")
    func concurrentFirstContact() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        try await inbox.post(app, APIInbox.message("first-\(i)", from: ["id": "new-sender", "email": "Nuevo@Example.com", "phone": "+56 9 1111 2222"]))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == 200 })
            #expect(try await app.count(Contact.self) == 1)
            #expect(try await app.count(Conversation.self) == 1)
            #expect(try await app.count(Message.self) == 50)
            let conversation = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(conversation.messageCount == 50)
            let identities = try await ContactIdentity.query(on: app.store.db).all().map { "\($0.kind.rawValue):\($0.value)" }.sorted()
            #expect(identities == ["email:nuevo@example.com", "external:\(inbox.id.uuidString.lowercased()):new-sender", "phone:+56911112222"])
        }
    }

    @Test("conversation numbers have no gaps or duplicates when many customers write at once")
    func gapFreeNumbers() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for i in 0..<40 {
                    group.addTask { try await inbox.post(app, APIInbox.message("n-\(i)", from: ["id": "sender-\(i)"])) }
                }
                // A rejected message in the middle must not consume a number.
                group.addTask { try await inbox.post(app, ["message_id": "bad", "from": ["id": "sender-x"], "text": ""]) }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.filter { $0.status == 200 }.count == 40)
            let numbers = try await Conversation.query(on: app.store.db).all().map(\.number).sorted()
            #expect(numbers == Array(1...40))
            let seqs = try await Event.query(on: app.store.db).all().map(\.seq).sorted()
            #expect(seqs == Array(1...Int64(seqs.count)))
        }
    }

    @Test("two API inboxes and a shared email: one contact, two conversations, both in its history")
    func sharedEmailAcrossInboxes() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let first = try await workspace.apiInbox(app, name: "ERP")
            let second = try await workspace.apiInbox(app, name: "CRM")
            let a = try await first.post(app, APIInbox.message("a-1", from: ["id": "erp-77", "name": "Lucía", "email": "lucia@example.com"]))
            let b = try await second.post(app, APIInbox.message("b-1", from: ["id": "crm-12", "email": "LUCIA@example.com"]))
            #expect(a.status == 200 && b.status == 200)
            #expect(try await app.count(Contact.self) == 1)
            #expect(try await app.count(Conversation.self) == 2)

            let contact = try #require(try await Contact.query(on: app.store.db).first())
            let detail = try await app.request(.GET, "\(workspace.path)/contacts/\(contact.id!.uuidString)", token: workspace.token)
            #expect(detail.status == 200)
            let conversations = try detail.json()["conversations"] as? [[String: Any]] ?? []
            #expect(Set(conversations.compactMap { $0["number"] as? Int }) == [1, 2])
            let identities = (try detail.json()["contact"] as? [String: Any])?["identities"] as? [[String: Any]] ?? []
            #expect(identities.count == 3)

            // Writing later with a phone too: it becomes the contact's phone (they had none), found by search.
            #expect(try await first.post(app, APIInbox.message("a-2", from: ["id": "erp-77", "phone": "+56 9 4444 3333"])).status == 200)
            #expect(try await Contact.find(contact.id, on: app.store.db)?.phone == "+56944443333")
            #expect(try await app.services.search.search("944443333", workspace: workspace.id, limit: 5).contacts.map(\.id) == [contact.id!])
        }
    }

    @Test("identities of two different contacts: attach to one and suggest a merge, never merge silently")
    func duplicateSuggestion() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            try await inbox.post(app, APIInbox.message("1", from: ["email": "pepa@example.com"]))
            try await inbox.post(app, APIInbox.message("2", from: ["phone": "+56 9 3333 4444"]))
            #expect(try await app.count(Contact.self) == 2)
            // Now one message carries both: they point at different people.
            try await inbox.post(app, APIInbox.message("3", from: ["email": "pepa@example.com", "phone": "+56933334444"]))
            #expect(try await app.count(Contact.self) == 2)
            let suggestions = try await DuplicateSuggestion.query(on: app.store.db).all()
            #expect(suggestions.count == 1)
            let byEmail = try #require(try await ContactIdentity.query(on: app.store.db).filter(\.$kind == .email).first())
            let message = try #require(try await Message.query(on: app.store.db).filter(\.$providerMessageID == "3").first())
            #expect(message.senderID == byEmail.$contact.id)

            // An agent merges: identities and history move, nothing is lost.
            let byPhone = try #require(try await ContactIdentity.query(on: app.store.db).filter(\.$kind == .phone).first())
            let merge = try await app.request(.POST, "\(workspace.path)/contacts/\(byEmail.$contact.id.uuidString)/merge",
                                              token: workspace.token, json: ["source_id": byPhone.$contact.id.uuidString])
            #expect(merge.status == 200, "\(merge.text)")
            let merged = try await app.request(.GET, "\(workspace.path)/contacts/\(byEmail.$contact.id.uuidString)", token: workspace.token)
            #expect((try merged.json()["conversations"] as? [[String: Any]])?.count == 2)
            #expect((try merged.json()["duplicates"] as? [[String: Any]])?.isEmpty == true)
            #expect(try await app.count(Message.self) == 3)
            let list = try await app.request(.GET, "\(workspace.path)/contacts", token: workspace.token)
            #expect((try list.json()["data"] as? [[String: Any]])?.count == 1)
            // The old id still leads to the merged contact.
            let old = try await app.request(.GET, "\(workspace.path)/contacts/\(byPhone.$contact.id.uuidString)", token: workspace.token)
            #expect((try old.json()["contact"] as? [String: Any])?["id"] as? String == byEmail.$contact.id.uuidString)
        }
    }

    @Test("threading: thread hint, open conversation, reopen within the window, else a new one")
    func threading() async throws {
        let clock = ManualClock(Date())
        try await withApp(clock: clock) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            func post(_ id: String, thread: String? = nil) async throws -> Int {
                let answer = try await inbox.post(app, APIInbox.message(id, from: ["id": "c"], thread: thread),
                                                  timestamp: Int(clock.now().timeIntervalSince1970))
                #expect(answer.status == 200, "\(answer.text)")
                return try answer.json()["conversation_number"] as? Int ?? -1
            }
            #expect(try await post("1") == 1)
            #expect(try await post("2") == 1)                 // open conversation of the contact
            #expect(try await post("3", thread: "T-9") == 2)  // a new provider thread
            #expect(try await post("4", thread: "T-9") == 2)  // the same thread

            let resolve2 = try await app.request(.PATCH, "\(workspace.path)/conversations/2", token: workspace.token, json: ["status": "resolved"])
            #expect(resolve2.status == 200)
            clock.advance(by: 60)
            // The most recently resolved conversation is the one a new message reopens.
            let resolve = try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"])
            #expect(resolve.status == 200, "\(resolve.text)")
            clock.advance(by: 3600)
            #expect(try await post("5") == 1)                 // reopened within 24 h
            let reopened = try await app.request(.GET, "\(workspace.path)/conversations/1", token: workspace.token)
            #expect(try reopened.json()["status"] as? String == "open")
            #expect(try reopened.json()["resolved_at"] == nil || (try reopened.json()["resolved_at"] is NSNull))

            _ = try await app.request(.PATCH, "\(workspace.path)/conversations/1", token: workspace.token, json: ["status": "resolved"])
            clock.advance(by: 25 * 3600)
            #expect(try await post("6") == 3)                 // past the window: a new conversation
        }
    }

    @Test("an attachment is stored once under its hash and downloads safely")
    func attachments() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await workspace.apiInbox(app)
            let pdf = Data("%PDF-1.4 boleta".utf8)
            let body: [String: Any] = ["message_id": "f1", "from": ["id": "c"], "text": "adjunto boleta",
                                       "attachments": [["filename": "../../boleta\".pdf", "content_type": "application/pdf", "data": pdf.base64EncodedString()]]]
            #expect(try await inbox.post(app, body).status == 200)
            let messages = try await app.request(.GET, "\(workspace.path)/conversations/1/messages", token: workspace.token)
            let attachment = try #require(((try messages.json()["data"] as? [[String: Any]])?.first?["attachments"] as? [[String: Any]])?.first)
            #expect(attachment["filename"] as? String == "boleta.pdf")
            let download = try await app.request(.GET, "\(workspace.path)/attachments/\(attachment["id"] as? String ?? "")", token: workspace.token)
            #expect(download.status == 200)
            #expect(download.body == pdf)
            #expect(download.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(download.headers.first(name: "Content-Disposition")?.hasPrefix("attachment;") == true)
        }
    }
}
