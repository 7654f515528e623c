import FluentKit
import Foundation

/// A person's ways in: the browsers signed in as them (listed, signed out one by one or all but this one) and their
/// personal API tokens (issued with an expiry and a scope, listed, revoked). Each reads and changes only that person's own.
extension AccountService {
    /// How often a session's last use is written: a page view does not write each time.
    public static let seenGranularity: TimeInterval = 300
    /// The expiries a token may be given, in days (nil: until revoked).
    public static let tokenLifetimes: [Int?] = [30, 90, 365, nil]

    /// What a browser said it was and where it came from, as kept with its session.
    public struct Device: Sendable, Equatable {
        public var userAgent: String?
        public var address: String?
        public init(userAgent: String?, address: String?) {
            // Kept short and printable: it is only ever shown, escaped, on the person's own page.
            self.userAgent = userAgent.map { String($0.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(300).map(Character.init)) }
            self.address = address.map { String($0.prefix(64)) }
        }
    }

    /// The person's live sessions, the most recently used first.
    public func sessions(of userID: UUID) async throws -> [AgentSession] {
        try await AgentSession.query(on: store.db).filter(\.$user.$id == userID).filter(\.$expiresAt > store.clock.now()).all()
            .sorted { ($0.lastSeenAt ?? $0.createdAt) > ($1.lastSeenAt ?? $1.createdAt) }
    }

    /// Signs one of the person's sessions out; false when they have no such session (another person's is not theirs).
    @discardableResult
    public func endSession(_ sessionID: UUID, of userID: UUID) async throws -> Bool {
        try await store.write { tx in
            guard try await AgentSession.query(on: tx.db).filter(\.$id == sessionID).filter(\.$user.$id == userID).first() != nil else { return false }
            try await AgentSession.query(on: tx.db).filter(\.$id == sessionID).filter(\.$user.$id == userID).delete()
            try await AuditLog.appendForAccount(.accountSessionsEnded, user: userID, payload: RecordEventPayload(id: userID, detail: "1"), in: tx)
            return true
        }
    }

    /// Signs every other session of the person out ("everywhere else"); returns how many ended.
    @discardableResult
    public func endOtherSessions(of userID: UUID, keeping sessionID: UUID) async throws -> Int {
        try await store.write { tx in
            let others = try await AgentSession.query(on: tx.db).filter(\.$user.$id == userID).filter(\.$id != sessionID).count()
            try await AgentSession.query(on: tx.db).filter(\.$user.$id == userID).filter(\.$id != sessionID).delete()
            if others > 0 {
                try await AuditLog.appendForAccount(.accountSessionsEnded, user: userID, payload: RecordEventPayload(id: userID, detail: String(others)), in: tx)
            }
            return others
        }
    }

    /// Notes that a session was just used, when its last note is older than `seenGranularity`.
    func noteSeen(_ session: AgentSession) async throws {
        let now = store.clock.now()
        guard now.timeIntervalSince(session.lastSeenAt ?? session.createdAt) >= Self.seenGranularity, let id = session.id else { return }
        try await store.write { tx in
            try await AgentSession.query(on: tx.db).filter(\.$id == id).set(\.$lastSeenAt, to: now).update()
        }
        session.lastSeenAt = now
    }

    /// Notes that a token was just used, like `noteSeen`.
    public func noteUsed(_ token: APIToken) async throws {
        let now = store.clock.now()
        guard now.timeIntervalSince(token.lastUsedAt ?? .distantPast) >= Self.seenGranularity, let id = token.id else { return }
        try await store.write { tx in
            try await APIToken.query(on: tx.db).filter(\.$id == id).set(\.$lastUsedAt, to: now).update()
        }
        token.lastUsedAt = now
    }

    /// Issues a personal API token; only its hash is kept. Returns the token, to be shown once. `days`: its life (nil:
    /// until revoked); `readOnly`: it may only read.
    public func issueToken(for userID: UUID, name: String, days: Int? = nil, readOnly: Bool = false) async throws -> (APIToken, String) {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 100 else {
            throw AtiendeError.invalid("a token needs a name of at most 100 characters", code: "invalid_token_name")
        }
        guard days.map({ (1...3650).contains($0) }) ?? true else {
            throw AtiendeError.invalid("a token lasts from 1 to 3650 days, or until revoked", code: "invalid_token_expiry")
        }
        let token = SecretToken.make(prefix: "atd_")
        let record = APIToken(userID: userID, name: name, tokenHash: SecretToken.sha256Hex(token), prefix: String(token.prefix(10)))
        record.readOnly = readOnly
        try await store.write { tx in
            record.expiresAt = days.map { tx.now.addingTimeInterval(TimeInterval($0) * 86_400) }
            try await record.create(on: tx.db)
            try await AuditLog.appendForAccount(.apiTokenCreated, user: userID,
                                                payload: RecordEventPayload(id: try record.requireID(), name: name, detail: readOnly ? "read_only" : "read_write",
                                                                            changes: days.map { ["expires_in_days=\($0)"] }), in: tx)
        }
        return (record, token)
    }

    /// The person's tokens not revoked, newest first (expired ones too, marked by their date, until revoked).
    public func tokens(of userID: UUID) async throws -> [APIToken] {
        try await APIToken.query(on: store.db).filter(\.$user.$id == userID).filter(\.$revokedAt == nil).all()
            .sorted { ($0.createdAt ?? .distantPast) > ($1.createdAt ?? .distantPast) }
    }

    /// Revokes one of the person's tokens; false when they have no such token.
    @discardableResult
    public func revokeToken(_ tokenID: UUID, of userID: UUID) async throws -> Bool {
        try await store.write { tx in
            guard let token = try await APIToken.query(on: tx.db).filter(\.$id == tokenID).filter(\.$user.$id == userID).filter(\.$revokedAt == nil)
                .first() else { return false }
            try await APIToken.query(on: tx.db).filter(\.$id == tokenID).filter(\.$user.$id == userID).set(\.$revokedAt, to: tx.now).update()
            try await AuditLog.appendForAccount(.apiTokenRevoked, user: userID, payload: RecordEventPayload(id: tokenID, name: token.name), in: tx)
            return true
        }
    }
}
