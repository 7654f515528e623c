@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Crypto
import Fluent
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor

/// A live chat inbox made through the REST API, and a visitor's calls to the widget API.
struct ChatInbox: Sendable {
    let id: String
    let identitySecret: String
    var base: String { "/widget/v1/\(id)" }

    static func make(_ app: TestApp, _ workspace: WorkspaceFixture, settings: [String: String] = [:]) async throws -> ChatInbox {
        let answer = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                           json: ["name": "Chat web", "channel": "webchat", "settings": settings])
        #expect(answer.status == 201, "\(answer.text)")
        let json = try answer.json()
        #expect((json["embed_code"] as? String)?.contains("widget.js") == true)
        return ChatInbox(id: json["id"] as? String ?? "", identitySecret: json["secret"] as? String ?? "")
    }

    struct Visitor: Sendable {
        var token: String
        var session: String
    }

    func start(_ app: TestApp, token: String? = nil, identity: [String: String]? = nil, origin: String? = nil) async throws -> (HTTPAnswer, Visitor?) {
        var body: [String: Any] = ["language": "es"]
        if let token { body["token"] = token }
        if let identity { body["identity"] = identity }
        let answer = try await app.request(.POST, base + "/session", json: body, headers: origin.map { [("Origin", $0)] } ?? [])
        guard answer.status == 200, let json = try? answer.json() else { return (answer, nil) }
        return (answer, Visitor(token: json["token"] as? String ?? "", session: json["session"] as? String ?? ""))
    }

    func say(_ app: TestApp, _ visitor: Visitor, _ text: String, id: String = UUID().uuidString.lowercased(), extra: [String: String] = [:]) async throws -> HTTPAnswer {
        var body: [String: Any] = ["client_id": id, "text": text]
        for (k, v) in extra { body[k] = v }
        return try await app.request(.POST, base + "/messages", token: visitor.session, json: body)
    }

    func history(_ app: TestApp, _ visitor: Visitor) async throws -> [[String: Any]] {
        let answer = try await app.request(.GET, base + "/messages", token: visitor.session)
        #expect(answer.status == 200, "\(answer.text)")
        return try answer.json()["messages"] as? [[String: Any]] ?? []
    }
}

/// A visitor's WebSocket, recording the frames it receives.
final class VisitorSocket: @unchecked Sendable {
    private let frames = NIOLockedValueBox<[[String: Any]]>([])
    private var socket: WebSocket?
    var received: [[String: Any]] { frames.withLockedValue { $0 } }

