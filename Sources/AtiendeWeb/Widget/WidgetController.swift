import AtiendeChannels
import AtiendeCore
import FluentKit
import Foundation
import Vapor

/// The live chat widget's API, `/widget/v1/{inboxId}/…`, called from customers' websites (see `Webchat` for who a
/// visitor is). Everything but `session` needs `Authorization: Bearer <session>`; the WebSocket takes it as
/// `?session=` because browsers cannot set headers on one.
enum WidgetController {
    static let messagesPerVisitor = 20
    static let messagesPerAddress = 60
    static let sessionsPerAddress = 30
    /// A socket sending more than this many frames in 10 seconds is closed (a person types far slower).
    static let framesPerSocket = 60

    static func register(on routes: any RoutesBuilder) {
        let widget = routes.grouped("widget", "v1", ":inboxId")
        widget.on(.POST, "session", body: .collect(maxSize: "16kb"), use: session)
        widget.on(.GET, "messages", use: messages)
        widget.on(.POST, "messages", body: .collect(maxSize: ByteCount(integerLiteral: Webchat.maxFileBytes + 64 * 1024)), use: post)
        widget.on(.POST, "typing", body: .collect(maxSize: "1kb"), use: typing)
        widget.on(.POST, "read", body: .collect(maxSize: "1kb"), use: read)
        widget.on(.POST, "contact", body: .collect(maxSize: "4kb"), use: contact)
        widget.on(.POST, "survey", body: .collect(maxSize: "8kb"), use: survey)
        widget.on(.GET, "attachments", ":attachmentId", use: attachment)
        widget.on(.GET, "socket", use: socket)
        routes.on(.GET, "widget.js", use: script)
        routes.on(.GET, "widget", "demo", use: WidgetDemoPage.show)
    }

    /// The inbox behind the URL, if it is an active live chat inbox and the calling page's origin may use it.
    struct Target {
        var inbox: Inbox
        var inboxID: UUID
        var settings: WebchatSettings
        var secrets: [String: String]
    }

    static func target(_ req: Request) async throws -> Target {
        guard let raw = req.parameters.get("inboxId"), let id = UUID(uuidString: raw),
              let inbox = try await Inbox.find(id, on: req.db), inbox.channel == .webchat, inbox.isActive
        else { throw AtiendeError.notFound("live chat inbox") }
        let settings = WebchatSettings(inbox.settings.values)
        guard settings.allows(origin: req.headers.first(name: .origin)) else {
            throw AtiendeError(.forbidden, code: "origin_not_allowed", "this website is not allowed to use this live chat")
        }
        return Target(inbox: inbox, inboxID: id, settings: settings, secrets: try inbox.secrets(with: req.atiende.secrets))
    }

    static func visitorSession(_ req: Request, _ target: Target, raw: String? = nil) throws -> Webchat.Session {
        let bearer = raw ?? req.headers.bearerAuthorization?.token
        guard let bearer, !bearer.isEmpty else {
            throw AtiendeError(.unauthorized, code: "missing_session", "start a visitor session first (POST …/session)")
        }
        return try Webchat.Session.open(bearer, key: req.atiende.config.secretKey, inboxID: target.inboxID, now: req.atiende.store.clock.now())
    }

    static func address(_ req: Request) -> String { req.remoteAddress?.ipAddress ?? "unknown" }

    // MARK: session

    struct SessionBody: Decodable {
        struct Identity: Decodable {
            var userID: String
            var email: String?
            var name: String?
            var hash: String
            enum CodingKeys: String, CodingKey { case email, name, hash, userID = "user_id" }
        }
        var token: String?
        var language: String?
        var identity: Identity?
    }

