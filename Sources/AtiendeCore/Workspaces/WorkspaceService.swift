import FluentKit
import Foundation

public enum WorkspaceService {
    /// Creates a workspace with its counters and its first admin (created or existing user).
    public static func create(
        name: String, adminEmail: String, adminName: String?, passwordHash: @escaping @Sendable () throws -> String,
        language: String = "es", timeZone: String = "UTC", store: Store
    ) async throws -> (Workspace, User) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 120 else {
            throw AtiendeError.invalid("workspace name must be 1 to 120 characters", code: "invalid_workspace_name")
        }
        guard let email = IdentityNormalizer.email(adminEmail) else {
            throw AtiendeError.invalid("'\(adminEmail)' is not an email address", code: "invalid_email")
        }
        guard ["es", "en"].contains(language) else {
            throw AtiendeError.invalid("language must be 'es' or 'en'", code: "invalid_language")
        }
        guard TimeZone(identifier: timeZone) != nil else {
            throw AtiendeError.invalid("'\(timeZone)' is not a time zone", code: "invalid_time_zone")
        }
        let hash = try passwordHash()
        return try await store.write { tx in
            var slug = Workspace.slugify(trimmed)
            if try await Workspace.query(on: tx.db).filter(\.$slug == slug).first() != nil {
                slug += "-" + String(UUID().uuidString.prefix(6)).lowercased()
            }
            let workspace = Workspace(name: trimmed, slug: slug, defaultLanguage: language, timeZone: timeZone)
            try await workspace.create(on: tx.db)
            let workspaceID = try workspace.requireID()
            try await WorkspaceCounter(workspaceID: workspaceID, name: .conversation).create(on: tx.db)
            try await WorkspaceCounter(workspaceID: workspaceID, name: .event).create(on: tx.db)
            let user: User
            if let existing = try await User.query(on: tx.db).filter(\.$email == email).first() {
                user = existing
            } else {
                user = User(email: email, name: adminName ?? String(email.split(separator: "@")[0]), passwordHash: hash,
                            language: language, timeZone: timeZone)
                try await user.create(on: tx.db)
            }
            try await Membership(workspaceID: workspaceID, userID: try user.requireID(), role: .admin).create(on: tx.db)
            try await AutomationRule.alwaysAnswer(workspace: workspaceID, language: language, at: tx.now).create(on: tx.db)
            return (workspace, user)
        }
    }

    /// The workspace's name, language, time zone and default country calling code (1 to 4 digits, or none).
    /// `requireTwoFactor`: nil leaves it.
    public static func update(_ workspace: Workspace, name rawName: String, language: String, timeZone: String, countryCode rawCode: String?,
                              requireTwoFactor: Bool? = nil, actor: UUID, store: Store) async throws {
        let name = try Names.valid(rawName)
        guard ["es", "en"].contains(language) else { throw AtiendeError.invalid("language must be 'es' or 'en'", code: "invalid_language") }
        guard TimeZone(identifier: timeZone) != nil else { throw AtiendeError.invalid("'\(timeZone)' is not a time zone", code: "invalid_time_zone") }
        let code = (rawCode ?? "").trimmingCharacters(in: .whitespaces)
        guard code.count <= 4, code.allSatisfy(\.isNumber) else { throw AtiendeError.invalid("the country code is 1 to 4 digits", code: "invalid_country_code") }
        try await store.write { tx in
            try await tx.lockWorkspace(try workspace.requireID())
            var changes: [String] = []
            if workspace.name != name { changes.append("name") }
            if workspace.defaultLanguage != language { changes.append("language") }
            if workspace.timeZone != timeZone { changes.append("time_zone") }
            if workspace.defaultCountryCode != (code.isEmpty ? nil : code) { changes.append("country_code") }
            if let requireTwoFactor, requireTwoFactor != (workspace.requireTwoFactor ?? false) {
                // Whoever requires it has it: an admin is never shut out of the page they just saved.
                if requireTwoFactor, try await User.find(actor, on: tx.db)?.hasTwoFactor != true {
                    throw AtiendeError.invalid("set up two-factor sign-in on your own account before requiring it of everyone", code: "two_factor_first")
                }
                changes.append("require_two_factor")
                workspace.requireTwoFactor = requireTwoFactor
            }
            guard !changes.isEmpty else { return }
            workspace.name = name
            workspace.defaultLanguage = language
            workspace.timeZone = timeZone
            workspace.defaultCountryCode = code.isEmpty ? nil : code
            try await workspace.save(on: tx.db)
            try await EventLog.append(.workspaceUpdated, workspace: try workspace.requireID(), actor: actor,
                                      payload: RecordEventPayload(id: try workspace.requireID(), name: name, changes: changes), in: tx)
        }
    }
}
