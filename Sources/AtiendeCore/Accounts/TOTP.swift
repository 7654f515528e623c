import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 6 digits, 30-second steps, as every
/// authenticator app reads them from an `otpauth://` link.
public enum TOTP {
    public static let period: Int64 = 30
    public static let digits = 6

    /// A new shared secret: 160 random bits (RFC 4226's recommended length).
    public static func newSecret() -> Data { SymmetricKey(size: .init(bitCount: 160)).withUnsafeBytes { Data($0) } }

    public static func step(_ date: Date) -> Int64 { Int64(floor(date.timeIntervalSince1970)) / period }

    /// The code of one step (HOTP with the step as its counter).
    public static func code(secret: Data, step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % UInt32(pow(10, Double(digits)))
        return String(format: "%0\(digits)d", value)
    }

    /// The step whose code `typed` is, one step either side of now (a phone's clock drifts), or nil. Spaces are ignored.
    public static func matchingStep(_ typed: String, secret: Data, now: Date) -> Int64? {
        let code = typed.filter { !$0.isWhitespace }
        guard code.count == digits, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else { return nil }
        let current = step(now)
        return [current, current - 1, current + 1].first { SecretToken.constantTimeEquals(Self.code(secret: secret, step: $0), code) }
    }

    /// The secret as authenticator apps take it: base32 (RFC 4648), no padding.
    public static func base32(_ data: Data) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var out = "", buffer = 0, bits = 0
        for byte in data {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return out
    }

    /// `otpauth://totp/Issuer:account?secret=…&issuer=…`: what an authenticator app opens (or reads from a QR code).
    public static func uri(secret: Data, account: String, issuer: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        let label = (issuer + ":" + account).addingPercentEncoding(withAllowedCharacters: allowed.union(CharacterSet(charactersIn: ":"))) ?? account
        let issued = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        return "otpauth://totp/\(label)?secret=\(base32(secret))&issuer=\(issued)&algorithm=SHA1&digits=\(digits)&period=\(period)"
    }
}
