import FluentKit
import Foundation

public final class Workspace: Model, @unchecked Sendable {
    public static let schema = "workspaces"

    @ID(key: .id) public var id: UUID?

    @Field(key: "name") public var name: String
    @Field(key: "slug") public var slug: String
    @Field(key: "default_language") public var defaultLanguage: String
    @Field(key: "time_zone") public var timeZone: String
    /// Country calling code used to put local phone numbers in E.164 (e.g. "56" for Chile).
    @OptionalField(key: "default_country_code") public var defaultCountryCode: String?
    /// Every member must sign in with a second factor: the desk and the API refuse those who have none yet.
    @OptionalField(key: "require_two_factor") public var requireTwoFactor: Bool?
    /// `CompensationPolicy` as JSON; nil = the standard limits.
    @OptionalField(key: "compensation") public var compensationJSON: String?

    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    public init(id: UUID? = nil, name: String, slug: String, defaultLanguage: String = "es",
                timeZone: String = "UTC", defaultCountryCode: String? = nil) {
        self.id = id
        self.name = name
        self.slug = slug
        self.defaultLanguage = defaultLanguage
        self.timeZone = timeZone
        self.defaultCountryCode = defaultCountryCode
    }

    /// A URL-friendly slug made from a name.
    public static func slugify(_ name: String) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).lowercased()
        var slug = ""
        for ch in folded.unicodeScalars {
            if CharacterSet.alphanumerics.contains(ch) && ch.isASCII { slug.unicodeScalars.append(ch) }
            else if !slug.hasSuffix("-") { slug.append("-") }
        }
        let trimmed = slug.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return trimmed.isEmpty ? "workspace" : String(trimmed.prefix(48))
    }
}

/// Per-workspace sequences (conversation numbers, event ids), advanced inside the writing transaction
/// so numbers have neither gaps nor duplicates.
public final class WorkspaceCounter: Model, @unchecked Sendable {
    public static let schema = "workspace_counters"

    public enum Name: String, Sendable { case conversation, event }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "name") public var name: String
    @Field(key: "value") public var value: Int64

    public init() {}

    public init(workspaceID: UUID, name: Name) {
        self.$workspace.id = workspaceID
        self.name = name.rawValue
        self.value = 0
    }
}
