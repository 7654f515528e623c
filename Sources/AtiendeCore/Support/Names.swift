import Foundation

/// The name of something a workspace sets up (a team, an inbox, a policy): 1 to 120 characters once trimmed.
public enum Names {
    public static func valid(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 120 else { throw AtiendeError.invalid("name must be 1 to 120 characters", code: "invalid_name") }
        return name
    }
}
