import AtiendeCore
import Fluent
import Vapor

/// Who is calling, established from a bearer token.
struct Caller: Sendable {
    let userID: UUID
    let tokenID: UUID?
    /// Whether the person signs in with a second factor (a workspace may require it).
    var hasTwoFactor = false
}

/// The caller inside one workspace. Every workspace route reads and writes through this, so a query that
/// forgets the workspace is hard to write.
struct Scope: Sendable {
    let workspaceID: UUID
    let userID: UUID
    let role: Role

    func query<M: WorkspaceScoped>(_ model: M.Type, on db: any Database) -> QueryBuilder<M> {
        M.query(on: db).filter(M.workspaceIDKey == workspaceID)
    }

    /// The record with this id in this workspace, or 404 whether it is missing or someone else's.
    func find<M: WorkspaceScoped>(_ model: M.Type, _ id: UUID?, on db: any Database) async throws -> M
    where M.IDValue == UUID {
        guard let id, let found = try await query(M.self, on: db).filter(\M._$id == id).first() else {
            throw AtiendeError.notFound(M.displayName)
        }
        return found
    }
}

extension Request {
    private struct CallerKey: StorageKey { typealias Value = Caller }
    private struct ScopeKey: StorageKey { typealias Value = Scope }

    var caller: Caller {
        get throws {
            guard let caller = storage[CallerKey.self] else { throw AtiendeError(.unauthorized, "authentication required") }
            return caller
        }
    }

    var scope: Scope {
        get throws {
            guard let scope = storage[ScopeKey.self] else { throw AtiendeError(.unauthorized, "authentication required") }
            return scope
        }
    }

    /// The caller: a bearer token, or else a browser session (which must also send its CSRF token on
    /// anything but a read, and open WebSockets only from our own pages).
    func authenticate() async throws -> Caller {
        if headers.bearerAuthorization == nil, let signedIn = try await signedIn() {
            if ![.GET, .HEAD].contains(method) { try await verifyCSRF() }
            if headers[.upgrade].contains(where: { $0.lowercased() == "websocket" }) { try verifySameOrigin() }
            let caller = Caller(userID: signedIn.userID, tokenID: nil, hasTwoFactor: signedIn.user.hasTwoFactor)
            storage[CallerKey.self] = caller
            return caller
        }
        return try await authenticateBearer()
    }

    /// Cross-site WebSocket hijacking guard: a cookie-authenticated upgrade must come from our own origin — scheme, host
    /// and port — so a page on another port or scheme of the same host is refused too.
    private func verifySameOrigin() throws {
        guard let origin = headers.first(name: .origin), let host = headers.first(name: .host),
              Self.sameOrigin(origin, host: host, publicURL: atiende.config.publicURL)
        else { throw AtiendeError(.forbidden, code: "cross_origin", "WebSocket connections with a session must come from Atiende's own pages") }
    }

    /// `origin` is ours: the public URL's origin, or `http://` and the Host the browser connected to (a direct connection;
    /// behind a TLS proxy the public URL names the origin).
    static func sameOrigin(_ origin: String, host: String, publicURL: String?) -> Bool {
        func normalized(_ url: String) -> String? {
            guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  let name = parts.host?.lowercased(), !name.isEmpty else { return nil }
            return "\(scheme)://\(name):\(parts.port ?? (scheme == "https" ? 443 : 80))"
        }
        guard let given = normalized(origin) else { return false }
        if let publicURL, let ours = normalized(publicURL) {
            if given == ours { return true }
            // The public host is reached only through the public URL's scheme and port.
            if URLComponents(string: publicURL)?.host?.lowercased() == URLComponents(string: "http://" + host)?.host?.lowercased() { return false }
        }
        return given == normalized("http://" + host)
    }

    /// Resolves `Authorization: Bearer <token>` to an active user.
    func authenticateBearer() async throws -> Caller {
        guard let header = headers.bearerAuthorization?.token, !header.isEmpty else {
            throw AtiendeError(.unauthorized, code: "missing_token", "send a personal API token as 'Authorization: Bearer <token>'")
        }
        guard header.count < 200,
              let token = try await APIToken.query(on: atiende.store.db)
                .filter(\.$tokenHash == SecretToken.sha256Hex(header)).filter(\.$revokedAt == nil).first(),
              let user = try await User.find(token.$user.id, on: atiende.store.db), user.isActive
        else { throw AtiendeError(.unauthorized, code: "invalid_token", "the API token is unknown or revoked") }
        if let expiry = token.expiresAt, expiry <= atiende.store.clock.now() {
            throw AtiendeError(.unauthorized, code: "token_expired", "the API token expired; its owner can make a new one on their account page")
        }
        // A read-only token reads, whatever its owner may do: every other method is refused before any handler runs.
        if token.readOnly == true, ![.GET, .HEAD].contains(method) {
            throw AtiendeError(.forbidden, code: "read_only_token", "this API token may only read (GET)")
        }
        try await atiende.accounts.noteUsed(token)
        let caller = Caller(userID: try user.requireID(), tokenID: token.id, hasTwoFactor: user.hasTwoFactor)
        storage[CallerKey.self] = caller
        return caller
    }

    /// Resolves `{workspaceId}` to the caller's membership. Not a member reads as "not found".
    func enterWorkspace(as caller: Caller, minimum role: Role) async throws -> Scope {
        guard let raw = parameters.get("workspaceId"), let workspaceID = UUID(uuidString: raw) else {
            throw AtiendeError.notFound("workspace")
        }
        guard let membership = try await Membership.query(on: atiende.store.db)
            .filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == caller.userID).first()
        else { throw AtiendeError.notFound("workspace") }
        guard membership.role >= role else {
            throw AtiendeError(.forbidden, code: "insufficient_role", "this needs the \(role.rawValue) role or higher")
        }
        if !caller.hasTwoFactor, try await Workspace.find(workspaceID, on: atiende.store.db)?.requireTwoFactor == true {
            throw AtiendeError(.forbidden, code: "two_factor_required", "this workspace requires two-factor sign-in; set it up on your account page")
        }
        let scope = Scope(workspaceID: workspaceID, userID: caller.userID, role: membership.role)
        storage[ScopeKey.self] = scope
        return scope
    }

    /// A UUID path parameter, 404 when malformed (it cannot name anything).
    func uuidParameter(_ name: String, _ what: String) throws -> UUID {
        guard let raw = parameters.get(name), let id = UUID(uuidString: raw) else { throw AtiendeError.notFound(what) }
        return id
    }
}
