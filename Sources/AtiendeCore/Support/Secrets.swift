import Crypto
import Foundation

/// Random tokens and one-way hashes for credentials.
public enum SecretToken {
    /// A conversation's thread token: unguessable, letters and digits only, short enough for an address's local part
    /// (`soporte+<token>@…`), so an answer by email finds its conversation.
    public static func thread() -> String {
        "t" + SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }.map { String(format: "%02x", $0) }.joined().prefix(24)
    }

    /// A URL-safe random token with the given prefix, e.g. `atd_…`.
    public static func make(prefix: String, bytes: Int = 32) -> String {
        let raw = SymmetricKey(size: .init(bitCount: bytes * 8)).withUnsafeBytes { Data($0) }
        return prefix + raw.base64URLEncoded()
    }

    public static func sha256Hex(_ string: String) -> String {
        SHA256.hash(data: Data(string.utf8)).hexString
    }

    /// Compares two strings in time independent of where they first differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// Encrypts channel credentials at rest with AES-GCM under the instance key.
public struct SecretBox: Sendable {
    private let keyBytes: Data
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(key: SymmetricKey) { self.keyBytes = key.withUnsafeBytes { Data($0) } }

    /// Reads a base64 key of 32 bytes.
    public init?(base64Key: String) {
        guard let data = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)),
              data.count == 32 else { return nil }
        self.keyBytes = data
    }

    public static func generateBase64Key() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
    }

    public func seal(_ values: [String: String]) throws -> Data {
        let plain = try JSONEncoder().encode(values)
        guard let combined = try AES.GCM.seal(plain, using: key).combined else {
            throw AtiendeError(.unavailable, "could not encrypt secret")
        }
        return combined
    }

    /// A keyed hash (HMAC-SHA256 under a key derived from the instance key): for short secrets such as recovery codes,
    /// which a plain hash would not keep from whoever reads the database.
    public func mac(_ text: String, purpose: String) -> String {
        let derived = HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: key)
        return HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(derived))).hexString
    }

    public func open(_ sealed: Data) throws -> [String: String] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return try JSONDecoder().decode([String: String].self, from: AES.GCM.open(box, using: key))
        } catch {
            throw AtiendeError(.unavailable, code: "secret_key_mismatch",
                               "stored channel secrets cannot be decrypted with ATIENDE_SECRET_KEY")
        }
    }
}

public enum WebhookSignature {
    /// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the API channel's signature both ways.
    public static func sign(secret: String, timestamp: String, body: some DataProtocol) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
        mac.update(data: Data(timestamp.utf8))
        mac.update(data: Data(".".utf8))
        mac.update(data: body)
        return "sha256=" + Data(mac.finalize()).hexString
    }
}

extension Sequence where Element == UInt8 {
    public var hexString: String {
        var out = ""
        out.reserveCapacity(64)
        for byte in self {
            out.append(Character(Unicode.Scalar(Self.hexDigits[Int(byte >> 4)])))
            out.append(Character(Unicode.Scalar(Self.hexDigits[Int(byte & 0x0f)])))
        }
        return out
    }

    private static var hexDigits: [UInt8] { Array("0123456789abcdef".utf8) }
}

extension Data {
    public func base64URLEncoded() -> String {
        base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