    struct SessionResponse: Encodable {
        struct InboxInfo: Encodable {
            var name: String
            var color: String
            var greeting: String
            var requireName: Bool
            var requireEmail: Bool
            enum CodingKeys: String, CodingKey { case name, color, greeting, requireName = "require_name", requireEmail = "require_email" }
        }
        struct Availability: Encodable {
            var online: Bool
            var open: Bool
            var nextOpening: Date?
            enum CodingKeys: String, CodingKey { case online, open, nextOpening = "next_opening" }
        }
        struct Visitor: Encodable { var name: String?; var email: String?; var verified: Bool }
        var token: String
        var session: String
        var inbox: InboxInfo
        var availability: Availability
        var visitor: Visitor
        var messages: [WidgetWire.Message]
        /// Where article suggestions will come from once the knowledge base exists; empty until then.
        var articles: [String]
    }

    static func session(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let services = req.atiende
        let now = services.store.clock.now()
        if case .failure(let refusal) = try await services.widgetSessions.take([(address(req), sessionsPerAddress)], now: now) {
            throw AtiendeError(.rateLimited, code: "rate_limited", "too many chat sessions from this address; try again in \(Int(refusal.wait.rounded(.up))) seconds")
        }
        let body = try req.decodeJSON(SessionBody.self)
        let token = Webchat.validToken(body.token) ?? Webchat.newToken()
        var userID: String?, verifiedEmail: String?
        if let identity = body.identity {
            guard let secret = target.secrets[Webchat.identitySecretKey], !identity.userID.isEmpty, identity.userID.count <= 255,
                  Webchat.verifyIdentity(userID: identity.userID, email: identity.email, hash: identity.hash, secret: secret) else {
                throw AtiendeError(.unauthorized, code: "identity_not_verified", "the identity hash does not match user_id (and email)")
            }
            if let email = identity.email {
                guard let normalized = IdentityNormalizer.email(email) else {
                    throw AtiendeError.invalid("identity.email is not an email address", code: "invalid_email")
                }
                verifiedEmail = normalized
            }
            userID = identity.userID
        }
        let visitor = Webchat.Session(inboxID: target.inboxID, token: token, verifiedUserID: userID, verifiedEmail: verifiedEmail, now: now,
                                      language: body.language == "en" ? "en" : "es")
        let conversations = try await WidgetWire.conversations(inbox: target.inboxID, thread: visitor.thread, on: req.db)
        let contact: Contact? = if let last = conversations.last { try await Contact.find(last.$contact.id, on: req.db) } else { nil }
        let history = try await WidgetWire.history(conversations, on: req.db, names: services.visitors.authorName)
        let language = body.language == "en" ? "en" : "es"
        let hours = target.inbox.businessHours
        let open = hours?.isOpen(at: now) ?? true
        let workspace = target.inbox.$workspace.id
        let online = services.presence.agentsOnline(workspace: workspace) ? true : await services.cluster.agentsOnlineElsewhere(workspace: workspace)
        return try json(SessionResponse(
            token: token, session: visitor.sealed(key: services.config.secretKey),
            inbox: .init(name: target.inbox.name, color: target.settings.color, greeting: target.settings.greeting[language] ?? "",
                         requireName: target.settings.requireName, requireEmail: target.settings.requireEmail),
            availability: .init(online: online, open: open,
                                nextOpening: open ? nil : hours?.nextOpening(after: now)),
            visitor: .init(name: body.identity?.name ?? contact?.name, email: verifiedEmail ?? contact?.email, verified: visitor.verified),
            messages: history, articles: []))
    }

    // MARK: messages

