import AtiendeCore
import Crypto
import Fluent
import Foundation
import NIOConcurrencyHelpers
import Vapor

/// Counts recent events per key (an email, an address) in a sliding window, per instance, in memory.
final class RateLimiter: Sendable {
    let window: TimeInterval
    private let events = NIOLockedValueBox<[String: [Date]]>([:])

    init(window: TimeInterval) { self.window = window }

    /// Seconds to wait when `key` already had `limit` events in the window, else nil.
    func retryAfter(_ key: String, limit: Int, now: Date) -> TimeInterval? {
        events.withLockedValue { all in Self.wait(&all, key, limit: limit, now: now, window: window) }
    }

    func record(_ key: String, now: Date) {
        events.withLockedValue { all in Self.append(&all, key, now: now, window: window) }
    }

    /// Checks every key against its limit and, only when none is reached, records the event under all of them — in one
    /// step, so parallel requests cannot all pass the check before any of them is counted.
    func take(_ limits: [(key: String, limit: Int)], now: Date) -> TimeInterval? {
        events.withLockedValue { all in
            let waits = limits.compactMap { Self.wait(&all, $0.key, limit: $0.limit, now: now, window: window) }
            if let longest = waits.max() { return longest }
            for (key, _) in limits { Self.append(&all, key, now: now, window: window) }
            return nil
        }
    }

    /// Takes back one event recorded at `at` (an attempt that turned out fine).
    func remove(_ key: String, at: Date) {
        events.withLockedValue { all in
            guard var times = all[key], let index = times.lastIndex(of: at) else { return }
            times.remove(at: index)
            all[key] = times.isEmpty ? nil : times
        }
    }

    func clear(_ key: String) { _ = events.withLockedValue { $0.removeValue(forKey: key) } }

    private static func wait(_ all: inout [String: [Date]], _ key: String, limit: Int, now: Date, window: TimeInterval) -> TimeInterval? {
        let recent = (all[key] ?? []).filter { now.timeIntervalSince($0) < window }
        all[key] = recent.isEmpty ? nil : recent
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return window - now.timeIntervalSince(oldest)
    }

    private static func append(_ all: inout [String: [Date]], _ key: String, now: Date, window: TimeInterval) {
        all[key, default: []].append(now)
        if all.count > 100_000 { all = all.filter { $0.value.last.map { now.timeIntervalSince($0) < window } ?? false } }
    }
}

/// Slows password guessing down at its source, never the account's owner. Every password check (sign-in, the current
/// password when changing it) takes an attempt *before* the hash is compared, so parallel guesses are counted as they
/// come. A source is a browser that has signed in as this person before (its device cookie) or else an address; a
/// source that has not been failing is never refused a correct password:
/// - 5 failures of one source on one account in 15 minutes, then that source waits;
/// - an address with 20 failures over any accounts waits (password spraying), but a known browser behind it does not;
/// - an account with 100 failures from anywhere (many addresses) refuses unknown browsers; known ones still sign in.
final class SignInThrottle: Sendable {
    static let perSourceAndAccount = 5
    static let perAddress = 20
    static let perAccountFromUnknown = 100
    static let window: TimeInterval = 15 * 60
    private let failures = RateLimiter(window: window)

    enum Source: Sendable, Equatable {
        /// A browser that signed in as this account before (its device cookie's id).
        case device(String)
        case address(String)
    }

    /// One password check under way: counted as a failure unless `succeeded` takes it back.
    struct Attempt: Sendable {
        let keys: [String]
        let pairKey: String
        let at: Date
    }

    struct Throttled: Error { let retryAfter: TimeInterval }

    func begin(email: String, source: Source, now: Date) throws -> Attempt {
        let limits: [(key: String, limit: Int)]
        switch source {
        case .device(let id):
            limits = [("device:\(id):\(email)", Self.perSourceAndAccount)]
        case .address(let address):
            limits = [("pair:\(address):\(email)", Self.perSourceAndAccount), ("address:\(address)", Self.perAddress),
                      ("account:\(email)", Self.perAccountFromUnknown)]
        }
        if let wait = failures.take(limits, now: now) { throw Throttled(retryAfter: wait) }
        return Attempt(keys: limits.map(\.key), pairKey: limits[0].key, at: now)
    }

