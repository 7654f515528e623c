import Foundation

/// Puts identity values in one canonical form, so the same person is found whatever way they were typed.
public enum IdentityNormalizer {
    public static func normalize(_ kind: IdentityKind, _ raw: String, defaultCountryCode: String? = nil) -> String? {
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty, value.count <= 320 else { return nil }
        switch kind {
        case .email: return email(value)
        case .phone, .whatsapp: return phone(value, defaultCountryCode: defaultCountryCode)
        default: return value
        }
    }

    /// Lower-cased `local@domain`, or nil when it is not an address.
    public static func email(_ raw: String) -> String? {
        var value = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if let open = value.lastIndex(of: "<"), let close = value.lastIndex(of: ">"), open < close {
            value = String(value[value.index(after: open)..<close])
        }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              value.unicodeScalars.allSatisfy({ !CharacterSet.whitespacesAndNewlines.contains($0) && $0 != "," })
        else { return nil }
        return value
    }

    /// E.164 (`+56912345678`), or nil when it cannot be one. Local numbers take the workspace's country code;
    /// a leading `00` is the international prefix and a single leading `0` is a trunk prefix.
    public static func phone(_ raw: String, defaultCountryCode: String?) -> String? {
        var value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if value.lowercased().hasPrefix("whatsapp:") { value = String(value.dropFirst("whatsapp:".count)) }
        let international = value.hasPrefix("+")
        let allowed = CharacterSet(charactersIn: "0123456789+-. ()/")
        guard value.unicodeScalars.allSatisfy({ allowed.contains($0) }) else { return nil }
        var digits = value.filter(\.isASCII).filter(\.isNumber)
        if !international {
            if digits.hasPrefix("00") {
                digits.removeFirst(2)
            } else if let cc = defaultCountryCode?.filter(\.isNumber), !cc.isEmpty, !digits.hasPrefix(cc) || digits.count <= 9 {
                if digits.hasPrefix("0") { digits.removeFirst() }
                digits = cc + digits
            }
        }
        guard (8...15).contains(digits.count), digits.first != "0" else { return nil }
        return "+" + digits
    }
}
