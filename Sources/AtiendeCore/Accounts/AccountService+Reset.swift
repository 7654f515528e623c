import FluentKit
import Foundation
import SQLKit

/// Password resets by email. Asking never tells whether the address has an account: a reset (and its mail's job) is
/// recorded only for an active account, and the caller answers alike either way. The link's token is made by the caller
/// from the reset's id (so the job can write it again without the token being stored); here only its hash is kept.
extension AccountService {
    public static let resetLifetime: TimeInterval = 3600

    /// What the mail job needs: the reset, by id.
    public struct ResetMail: Codable, Sendable { public var resetID: UUID }

    /// Records a reset for the active account of `email`, if any, with its mail's job; returns whether it did.
    @discardableResult
    public func requestReset(email: String, id: UUID, tokenHash: String) async throws -> Bool {
        try await store.write { tx in
            // The job goes in either way (it sends nothing without a reset): asking costs the same for any address.
            try await JobQueue.enqueue(.passwordResetMail, payload: ResetMail(resetID: id), workspace: nil, maxAttempts: 4, in: tx)
            guard let user = try await User.query(on: tx.db).filter(\.$email == email).first(), user.isActive else { return false }
            let reset = PasswordReset()
            reset.id = id
            reset.$user.id = try user.requireID()
            reset.tokenHash = tokenHash
            reset.createdAt = tx.now
            reset.expiresAt = tx.now.addingTimeInterval(Self.resetLifetime)
            try await reset.create(on: tx.db)
            return true
        }
    }

    /// The reset a link's token names, while it is unused and unexpired, with its active account.
    public func pendingReset(tokenHash: String) async throws -> (PasswordReset, User)? {
        guard let reset = try await PasswordReset.query(on: store.db).filter(\.$tokenHash == tokenHash).first(),
              reset.usedAt == nil, reset.expiresAt > store.clock.now(),
              let user = try await User.find(reset.$user.id, on: store.db), user.isActive else { return nil }
        return (reset, user)
    }

    /// Sets the new password through a link, once: the reset and every other pending one of the person are used up, and
    /// every session of theirs is signed out. Returns the person (the caller signs this browser in).
    public func redeemReset(tokenHash: String, newHash: String) async throws -> User {
        try await store.write { tx in
            guard let reset = try await PasswordReset.query(on: tx.db).filter(\.$tokenHash == tokenHash).first(),
                  reset.usedAt == nil, reset.expiresAt > tx.now,
                  let user = try await User.find(reset.$user.id, on: tx.db), user.isActive else {
                throw AtiendeError(.gone, code: "reset_link_invalid", "this link has expired or was already used; ask for a new one")
            }
            let userID = try user.requireID()
            // Taken by whoever marks it used first: a second request at the same moment changes no row, and fails.
            let taken = try await tx.sql.raw("""
                UPDATE password_resets SET used_at = \(bind: tx.now) WHERE token_hash = \(bind: tokenHash) AND used_at IS NULL RETURNING id
                """).all()
            guard !taken.isEmpty else {
                throw AtiendeError(.gone, code: "reset_link_invalid", "this link has expired or was already used; ask for a new one")
            }
            try await PasswordReset.query(on: tx.db).filter(\.$user.$id == userID).filter(\.$usedAt == nil).set(\.$usedAt, to: tx.now).update()
            try await User.query(on: tx.db).filter(\.$id == userID).set(\.$passwordHash, to: newHash).set(\.$passwordChangedAt, to: tx.now).update()
            try await AuditLog.appendForAccount(.accountPasswordChanged, user: userID, payload: RecordEventPayload(id: userID, detail: "reset"), in: tx)
            try await AgentSession.query(on: tx.db).filter(\.$user.$id == userID).delete()
            return user
        }
    }
}
