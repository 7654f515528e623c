@testable import AtiendeCore
import Foundation
import Testing

@Suite("Identities, secrets and formats")
struct NormalizationTests {
    @Test("emails are lower-cased and must be addresses", arguments: [
        ("Ana@Example.COM", "ana@example.com"),
        ("  Pepa <PEPA@correo.cl> ", "pepa@correo.cl"),
        ("no-at-sign", nil),
        ("a@b", nil),
        ("a b@example.com", nil),
    ] as [(String, String?)])
    func emails(raw: String, expected: String?) {
        #expect(IdentityNormalizer.email(raw) == expected)
    }

    @Test("phones become E.164 with the workspace's country code", arguments: [
        ("+56 9 1234 5678", nil, "+56912345678"),
        ("(+56) 9-1234-5678", nil, "+56912345678"),
        ("0056912345678", nil, "+56912345678"),
        ("9 1234 5678", "56", "+56912345678"),
        ("09 1234 5678", "56", "+56912345678"),
        ("whatsapp:+14155238886", nil, "+14155238886"),
        ("12345", nil, nil),
        ("+56 9 1234 5678; DROP TABLE contacts", nil, nil),
    ] as [(String, String?, String?)])
    func phones(raw: String, country: String?, expected: String?) {
        #expect(IdentityNormalizer.phone(raw, defaultCountryCode: country) == expected)
    }

    @Test("secrets round-trip under the key and fail clearly under another")
    func secretBox() throws {
        let box = try #require(SecretBox(base64Key: SecretBox.generateBase64Key()))
        let sealed = try box.seal(["token": "s3cr3t"])
        #expect(!String(decoding: sealed, as: UTF8.self).contains("s3cr3t"))
        #expect(try box.open(sealed) == ["token": "s3cr3t"])
        let other = try #require(SecretBox(base64Key: SecretBox.generateBase64Key()))
        #expect(throws: AtiendeError.self) { try other.open(sealed) }
        #expect(SecretBox(base64Key: "too-short") == nil)
    }

    @Test("the webhook signature matches an independent HMAC-SHA256 over timestamp.body")
    func signature() {
        // Computed with: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        let signature = WebhookSignature.sign(secret: "whsec_test", timestamp: "1700000000", body: Data("{\"a\":1}".utf8))
        #expect(signature == "sha256=" + "\(Self.openssl("1700000000.{\"a\":1}", key: "whsec_test"))")
        #expect(SecretToken.constantTimeEquals("abc", "abc"))
        #expect(!SecretToken.constantTimeEquals("abc", "abd"))
        #expect(!SecretToken.constantTimeEquals("abc", "abcd"))
    }

    static func openssl(_ input: String, key: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "dgst", "-sha256", "-hmac", key, "-r"]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try? process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(output.prefix(64))
    }

    @Test("ISO-8601 dates parse with and without fractions and offsets")
    func dates() throws {
        let expected = Date(timeIntervalSince1970: 1_795_428_000)
        #expect(ISO8601.date("2026-11-23T10:00:00Z") == expected)
        #expect(ISO8601.date("2026-11-23T10:00:00.000Z") == expected)
        #expect(ISO8601.date("2026-11-23T07:00:00-03:00") == expected)
        #expect(ISO8601.date("ayer") == nil)
        #expect(ISO8601.date(ISO8601.string(expected)) == expected)
    }

    @Test("job back-off grows exponentially and is capped at an hour")
    func backoff() {
        #expect((4...6).contains(JobQueue.backoff(afterAttempt: 1, base: 5)))
        #expect((32...48).contains(JobQueue.backoff(afterAttempt: 4, base: 5)))
        #expect(JobQueue.backoff(afterAttempt: 30, base: 5) <= 3600 * 1.2)
    }

    @Test("workspace slugs are URL-safe")
    func slugs() {
        #expect(Workspace.slugify("Tienda Ñandú & Cía.") == "tienda-nandu-cia")
        #expect(Workspace.slugify("!!!") == "workspace")
    }
}