    /// The password was right: the attempt is no failure, and this source's failures on the account are forgotten.
    func succeeded(_ attempt: Attempt) {
        for key in attempt.keys { failures.remove(key, at: attempt.at) }
        failures.clear(attempt.pairKey)
    }
}

/// The browser's proof that it signed in as a person before: `id.mac`, the MAC binding the id to the email under the
/// instance key. It lets the owner's own browsers past throttles that an attacker's guesses fill.
enum DeviceCookie {
    static let name = "atiende_device"
    static let lifetime = 365 * 24 * 3600

    static func value(id: String, email: String, key: String) -> String { id + "." + mac(id: id, email: email, key: key) }

    /// The cookie's device id when it was issued for `email`.
    static func id(_ cookie: String?, email: String, key: String) -> String? {
        guard let cookie, cookie.count < 200 else { return nil }
        let parts = cookie.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, SecretToken.constantTimeEquals(parts[1], mac(id: parts[0], email: email, key: key)) else { return nil }
        return parts[0]
    }

    static func mac(id: String, email: String, key: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data((id + "\n" + email).utf8), using: SymmetricKey(data: Data((key + ":device").utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }
}

extension Request {
    /// Where a password guess comes from: this person's known browser, else the address (an IPv6 address by its /64).
    func signInSource(for email: String) -> SignInThrottle.Source {
        if let id = DeviceCookie.id(cookies[DeviceCookie.name]?.string, email: email, key: atiende.config.secretKey) { return .device(id) }
        guard let address = remoteAddress?.ipAddress else { return .address("unknown") }
        if address.contains(":"), let bytes = IPAddressPrefix.v6Prefix64(address) { return .address(bytes) }
        return .address(address)
    }

    /// The one password check: through the sign-in throttle (throws `Throttled`), against a stand-in hash when there is
    /// no such active account, so neither the answer nor its time tells which emails have accounts.
    func checkPassword(_ password: String, email: String) async throws -> User? {
        let throttle = atiende.signIns
        let attempt = try throttle.begin(email: email, source: signInSource(for: email), now: atiende.store.clock.now())
        let user = email.isEmpty ? nil : try await User.query(on: db).filter(\.$email == email).first()
        let candidate = password.count <= 200 ? password : String(password.prefix(200))
        var hash = user.flatMap { $0.isActive && !$0.passwordHash.isEmpty ? $0.passwordHash : nil } ?? ""
        if hash.isEmpty { hash = try await PasswordCheck.dummyHash(self) }
        let matches = (try? await self.password.async.verify(candidate, created: hash)) ?? false
        guard matches, password.count <= 200, let user, user.isActive, !user.passwordHash.isEmpty else { return nil }
        throttle.succeeded(attempt)
        return user
    }

    /// Marks this browser as one that signed in as `email`.
    func rememberDevice(_ response: Response, email: String) {
        let id = DeviceCookie.id(cookies[DeviceCookie.name]?.string, email: email, key: atiende.config.secretKey)
            ?? SecretToken.make(prefix: "", bytes: 16)
        response.cookies[DeviceCookie.name] = HTTPCookies.Value(
            string: DeviceCookie.value(id: id, email: email, key: atiende.config.secretKey), maxAge: DeviceCookie.lifetime, path: "/",
            isSecure: isSecureDeployment, isHTTPOnly: true, sameSite: .lax)
    }
}

enum PasswordCheck {
    private static let dummy = NIOLockedValueBox<String?>(nil)

    /// A hash of a random password made with the same hasher (and cost) as real ones, made once.
    static func dummyHash(_ req: Request) async throws -> String {
        if let hash = dummy.withLockedValue({ $0 }) { return hash }
        let hash = try await req.password.async.hash(SecretToken.make(prefix: "", bytes: 18))
        dummy.withLockedValue { $0 = $0 ?? hash }
        return hash
    }
}

enum IPAddressPrefix {
    /// `2001:db8:1:2::/64` for any address in it: one IPv6 user holds a whole /64.
    static func v6Prefix64(_ address: String) -> String? {
        var raw = in6_addr()
        guard inet_pton(AF_INET6, address, &raw) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &raw) { Array($0.prefix(8)) }
        return stride(from: 0, to: 8, by: 2).map { String(format: "%x", Int(bytes[$0]) << 8 | Int(bytes[$0 + 1])) }.joined(separator: ":") + "::/64"
    }
}