    static func connect(_ app: TestApp, _ inbox: ChatInbox, _ visitor: ChatInbox.Visitor) async throws -> VisitorSocket {
        let client = VisitorSocket()
        let url = "ws://127.0.0.1:\(app.port)\(inbox.base)/socket?session=\(visitor.session.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        try await WebSocket.connect(to: url, on: MultiThreadedEventLoopGroup.singleton) { ws in
            client.socket = ws
            ws.onText { _, text in
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
                client.frames.withLockedValue { $0.append(object) }
            }
        }.get()
        // The connect future can complete before the upgrade hands us the socket; a frame sent before would be dropped.
        for _ in 0..<500 where client.socket == nil { try await Task.sleep(for: .milliseconds(10)) }
        return client
    }

    func send(_ frame: [String: String]) async throws {
        let data = try JSONSerialization.data(withJSONObject: frame)
        try await socket?.send(String(decoding: data, as: UTF8.self))
    }

    func close() async throws { try await socket?.close() }
    var isClosed: Bool { socket?.isClosed ?? true }

    /// Waits until a frame of `type` (whose `field` is `value`, if given) arrived; returns its string fields.
    func wait(for type: String, _ field: String? = nil, _ value: String? = nil, seconds: Double = 10) async throws -> [String: String]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let found = received.first { frame in
                guard frame["type"] as? String == type else { return false }
                guard let field else { return true }
                let inner = frame["message"] as? [String: Any] ?? [:]
                return (frame[field] as? String ?? inner[field] as? String) == value
            }
            if let found {
                var strings: [String: String] = [:]
                for (k, v) in found { if let v = v as? String { strings[k] = v } }
                for (k, v) in found["message"] as? [String: Any] ?? [:] { if let v = v as? String { strings["message." + k] = v } }
                return strings
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

@Suite("Live chat widget API", .serialized)
struct WidgetTests {
    @Test("a visitor's token is the only key to their conversation; the team's replies come back with the agent's first name")
    func visitorsAndHistory() async throws {
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await ChatInbox.make(app, workspace, settings: ["color": "#aa3300", "greeting_es": "¡Hola! ¿En qué te ayudamos?"])
            #expect(inbox.identitySecret.hasPrefix("idsec_"))
            let (first, maybeVisitor) = try await inbox.start(app)
            let visitor = try #require(maybeVisitor)
            #expect(visitor.token.hasPrefix("vt_"))
            let info = try first.json()
            #expect((info["inbox"] as? [String: Any])?["color"] as? String == "#aa3300")
            #expect((info["inbox"] as? [String: Any])?["greeting"] as? String == "¡Hola! ¿En qué te ayudamos?")
            #expect((info["availability"] as? [String: Any])?["online"] as? Bool == false, "no agent has the desk open")

            let sent = try await inbox.say(app, visitor, "Hola, ¿tienen talla M?", id: "m1")
            #expect(sent.status == 201, "\(sent.text)")
            #expect(try sent.json()["client_id"] as? String == "m1")
            // The same client id again is the same message (a retry after a dropped connection).
            #expect(try await inbox.say(app, visitor, "Hola, ¿tienen talla M?", id: "m1").status == 201)
            #expect(try await app.count(Message.self) == 1)
            let conversation = try #require(try await Conversation.query(on: app.store.db).first())
            #expect(conversation.channel == .webchat)
            let identities = try await ContactIdentity.query(on: app.store.db).all()
            #expect(identities.map(\.kind) == [.visitor])
            #expect(!identities[0].value.contains(visitor.token), "the token itself is never stored")

            let reply = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                              json: ["text": "Sí, nos quedan dos."])
            #expect(reply.status == 201)
            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token,
                                      json: ["text": "nota interna", "private": true])

            // Coming back with the token: the same visitor, the whole history, no private note.
            let (_, returning) = try await inbox.start(app, token: visitor.token)
            let again = try #require(returning)
            #expect(again.token == visitor.token)
            let history = try await inbox.history(app, again)
            #expect(history.map { $0["text"] as? String } == ["Hola, ¿tienen talla M?", "Sí, nos quedan dos."])
            #expect((history.last?["author"] as? [String: Any])?["name"] as? String == "Admin")

            // Another visitor sees nothing of it, and a forged or foreign session is refused.
            let (_, other) = try await inbox.start(app)
            #expect(try await inbox.history(app, try #require(other)).isEmpty)
            let forged = String(again.session.dropLast(4)) + "0000"
            #expect(try await app.request(.GET, inbox.base + "/messages", token: forged).status == 401)
            #expect(try await app.request(.GET, inbox.base + "/messages").status == 401)
            let second = try await ChatInbox.make(app, workspace)
            #expect(try await app.request(.GET, second.base + "/messages", token: again.session).status == 401)
            // The attachment of another visitor's conversation is not found through this session.
            #expect(try await app.request(.GET, inbox.base + "/attachments/\(UUID())", token: again.session).status == 404)
        }
    }

    @Test("refused messages say why and store nothing: too long, wrong file type, too fast")
    func limits() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await ChatInbox.make(app, workspace)
            let visitor = try #require(try await inbox.start(app).1)
            let long = try await inbox.say(app, visitor, String(repeating: "a", count: Webchat.maxTextLength + 1))
            #expect(long.status == 413 && long.text.contains("text_too_long"))
            #expect(try await inbox.say(app, visitor, "   ").status == 400)
            #expect(try await inbox.say(app, visitor, "hola", id: "bad id!").status == 400)

            let boundary = "b\(UUID().uuidString)"
            func upload(_ name: String, _ type: String, _ data: Data) async throws -> HTTPAnswer {
                var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n\(UUID().uuidString)\r\n".utf8)
                body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\nContent-Type: \(type)\r\n\r\n".utf8))
                body.append(data)
                body.append(Data("\r\n--\(boundary)--\r\n".utf8))
                return try await app.request(.POST, inbox.base + "/messages", token: visitor.session, raw: body,
                                             headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")])
            }
            let script = try await upload("x.html", "text/html", Data("<script>alert(1)</script>".utf8))
            #expect(script.status == 415, "\(script.text)")
            #expect(try await app.count(Message.self) == 0)
            #expect(try await app.count(Attachment.self) == 0)
            let png = try await upload("foto.png", "image/png", Data([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]))
            #expect(png.status == 201, "\(png.text)")
            let file = try #require((try png.json()["attachments"] as? [[String: Any]])?.first)
            let download = try await app.request(.GET, inbox.base + "/attachments/\(file["id"] as? String ?? "")", token: visitor.session)
            #expect(download.status == 200 && download.body == Data([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]))
            let stranger = try #require(try await inbox.start(app).1)
            #expect(try await app.request(.GET, inbox.base + "/attachments/\(file["id"] as? String ?? "")", token: stranger.session).status == 404)

            for n in 2...WidgetController.messagesPerVisitor { #expect(try await inbox.say(app, visitor, "línea \(n)").status == 201) }
            let flooded = try await inbox.say(app, visitor, "una más")
            #expect(flooded.status == 429 && flooded.text.contains("rate_limited"))
            #expect(try await app.count(Message.self) == WidgetController.messagesPerVisitor)
        }
    }

    @Test("a typed email is only where to write; a verified identity links the visitor to the customer")
    func identities() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let api = try await workspace.apiInbox(app)
            try await api.post(app, APIInbox.message("e1", from: ["email": "ana@example.com", "name": "Ana Pérez"]))
            let ana = try #require(try await ContactIdentity.query(on: app.store.db).filter(\.$value == "ana@example.com").first()).$contact.id
            let inbox = try await ChatInbox.make(app, workspace)

            // Someone types Ana's email: they get their own contact, and agents a suggestion to check.
            let impostor = try #require(try await inbox.start(app).1)
            #expect(try await inbox.say(app, impostor, "Soy Ana, dame mis pedidos", extra: ["email": "ana@example.com", "name": "Ana"]).status == 201)
            let chat = try #require(try await Conversation.query(on: app.store.db).filter(\.$channel == .webchat).first())
            #expect(chat.$contact.id != ana)
            let contact = try #require(try await Contact.find(chat.$contact.id, on: app.store.db))
            #expect(contact.email == "ana@example.com")
            #expect(try await ContactIdentity.query(on: app.store.db).filter(\.$value == "ana@example.com").count() == 1)
            #expect(try await DuplicateSuggestion.query(on: app.store.db).count() == 1)
            #expect(try await inbox.history(app, impostor).count == 1, "only their own message, nothing of Ana's")
            // The agent sees the email the visitor typed, marked as given, not verified.
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (agent, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await agent.get(SiteURL.conversation(slug, chat.number).path)
            #expect(page.text.contains(#"<li class="typed"><span class="kind">Correo</span> ana@example.com<span class="hint"> · indicado, sin verificar</span></li>"#))

            // The website signs Ana's user id and email: now the chat is Ana's.
            func hash(_ text: String, _ secret: String) -> String {
                HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(secret.utf8))).hexString
            }
            let forged = try await inbox.start(app, identity: ["user_id": "42", "email": "ana@example.com", "hash": hash("42\nana@example.com", "wrong")])
            #expect(forged.0.status == 401 && forged.0.text.contains("identity_not_verified"))
            let identity = ["user_id": "42", "email": "ana@example.com", "hash": hash("42\nana@example.com", inbox.identitySecret)]
            let verified = try #require(try await inbox.start(app, identity: identity).1)
            #expect(try await inbox.say(app, verified, "Hola, soy Ana de verdad").status == 201)
            let real = try #require(try await Conversation.query(on: app.store.db).filter(\.$channel == .webchat).filter(\.$contact.$id == ana).first())
            #expect(real.number == 3)
            // On another device (a new visitor token) Ana sees her chat again.
            let elsewhere = try #require(try await inbox.start(app, identity: identity).1)
            #expect(elsewhere.token != verified.token)
            #expect(try await inbox.history(app, elsewhere).map { $0["text"] as? String } == ["Hola, soy Ana de verdad"])
        }
    }

    @Test("live: messages, typing and read receipts both ways over the sockets")
    func live() async throws {
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await ChatInbox.make(app, workspace)
            let visitor = try #require(try await inbox.start(app).1)
            let agent = try await EventClient.connect(app, workspace)
            let socket = try await VisitorSocket.connect(app, inbox, visitor)

            try await socket.send(["type": "message", "client_id": "w1", "text": "¿Hacen envíos a Valparaíso?"])
            let ack = try await socket.wait(for: "ack")
            #expect(ack?["client_id"] == "w1")
            // (Counting is not enough: the agent's own connection is an event too.)
            try await agent.wait { $0.contains { $0["type"] as? String == "message.created" } }
            #expect(agent.received.contains { $0["type"] as? String == "message.created" })

            // The agent opens the conversation and types: the visitor sees both.
            try await agent.announce("viewing", conversation: 1)
            #expect(try await socket.wait(for: "seen") != nil)
            #expect(try await Message.query(on: app.store.db).filter(\.$kind == .incoming).first()?.deliveryStatus == .read)
            try await agent.announce("typing", conversation: 1)
            let typing = try await socket.wait(for: "typing")
            #expect(typing?["name"] == "Admin")
            // The visitor types: the agent's stream hears it.
            try await socket.send(["type": "typing"])
            #expect(try await agent.visitorTyping() == 1)

            _ = try await app.request(.POST, "\(workspace.path)/conversations/1/messages", token: workspace.token, json: ["text": "Sí, en 48 horas."])
            let pushed = try await socket.wait(for: "message", "text", "Sí, en 48 horas.")
            #expect(pushed?["message.from"] == "team")
            // The visitor reads it: it shows read to the team.
            try await socket.send(["type": "read"])
            #expect(try await outgoingStatus(app, becomes: .read) == .read)
            // Refusals come back on the socket, and store nothing.
            try await socket.send(["type": "message", "client_id": "w2", "text": String(repeating: "x", count: 6000)])
            let refused = try await socket.wait(for: "error")
            #expect(refused?["code"] == "text_too_long")
            #expect(refused?["client_id"] == "w2")
            #expect(try await app.count(Message.self) == 2)
            try await socket.close()
            try await agent.close()
        }
    }

    @Test("the automatic first answer reaches the visitor live, once, with the request number")
    func automaticFirstAnswer() async throws {
        try await withApp(runJobs: true) { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await ChatInbox.make(app, workspace)
            let put = try await app.request(.PUT, "\(workspace.path)/inboxes/\(inbox.id)/service-levels", token: workspace.token, json: [
                "auto_replies": ["language": "es", "first_answer": ["es": "Gracias por escribirnos. Tu número de solicitud es el {number}."]]
                    as [String: Any]])
            #expect(put.status == 200, "\(put.text)")
            let visitor = try #require(try await inbox.start(app).1)
            let socket = try await VisitorSocket.connect(app, inbox, visitor)
            try await socket.send(["type": "message", "client_id": "a1", "text": "Hola"])
            let answer = try await socket.wait(for: "message", "text", "Gracias por escribirnos. Tu número de solicitud es el 1.")
            #expect(answer?["message.from"] == "team")
            try await socket.send(["type": "message", "client_id": "a2", "text": "¿Siguen ahí?"])
            #expect(try await socket.wait(for: "ack", "client_id", "a2") != nil)
            try await Task.sleep(for: .milliseconds(300))
            let history = try await inbox.history(app, visitor)
            #expect(history.map { $0["text"] as? String } == ["Hola", "Gracias por escribirnos. Tu número de solicitud es el 1.", "¿Siguen ahí?"])
            try await socket.close()
        }
    }

    @Test("a socket flooding frames is told why and closed; too many sockets from one address are refused")
    func socketLimits() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let inbox = try await ChatInbox.make(app, workspace)
            let visitor = try #require(try await inbox.start(app).1)
            let socket = try await VisitorSocket.connect(app, inbox, visitor)
            for _ in 0...WidgetController.framesPerSocket { try? await socket.send(["type": "typing"]) }
            #expect(try await socket.wait(for: "error", "code", "rate_limited") != nil)
            for _ in 0..<100 where !socket.isClosed { try await Task.sleep(for: .milliseconds(20)) }
            #expect(socket.isClosed)
            try await Task.sleep(for: .milliseconds(300))
            // The per-address limit (50 by default): the 51st socket from this address is refused before the upgrade.
            var open: [VisitorSocket] = []
            for _ in 0..<50 { open.append(try await VisitorSocket.connect(app, inbox, visitor)) }
            await #expect(throws: (any Error).self) { try await VisitorSocket.connect(app, inbox, visitor) }
            for s in open { try await s.close() }
        }
    }

    @Test("other websites: CORS for the widget, allowed origins enforced, settings validated")
    func origins() async throws {
        try await withApp { app in
            let workspace = try await WorkspaceFixture.make(app)
            let bad = try await app.request(.POST, "\(workspace.path)/inboxes", token: workspace.token,
                                            json: ["name": "Chat", "channel": "webchat", "settings": ["color": "red"]])
            #expect(bad.status == 400 && bad.text.contains("#rrggbb"))
            let inbox = try await ChatInbox.make(app, workspace, settings: ["allowed_origins": "https://tienda.example"])
            let preflight = try await app.request(.OPTIONS, inbox.base + "/session", headers: [("Origin", "https://tienda.example"),
                                                                                             ("Access-Control-Request-Method", "POST")])
            #expect(preflight.status == 204)
            #expect(preflight.headers.first(name: "Access-Control-Allow-Origin") == "https://tienda.example")
            #expect(preflight.headers.first(name: "Access-Control-Allow-Headers")?.contains("Authorization") == true)
            let allowed = try await inbox.start(app, origin: "https://tienda.example")
            #expect(allowed.0.status == 200)
            let other = try await inbox.start(app, origin: "https://evil.example")
            #expect(other.0.status == 403 && other.0.text.contains("origin_not_allowed"))
            #expect(other.0.headers.first(name: "Access-Control-Allow-Origin") != nil, "the widget can read why")
            let script = try await app.request(.GET, "/widget.js")
            #expect(script.status == 200 && script.text.contains("attachShadow"))
            // The admin page shows the tag to paste and the widget's settings.
            let slug = try #require(try await Workspace.find(workspace.id, on: app.store.db)).slug
            let (admin, _) = try await Browser.signedIn(app, as: workspace.adminID)
            let page = try await admin.get(SiteURL.settings(slug, .inboxes).path)
            #expect(page.text.contains("data-inbox=\"\(inbox.id.lowercased())\" async&gt;"))
            #expect(page.text.contains("name=\"settings.allowed_origins\" value=\"https://tienda.example\""))
            let demo = try await app.request(.GET, "/widget/demo?inbox=\(inbox.id)&lang=en")
            #expect(demo.status == 200 && demo.text.contains("<script src=\"/widget.js\" data-inbox=\"\(inbox.id.lowercased())\""))
        }
    }
}

/// The first outgoing message's delivery status once it is `wanted`, or what it is after a few seconds.
func outgoingStatus(_ app: TestApp, becomes wanted: DeliveryStatus) async throws -> DeliveryStatus? {
    var status: DeliveryStatus?
    for _ in 0..<250 {
        status = try await Message.query(on: app.store.db).filter(\.$kind == .outgoing).first()?.deliveryStatus
        if status == wanted { break }
        try await Task.sleep(for: .milliseconds(20))
    }
    return status
}

extension EventClient {
    func announce(_ type: String, conversation: Int) async throws {
        try await sendText("{\"type\":\"\(type)\",\"conversation\":\(conversation)}")
    }

    /// Waits for a `visitor_typing` frame and returns its conversation number.
    func visitorTyping(seconds: Double = 10) async throws -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let found = received.first(where: { $0["type"] as? String == "visitor_typing" }) { return found["conversation"] as? Int }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
