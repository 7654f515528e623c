import Crypto
import FluentKit
import Foundation
import SQLKit

/// Two-factor sign-in: a TOTP secret set up from the account page (confirmed with a first code before it counts), ten
/// single-use recovery codes for a lost phone, and the check at sign-in, where each code works once.
extension AccountService {
    public static let recoveryCodeCount = 10

    static func seal(_ secret: Data, _ box: SecretBox) throws -> Data { try box.seal(["totp": secret.base64EncodedString()]) }

    static func open(_ sealed: Data, _ box: SecretBox) throws -> Data? { try box.open(sealed)["totp"].flatMap { Data(base64Encoded: $0) } }

    /// A new secret for the person to add to their app; it counts only once a code from it is confirmed.
    public func beginTwoFactor(_ userID: UUID, secrets: SecretBox) async throws -> Data {
        let secret = TOTP.newSecret()
        let sealed = try Self.seal(secret, secrets)
        try await store.write { tx in
            try await User.query(on: tx.db).filter(\.$id == userID).set(\.$totpPending, to: sealed).update()
        }
        return secret
    }

    /// The secret being set up, if any.
    public func pendingTwoFactor(_ user: User, secrets: SecretBox) throws -> Data? {
        try user.totpPending.flatMap { try Self.open($0, secrets) }
    }

    /// Turns two-factor sign-in on with the code the app shows; returns the recovery codes, shown once.
    public func confirmTwoFactor(_ userID: UUID, code: String, secrets: SecretBox) async throws -> [String] {
        try await store.write { tx in
            guard let user = try await User.find(userID, on: tx.db), let sealed = user.totpPending, let secret = try Self.open(sealed, secrets),
                  let step = TOTP.matchingStep(code, secret: secret, now: tx.now) else {
                throw AtiendeError.invalid("that code is not the one your app shows now; check the phone's clock and try again", code: "wrong_code")
            }
            let codes = Self.recoveryCodes()
            try await User.query(on: tx.db).filter(\.$id == userID)
                .set(\.$totpSecret, to: sealed).set(\.$totpPending, to: nil).set(\.$totpLastStep, to: step)
                .set(\.$recoveryCodes, to: Self.stored(codes, secrets)).update()
            try await AuditLog.appendForAccount(.accountTwoFactorEnabled, user: userID, payload: RecordEventPayload(id: userID), in: tx)
            return codes
        }
    }

    /// New recovery codes in place of the old ones; returns them, shown once.
    public func renewRecoveryCodes(_ userID: UUID, secrets: SecretBox) async throws -> [String] {
        let codes = Self.recoveryCodes()
        try await store.write { tx in
            try await User.query(on: tx.db).filter(\.$id == userID).set(\.$recoveryCodes, to: Self.stored(codes, secrets)).update()
        }
        return codes
    }

    /// Recovery codes as kept: their keyed hashes, one per line.
    static func stored(_ codes: [String], _ secrets: SecretBox) -> String {
        codes.map { secrets.mac(normalizedRecovery($0), purpose: "recovery-code") }.joined(separator: "\n")
    }

    public func disableTwoFactor(_ userID: UUID) async throws {
        try await store.write { tx in
            try await User.query(on: tx.db).filter(\.$id == userID).set(\.$totpSecret, to: nil).set(\.$totpPending, to: nil)
                .set(\.$totpLastStep, to: nil).set(\.$recoveryCodes, to: nil).update()
            try await AuditLog.appendForAccount(.accountTwoFactorDisabled, user: userID, payload: RecordEventPayload(id: userID), in: tx)
        }
    }

    /// The second factor at sign-in: the app's current code (not one already used) or an unused recovery code, which
    /// is then spent. Returns whether it was right; a wrong one is in the audit log.
    public func checkSecondFactor(_ userID: UUID, code typed: String, secrets: SecretBox, device: Device) async throws -> Bool {
        let right = try await store.write { tx in
            guard let user = try await User.find(userID, on: tx.db), let sealed = user.totpSecret, let secret = try Self.open(sealed, secrets) else {
                return false
            }
            // Each write is conditional on what was read, so two requests at once cannot both use one code.
            if let step = TOTP.matchingStep(typed, secret: secret, now: tx.now) {
                let taken = try await tx.sql.raw("""
                    UPDATE users SET totp_last_step = \(bind: step)
                    WHERE id = \(bind: userID) AND (totp_last_step IS NULL OR totp_last_step < \(bind: step)) RETURNING id
                    """).all()
                return !taken.isEmpty
            }
            let hash = secrets.mac(Self.normalizedRecovery(typed), purpose: "recovery-code")
            let before = user.recoveryCodes ?? ""
            var hashes = before.split(separator: "\n").map(String.init)
            guard let index = hashes.firstIndex(of: hash) else { return false }
            hashes.remove(at: index)
            let spent = try await tx.sql.raw("""
                UPDATE users SET recovery_codes = \(bind: hashes.joined(separator: "\n")) WHERE id = \(bind: userID) AND recovery_codes = \(bind: before) RETURNING id
                """).all()
            return !spent.isEmpty
        }
        if !right { try await recordFailedSignIn(userID, reason: "code", device: device) }
        return right
    }

    /// How many recovery codes are left.
    public static func recoveryCodesLeft(_ user: User) -> Int { (user.recoveryCodes ?? "").split(separator: "\n").count }

    /// Ten codes like `k7q2-9mxd`: lower-case letters and digits without look-alikes.
    static func recoveryCodes() -> [String] {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        return (0..<recoveryCodeCount).map { _ in
            let bytes = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
            let chars = bytes.prefix(8).map { alphabet[Int($0) % alphabet.count] }
            return String(chars[0..<4]) + "-" + String(chars[4..<8])
        }
    }

    static func normalizedRecovery(_ typed: String) -> String {
        let kept = typed.lowercased().filter { $0.isLetter || $0.isNumber }
        guard kept.count == 8 else { return kept }
        return String(kept.prefix(4)) + "-" + String(kept.suffix(4))
    }
}
