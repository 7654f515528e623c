@testable import AtiendeCore
@testable import AtiendeWeb
import Crypto
import Fluent
import Foundation
import Testing
import Vapor

/// A workspace with an admin and their API token, made through the same services the commands use.
struct WorkspaceFixture: Sendable {
    let id: UUID
    let adminID: UUID
    let token: String
    var path: String { "/api/v1/workspaces/\(id.uuidString)" }

    /// `password`: the admin's real one, for tests that sign in through the form (else an unusable hash, cheaply).
    static func make(_ app: TestApp, name: String = "Acme", email: String = "admin-\(UUID().uuidString.prefix(8))@example.com",
                     adminName: String = "Admin", password: String? = nil) async throws -> WorkspaceFixture {
        let hash = try password.map { try Bcrypt.hash($0, cost: 8) } ?? "$2b$04$notarealhashbutfine000000000000000000000000000000000000"
        let (workspace, user) = try await WorkspaceService.create(
            name: name, adminEmail: email, adminName: adminName, passwordHash: { hash }, store: app.store)
        let (_, token) = try await AccountService(store: app.store).issueToken(for: try user.requireID(), name: "test")
        return WorkspaceFixture(id: try workspace.requireID(), adminID: try user.requireID(), token: token)
    }

    static let memberPassword = "a long password"

    /// Adds a member with a role (invited, and accepting with a password of their own) and returns their token.
    func member(_ app: TestApp, role: Role) async throws -> (UUID, String) {
        let email = "\(role.rawValue)-\(UUID().uuidString.prefix(8))@example.com"
        let (_, link) = try await app.services.accounts.invite(email: email, role: role, workspace: id, by: adminID)
        let (user, _) = try await app.services.accounts.accept(token: link, name: role.rawValue,
                                                               passwordHash: try Bcrypt.hash(Self.memberPassword, cost: 4))
        let userID = try user.requireID()
        let (_, memberToken) = try await AccountService(store: app.store).issueToken(for: userID, name: "test")
        return (userID, memberToken)
    }

    /// Creates an API inbox through the REST API; returns its id and signing secret.
    func apiInbox(_ app: TestApp, webhook: String = "http://127.0.0.1:9/unused", name: String = "ERP") async throws -> APIInbox {
        let answer = try await app.request(.POST, "\(path)/inboxes", token: token,
                                           json: ["name": name, "channel": "api", "webhook_url": webhook])
        #expect(answer.status == 201, "\(answer.text)")
        let json = try answer.json()
        return APIInbox(id: UUID(uuidString: json["id"] as? String ?? "")!, secret: json["secret"] as? String ?? "")
    }
}

struct APIInbox: Sendable {
    let id: UUID
    let secret: String

    /// Posts a message signed as the API channel requires.
    @discardableResult
    func post(_ app: TestApp, _ body: [String: Any], secret override: String? = nil, timestamp: Int? = nil) async throws -> HTTPAnswer {
        let raw = try JSONSerialization.data(withJSONObject: body)
        return try await postRaw(app, raw, secret: override, timestamp: timestamp)
    }

    func postRaw(_ app: TestApp, _ raw: Data, secret override: String? = nil, timestamp: Int? = nil) async throws -> HTTPAnswer {
        let ts = String(timestamp ?? Int(Date().timeIntervalSince1970))
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Data((override ?? secret).utf8)))
        mac.update(data: Data("\(ts).".utf8))
        mac.update(data: raw)
        let signature = "sha256=" + Data(mac.finalize()).map { String(format: "%02x", $0) }.joined()
        return try await app.request(.POST, "/api/v1/channels/api/\(id.uuidString)/messages", raw: raw,
                                     headers: [("Content-Type", "application/json"), ("X-Atiende-Timestamp", ts),
                                               ("X-Atiende-Signature", signature)])
    }

    static func message(_ id: String, from sender: [String: String], text: String = "Hola", thread: String? = nil) -> [String: Any] {
        var body: [String: Any] = ["message_id": id, "from": sender, "text": text, "sent_at": "2026-11-23T10:00:00Z"]
        if let thread { body["thread_id"] = thread }
        return body
    }
}

extension TestApp {
    func count<M: Model>(_ model: M.Type) async throws -> Int { try await M.query(on: store.db).count() }
}
