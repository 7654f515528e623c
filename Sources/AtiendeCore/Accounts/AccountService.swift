import FluentKit
import Foundation

/// Signing in and out, and joining a workspace by invitation. Passwords are hashed and checked by the
/// caller's hasher (the web layer's bcrypt), so this file knows nothing of HTTP.
public struct AccountService: Sendable {
    public static let sessionLifetime: TimeInterval = 14 * 24 * 3600
    public static let invitationLifetime: TimeInterval = 7 * 24 * 3600

    public let store: Store

    public init(store: Store) { self.store = store }

    /// How a person got a session, as the audit log tells it.
    public enum SignInMethod: String, Sendable {
        case password, twoFactor = "two_factor", passwordReset = "password_reset", invitation, setup
    }

    /// A new session for a user whose password was verified. Returns the cookie token, shown only here. `method`: how
    /// they signed in, for the audit log (nil: the same person again, after changing their password).
    public func startSession(for userID: UUID, workspace: UUID?, replacing oldToken: String? = nil,
                             device: Device = Device(userAgent: nil, address: nil), method: SignInMethod? = nil) async throws -> (AgentSession, String) {
        let token = SecretToken.make(prefix: "ses_")
        return try await store.write { tx in
            if let method {
                try await AuditLog.appendForAccount(.accountSignedIn, user: userID,
                                                    payload: RecordEventPayload(id: userID, detail: method.rawValue, address: device.address), in: tx)
            }
            if let oldToken {
                try await AgentSession.query(on: tx.db).filter(\.$tokenHash == SecretToken.sha256Hex(oldToken)).delete()
            }
            let session = AgentSession(userID: userID, tokenHash: SecretToken.sha256Hex(token), csrfToken: SecretToken.make(prefix: "", bytes: 24),
                                       createdAt: tx.now, expiresAt: tx.now.addingTimeInterval(Self.sessionLifetime))
            session.workspaceID = workspace
            session.userAgent = device.userAgent
            session.address = device.address
            session.lastSeenAt = tx.now
            try await session.create(on: tx.db)
            return (session, token)
        }
    }

    /// The live session and its active user for a cookie token, or nil.
    public func session(token: String) async throws -> (AgentSession, User)? {
        guard token.count < 200,
              let session = try await AgentSession.query(on: store.db).filter(\.$tokenHash == SecretToken.sha256Hex(token)).first(),
              session.expiresAt > store.clock.now(),
              let user = try await User.find(session.$user.id, on: store.db), user.isActive
        else { return nil }
        try await noteSeen(session)
        return (session, user)
    }

    public func endSession(token: String) async throws {
        try await store.write { tx in
            try await AgentSession.query(on: tx.db).filter(\.$tokenHash == SecretToken.sha256Hex(token)).delete()
        }
    }

    public func rememberWorkspace(_ workspaceID: UUID, session sessionID: UUID) async throws {
        try await store.write { tx in
            try await AgentSession.query(on: tx.db).filter(\.$id == sessionID).set(\.$workspaceID, to: workspaceID).update()
        }
    }

    /// A wrong password or second-factor code for an existing account (`reason`: `password` or `code`), for the audit log
    /// of each of the person's workspaces. Guesses at addresses with no account are only throttled.
    public func recordFailedSignIn(_ userID: UUID, reason: String, device: Device) async throws {
        try await store.write { tx in
            try await AuditLog.appendForAccount(.accountSignInFailed, user: userID,
                                                payload: RecordEventPayload(id: userID, detail: reason, address: device.address), in: tx)
        }
    }

    /// Changes a password and signs every session of the user out (the caller starts a fresh one).
    public func changePassword(of userID: UUID, newHash: String) async throws {
        try await store.write { tx in
            try await AuditLog.appendForAccount(.accountPasswordChanged, user: userID, payload: RecordEventPayload(id: userID, detail: "changed"), in: tx)
            try await User.query(on: tx.db).filter(\.$id == userID)
                .set(\.$passwordHash, to: newHash).set(\.$passwordChangedAt, to: tx.now).update()
            try await AgentSession.query(on: tx.db).filter(\.$user.$id == userID).delete()
        }
    }

    /// `workingHours`: nil leaves them, `.some(nil)` clears them (the person follows the inboxes' hours).
    public func updatePreferences(of userID: UUID, name: String?, language: String?, timeZone: String?,
                                  workingHours: BusinessHours?? = nil, signature: String? = nil,
                                  emailedNotifications: Set<AgentNotification.Kind>? = nil) async throws {
        if let signature, signature.count > 2000 {
            throw AtiendeError.invalid("the signature is longer than 2,000 characters", code: "invalid_signature")
        }
        if let hours = workingHours, let hours { try hours.validate() }
        if let language, !["es", "en"].contains(language) {
            throw AtiendeError.invalid("language must be 'es' or 'en'", code: "invalid_language")
        }
        if let timeZone, TimeZone(identifier: timeZone) == nil {
            throw AtiendeError.invalid("'\(timeZone)' is not a time zone", code: "invalid_time_zone")
        }
        let trimmedName = name?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let trimmedName, trimmedName.isEmpty || trimmedName.count > 120 {
            throw AtiendeError.invalid("name must be 1 to 120 characters", code: "invalid_name")
        }
        try await store.write { tx in
            guard let user = try await User.find(userID, on: tx.db) else { throw AtiendeError.notFound("user") }
            if let trimmedName { user.name = trimmedName }
            if let language { user.language = language }
            if let timeZone { user.timeZone = timeZone }
            if let signature {
                let trimmed = signature.trimmingCharacters(in: .whitespacesAndNewlines)
                user.signature = trimmed.isEmpty ? nil : trimmed
            }
            if let emailedNotifications {
                user.emailNotificationsRaw = AgentNotification.Kind.allCases.filter(emailedNotifications.contains).map(\.rawValue).joined(separator: ",")
            }
            if let workingHours {
                user.workingHoursJSON = try workingHours.map { String(decoding: try JSON.encoder.encode($0), as: UTF8.self) }
            }
            try await user.save(on: tx.db)
        }
    }