    static func messages(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target)
        let conversations = try await WidgetWire.conversations(inbox: target.inboxID, thread: visitor.thread, on: req.db)
        struct Page: Encodable { var messages: [WidgetWire.Message] }
        return try json(Page(messages: try await WidgetWire.history(conversations, on: req.db, names: req.atiende.visitors.authorName)))
    }

    struct Outgoing: Content {
        var clientID: String?
        var text: String?
        var name: String?
        var email: String?
        var file: File?
        enum CodingKeys: String, CodingKey { case text, name, email, file, clientID = "client_id" }
    }

    static func post(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target)
        let body = try req.content.decode(Outgoing.self)
        var files: [InboundMessage.File] = []
        if let file = body.file, file.data.readableBytes > 0 {
            files.append(.init(filename: file.filename, contentType: file.contentType?.serialize() ?? "application/octet-stream",
                               data: Data(file.data.readableBytesView)))
        }
        let message = try await receive(req.atiende, target: target, visitor: visitor, address: address(req), clientID: body.clientID,
                                        text: body.text ?? "", name: body.name, email: body.email, files: files)
        return try json(message, status: .created)
    }

    /// One visitor message, from HTTP or the socket: limits checked first, so a refused message stores nothing.
    static func receive(_ services: AtiendeServices, target: Target, visitor: Webchat.Session, address: String, clientID: String?,
                        text rawText: String, name: String?, email: String?, files: [InboundMessage.File]) async throws -> WidgetWire.Message {
        guard let clientID, (1...64).contains(clientID.count),
              clientID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw AtiendeError.invalid("client_id must be 1 to 64 letters, digits, - or _", code: "invalid_client_id")
        }
        let text = rawText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= Webchat.maxTextLength else {
            throw AtiendeError(.payloadTooLarge, code: "text_too_long", "a chat message can have at most \(Webchat.maxTextLength) characters")
        }
        guard !text.isEmpty || !files.isEmpty else { throw AtiendeError.invalid("write a message or attach a file", code: "empty_message") }
        for file in files {
            let type = file.contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard Webchat.fileTypes.contains(type) else {
                throw AtiendeError(.unsupportedMediaType, code: "attachment_type_not_allowed", "only images (JPEG, PNG, GIF, WebP) and PDF files can be sent")
            }
            guard file.data.count <= Webchat.maxFileBytes else {
                throw AtiendeError(.payloadTooLarge, code: "attachment_too_large", "files can be at most \(Webchat.maxFileBytes / 1024 / 1024) MB")
            }
        }
        let name = name?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        guard (name ?? "").count <= 120 else { throw AtiendeError.invalid("name is longer than 120 characters", code: "invalid_name") }
        var typedEmail: String?
        if let email = email?.trimmingCharacters(in: .whitespaces).nilIfEmpty {
            guard let normalized = IdentityNormalizer.email(email) else {
                throw AtiendeError.invalid("that email address does not look right", code: "invalid_email")
            }
            typedEmail = normalized
        }
        let now = services.store.clock.now()
        let limiter = services.widgetMessages
        let taken: RateLimiter.Taken
        switch try await limiter.take([("v:" + visitor.visitorKey, messagesPerVisitor), ("a:" + address, messagesPerAddress)], now: now) {
        case .failure(let refusal):
            throw AtiendeError(.rateLimited, code: "rate_limited", "you are sending messages too fast; wait \(Int(refusal.wait.rounded(.up))) seconds")
        case .success(let counted): taken = counted
        }
        let inbound = InboundMessage(
            inboxID: target.inboxID, providerMessageID: "wc:\(visitor.visitorKey.prefix(24)):\(clientID)",
            sender: .init(name: name, identities: visitor.identities), text: text, files: files, threadHint: visitor.thread)
        let result: IngestResult
        do {
            result = try await services.ingest.receive(inbound, in: target.inbox, countryCode: nil)
        } catch {
            await limiter.giveBack(taken)  // a refused message does not count
            throw error
        }
        // A retried send (the same client id) is the same message: it counts once.
        if result.duplicate { await limiter.giveBack(taken) }
        if let typedEmail, !visitor.verified { try await services.contacts.rememberUnverifiedEmail(typedEmail, contact: result.contactID) }
        if let language = visitor.language, result.openedConversation { try await services.contacts.rememberLanguage(language, contact: result.contactID) }
        guard let stored = try await AtiendeCore.Message.query(on: services.store.db).filter(\.$id == result.messageID)
            .with(\.$attachments).first() else { throw AtiendeError.notFound("message") }
        return WidgetWire.Message(stored.snapshot(attachments: stored.attachments), author: nil)
    }

    struct EmailBody: Decodable { var email: String }

    /// `POST …/contact`: the email the visitor left while the team was away.
    static func contact(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target)
        let body = try req.decodeJSON(EmailBody.self)
        guard let email = IdentityNormalizer.email(body.email) else {
            throw AtiendeError.invalid("that email address does not look right", code: "invalid_email")
        }
        guard let last = try await WidgetWire.conversations(inbox: target.inboxID, thread: visitor.thread, on: req.db).last else {
            throw AtiendeError(.conflict, code: "no_conversation", "write your message first; the email is sent with it")
        }
        if !visitor.verified { try await req.atiende.contacts.rememberUnverifiedEmail(email, contact: last.$contact.id) }
        return Response(status: .noContent)
    }

    // MARK: typing, read receipts, files

    static func typing(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target)
        try await visitorTyping(req.atiende, target: target, visitor: visitor)
        return Response(status: .noContent)
    }

    static func visitorTyping(_ services: AtiendeServices, target: Target, visitor: Webchat.Session) async throws {
        guard let last = try await WidgetWire.conversations(inbox: target.inboxID, thread: visitor.thread, on: services.store.db).last,
              ConversationStatus.active.contains(last.status) else { return }
        services.presence.visitorTyping(workspace: target.inbox.$workspace.id, conversation: last.number)
        services.cluster.publish(.visitorTyping(workspace: target.inbox.$workspace.id, conversation: last.number))
    }

    static func read(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target)
        try await visitorRead(req.atiende, target: target, visitor: visitor)
        return Response(status: .noContent)
    }

    /// The visitor has seen the team's messages: they show as read to the agents.
    static func visitorRead(_ services: AtiendeServices, target: Target, visitor: Webchat.Session) async throws {
        let ids = try await WidgetWire.conversations(inbox: target.inboxID, thread: visitor.thread, on: services.store.db).compactMap(\.id)
        guard !ids.isEmpty else { return }
        let unread = try await AtiendeCore.Message.query(on: services.store.db).filter(\.$conversation.$id ~~ ids).filter(\.$kind == .outgoing)
            .filter(\.$deliveryStatus ~~ [.queued, .sent, .delivered]).field(\.$id).limit(200).all()
        guard !unread.isEmpty else { return }
        try await services.store.write { tx in
            for message in unread { try await ConversationService.recordDelivery(try message.requireID(), status: .read, in: tx) }
        }
    }

    static func attachment(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target)
        guard let raw = req.parameters.get("attachmentId"), let id = UUID(uuidString: raw),
              let file = try await Attachment.find(id, on: req.db),
              let message = try await AtiendeCore.Message.find(file.$message.id, on: req.db), message.kind != .note,
              let conversation = try await Conversation.find(message.$conversation.id, on: req.db),
              conversation.$inbox.id == target.inboxID, conversation.providerThreadID == visitor.thread
        else { throw AtiendeError.notFound("attachment") }
        return try AttachmentsController.response(file, files: req.atiende.files)
    }

    /// Sites embed this URL unversioned, so caches must come back for updates.
    static func script(_ req: Request) async throws -> Response {
        try Assets.response("widget.js", req, cacheControl: "public, max-age=300")
    }

    // MARK: the socket

    struct Frame: Decodable {
        var type: String
        var clientID: String?
        var text: String?
        var name: String?
        var email: String?
        enum CodingKeys: String, CodingKey { case type, text, name, email, clientID = "client_id" }
    }

    /// `GET …/socket?session=`: the team's messages, typing and read receipts pushed live; the visitor's messages,
    /// typing and reads sent as frames (`{"type": "message", "client_id", "text"}`, `{"type": "typing"}`, `{"type": "read"}`).
    static func socket(_ req: Request) async throws -> Response {
        let target = try await target(req)
        let visitor = try visitorSession(req, target, raw: req.query[String.self, at: "session"])
        let services = req.atiende
        let address = address(req)
        guard services.visitors.admits(address: address) else {
            throw AtiendeError(.rateLimited, code: "too_many_connections", "too many chat connections from this address")
        }
        let known = try await WidgetWire.conversations(inbox: target.inboxID, thread: visitor.thread, on: req.db)
        let onUpgrade: @Sendable (Request, WebSocket) -> Void = { req, ws in
            ws.pingInterval = .seconds(25)  // keeps a quiet socket inside the server's idle timeout, and finds dead peers
            let id = UUID()
            var connection = VisitorHub.Connection(workspaceID: target.inbox.$workspace.id, inboxID: target.inboxID, thread: visitor.thread,
                                                   address: address, socket: ws, conversations: [:])
            for c in known { if let cid = c.id { connection.conversations[cid] = c.number } }
            guard services.visitors.connect(id, connection) else {
                _ = ws.close(code: .policyViolation)
                return
            }
            Task { await services.cluster.visitorJoined(id, inbox: target.inboxID, thread: visitor.thread) }
            ws.onClose.whenComplete { _ in
                Task { await services.cluster.visitorLeft(id) }
                services.visitors.disconnect(id)
                services.widgetFrames.forget(id.uuidString)
            }
            ws.onText { ws, text in
                let now = Date()
                guard services.widgetFrames.retryAfter(id.uuidString, limit: framesPerSocket, now: now) == nil else {
                    reply(WidgetWire.Refused(clientID: nil, code: "rate_limited", message: "too many frames; reconnect in a moment"), on: ws)
                    _ = ws.close(code: .policyViolation)
                    return
                }
                services.widgetFrames.record(id.uuidString, now: now)
                Task { await handle(text, services: services, target: target, visitor: visitor, address: address, socket: ws) }
            }
        }
        return req.webSocket(maxFrameSize: .init(integerLiteral: 1 << 16), onUpgrade: onUpgrade)
    }

    static func handle(_ text: String, services: AtiendeServices, target: Target, visitor: Webchat.Session, address: String, socket: WebSocket) async {
        guard let frame = try? JSONDecoder().decode(Frame.self, from: Data(text.utf8)) else {
            reply(WidgetWire.Refused(clientID: nil, code: "invalid_frame", message: "frames are JSON objects with a type"), on: socket)
            return
        }
        do {
            switch frame.type {
            case "message":
                let message = try await receive(services, target: target, visitor: visitor, address: address, clientID: frame.clientID,
                                                text: frame.text ?? "", name: frame.name, email: frame.email, files: [])
                reply(WidgetWire.Ack(clientID: frame.clientID ?? "", message: message), on: socket)
            case "typing": try await visitorTyping(services, target: target, visitor: visitor)
            case "read": try await visitorRead(services, target: target, visitor: visitor)
            default: reply(WidgetWire.Refused(clientID: nil, code: "invalid_frame", message: "unknown frame type"), on: socket)
            }
        } catch {
            let (_, code, message) = APIErrorMiddleware.describe(error)
            reply(WidgetWire.Refused(clientID: frame.clientID, code: code, message: message), on: socket)
        }
    }

    static func reply(_ frame: some Encodable, on socket: WebSocket) {
        guard let data = try? JSON.encoder.encode(frame), let text = String(data: data, encoding: .utf8) else { return }
        socket.send(text, promise: nil)
    }
}

/// The widget is called from other sites: its API answers any origin (an inbox can narrow that with
/// `allowed_origins`, checked per request), without cookies, and says so on errors too so the widget can read them.
struct WidgetCORSMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.url.path.hasPrefix("/widget/v1/") else { return try await next.respond(to: request) }
        let response = request.method == .OPTIONS ? Response(status: .noContent) : try await next.respond(to: request)
        response.headers.replaceOrAdd(name: .accessControlAllowOrigin, value: request.headers.first(name: .origin) ?? "*")
        response.headers.replaceOrAdd(name: .vary, value: "Origin")
        response.headers.replaceOrAdd(name: .accessControlAllowHeaders, value: "Authorization, Content-Type")
        response.headers.replaceOrAdd(name: .accessControlAllowMethods, value: "GET, POST, OPTIONS")
        response.headers.replaceOrAdd(name: .accessControlMaxAge, value: "600")
        return response
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
