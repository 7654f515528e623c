import FluentKit
import Foundation
import SQLKit

/// Where each session signed in from and when it was last used (the account page lists them); API tokens that expire
/// and tokens that may only read.
struct AddAccessDetails: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("sessions").field("user_agent", .string).update()
        try await db.schema("sessions").field("address", .string).update()
        try await db.schema("sessions").field("last_seen_at", .datetime).update()
        try await db.schema("api_tokens").field("expires_at", .datetime).update()
        try await db.schema("api_tokens").field("read_only", .bool).update()
    }

    func revert(on db: any Database) async throws {
        for field in ["user_agent", "address", "last_seen_at"] { try await db.schema("sessions").deleteField(.string(field)).update() }
        for field in ["expires_at", "read_only"] { try await db.schema("api_tokens").deleteField(.string(field)).update() }
    }
}

/// Password resets by email: single use, short-lived, only the token's hash kept.
struct CreatePasswordResets: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("password_resets")
            .id()
            .field("user_id", .uuid, .required, .references("users", .id, onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await db.createIndex("password_resets_user", on: "password_resets", "user_id")
    }

    func revert(on db: any Database) async throws {
        try await db.schema("password_resets").delete()
    }
}

/// Two-factor sign-in with TOTP and recovery codes.
struct AddTwoFactor: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("users").field("totp_secret", .data).update()
        try await db.schema("users").field("totp_pending", .data).update()
        try await db.schema("users").field("totp_last_step", .int64).update()
        try await db.schema("users").field("recovery_codes", .string).update()
    }

    func revert(on db: any Database) async throws {
        for field in ["totp_secret", "totp_pending", "totp_last_step", "recovery_codes"] { try await db.schema("users").deleteField(.string(field)).update() }
    }
}

/// A workspace may require every member to sign in with a second factor.
struct AddTwoFactorRequirement: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("workspaces").field("require_two_factor", .bool).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("workspaces").deleteField("require_two_factor").update()
    }
}