    // MARK: Invitations

    /// An invitation link token for `email` to join with `role`; only its hash is stored.
    public func invite(email raw: String, role: Role, workspace workspaceID: UUID, by inviter: UUID) async throws -> (Invitation, String) {
        guard let email = IdentityNormalizer.email(raw) else {
            throw AtiendeError.invalid("'\(raw)' is not an email address", code: "invalid_email")
        }
        let token = SecretToken.make(prefix: "inv_")
        return try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            let existing = try await Membership.query(on: tx.db).join(User.self, on: \Membership.$user.$id == \User.$id)
                .filter(\.$workspace.$id == workspaceID).filter(User.self, \.$email == email).first()
            guard existing == nil else {
                throw AtiendeError(.conflict, code: "already_member", "\(email) is already a member of this workspace")
            }
            let invitation = Invitation()
            invitation.$workspace.id = workspaceID
            invitation.email = email
            invitation.role = role
            invitation.tokenHash = SecretToken.sha256Hex(token)
            invitation.invitedBy = inviter
            invitation.createdAt = tx.now
            invitation.expiresAt = tx.now.addingTimeInterval(Self.invitationLifetime)
            try await invitation.create(on: tx.db)
            try await EventLog.append(.memberInvited, workspace: workspaceID, actor: inviter,
                                      payload: RecordEventPayload(id: try invitation.requireID(), name: email, detail: role.rawValue), in: tx)
            return (invitation, token)
        }
    }

    /// The open invitation for a link token: not accepted, not expired.
    public func invitation(token: String) async throws -> Invitation? {
        guard token.count < 200,
              let invitation = try await Invitation.query(on: store.db).filter(\.$tokenHash == SecretToken.sha256Hex(token)).first(),
              invitation.acceptedAt == nil, invitation.expiresAt > store.clock.now()
        else { return nil }
        return invitation
    }

    /// Joins the invited workspace with a new account: the invited person's name and the hash of the password they chose.
    /// An email that has an account by now is refused: its owner accepts signed in (`accept(token:as:)`).
    public func accept(token: String, name: String, passwordHash: String, language: String = "es") async throws -> (User, UUID) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 120 else {
            throw AtiendeError.invalid("name must be 1 to 120 characters", code: "invalid_name")
        }
        return try await redeem(token) { invitation, tx in
            guard try await User.query(on: tx.db).filter(\.$email == invitation.email).first() == nil else {
                throw AtiendeError(.forbidden, code: "sign_in_to_accept", "sign in as \(invitation.email) to accept this invitation")
            }
            let user = User(email: invitation.email, name: trimmed, passwordHash: passwordHash, language: language == "en" ? "en" : "es")
            try await user.create(on: tx.db)
            return user
        }
    }

    /// Joins the invited workspace as the signed-in person, who must be the one invited.
    public func accept(token: String, as userID: UUID) async throws -> (User, UUID) {
        try await redeem(token) { invitation, tx in
            guard let user = try await User.find(userID, on: tx.db), user.isActive, user.email == invitation.email else {
                throw AtiendeError(.forbidden, code: "sign_in_to_accept", "sign in as \(invitation.email) to accept this invitation")
            }
            return user
        }
    }

    /// Marks the open invitation used and makes its person (given by `person`) a member, in one transaction.
    private func redeem(_ token: String, person: @escaping @Sendable (Invitation, WriteTransaction) async throws -> User) async throws -> (User, UUID) {
        let hash = SecretToken.sha256Hex(token)
        return try await store.write { tx in
            guard let invitation = try await Invitation.query(on: tx.db).filter(\.$tokenHash == hash).first(),
                  invitation.acceptedAt == nil, invitation.expiresAt > tx.now
            else { throw AtiendeError(.gone, code: "invitation_expired", "this invitation link has expired or was already used") }
            let workspaceID = invitation.$workspace.id
            let user = try await person(invitation, tx)
            let userID = try user.requireID()
            if try await Membership.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$user.$id == userID).first() == nil {
                try await Membership(workspaceID: workspaceID, userID: userID, role: invitation.role).create(on: tx.db)
                try await EventLog.append(.memberJoined, workspace: workspaceID, actor: userID,
                                          payload: RecordEventPayload(id: userID, name: user.name, detail: invitation.role.rawValue), in: tx)
            }
            invitation.acceptedAt = tx.now
            try await invitation.save(on: tx.db)
            return (user, workspaceID)
        }
    }
}
