import AtiendeCore
import AtiendeNetwork
import Crypto
import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Counts recent events per key (an email, an address) in a sliding window. In memory on one instance; given a
/// PostgreSQL store, the counts live in `rate_events`, shared by every instance (a limit holds whichever instance a
/// request reaches).
final class RateLimiter: Sendable {
    let window: TimeInterval
    /// Namespaces this limiter's keys in the shared table.
    let name: String
    private let events = NIOLockedValueBox<[String: [Date]]>([:])
    private let shared: Store?

    init(window: TimeInterval, name: String = "", sharedOn store: Store? = nil) {
        self.window = window
        self.name = name
        self.shared = store?.dialect == .postgres ? store : nil
    }

    /// One counted event under several keys, to be given back when it turns out not to count.
    struct Taken: Sendable {
        let keys: [String]
        let at: Date
    }

    /// Seconds to wait when `key` already had `limit` events in the window, else nil. (This instance's memory only.)
    func retryAfter(_ key: String, limit: Int, now: Date) -> TimeInterval? {
        events.withLockedValue { all in Self.wait(&all, key, limit: limit, now: now, window: window) }
    }

    func record(_ key: String, now: Date) {
        events.withLockedValue { all in Self.append(&all, key, now: now, window: window) }
    }

    /// Forgets a key of this instance's memory (a closed socket's frames).
    func forget(_ key: String) { _ = events.withLockedValue { $0.removeValue(forKey: key) } }

    /// Checks every key against its limit and, only when none is reached, counts the event under all of them — in one
    /// step, so parallel requests (to any instance) cannot all pass the check before any of them is counted. Returns
    /// the longest wait when a limit is reached.
    func take(_ limits: [(key: String, limit: Int)], now: Date) async throws -> Result<Taken, Refusal> {
        if let shared { return try await takeShared(limits, now: now, store: shared) }
        return events.withLockedValue { all in
            let waits = limits.compactMap { Self.wait(&all, $0.key, limit: $0.limit, now: now, window: window) }
            if let longest = waits.max() { return .failure(Refusal(wait: longest)) }
            for (key, _) in limits { Self.append(&all, key, now: now, window: window) }
            return .success(Taken(keys: limits.map(\.key), at: now))
        }
    }

    struct Refusal: Error { let wait: TimeInterval }

    /// Takes back an event counted by `take` (it turned out not to count: a right password, a refused message).
    func giveBack(_ taken: Taken) async {
        if let shared {
            try? await shared.write { tx in
                for key in taken.keys {
                    try await tx.sql.raw("""
                        DELETE FROM rate_events WHERE ctid IN (SELECT ctid FROM rate_events WHERE key = \(bind: self.name + key) AND at = \(bind: taken.at) LIMIT 1)
                        """).run()
                }
            }
            return
        }
        events.withLockedValue { all in
            for key in taken.keys {
                guard var times = all[key], let index = times.lastIndex(of: taken.at) else { continue }
                times.remove(at: index)
                all[key] = times.isEmpty ? nil : times
            }
        }
    }

    func clear(_ key: String) async {
        if let shared {
            try? await shared.write { tx in try await tx.sql.raw("DELETE FROM rate_events WHERE key = \(bind: self.name + key)").run() }
            return
        }
        _ = events.withLockedValue { $0.removeValue(forKey: key) }
    }

    /// On PostgreSQL: each key is locked for the transaction (in a fixed order), its expired events swept, counted and,
    /// when every key is under its limit, the event inserted under each.
    private func takeShared(_ limits: [(key: String, limit: Int)], now: Date, store: Store) async throws -> Result<Taken, Refusal> {
        let window = window, name = name
        let at = now.roundedToMicroseconds
        return try await store.write { tx in
            let keys = limits.map { name + $0.key }
            for key in Set(keys).sorted() { try await tx.sql.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: key)))").run() }
            try await tx.sql.raw("""
                DELETE FROM rate_events WHERE key IN (\(keys.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")))
                  AND at <= \(bind: at.addingTimeInterval(-window))
                """).run()
            let rows = try await tx.sql.raw("""
                SELECT key, COUNT(*) AS n, MIN(at) AS oldest FROM rate_events
                WHERE key IN (\(keys.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", "))) GROUP BY key
                """).all()
            var counts: [String: (Int, Date)] = [:]
            for row in rows {
                counts[try row.decode(column: "key", as: String.self)] = (try row.decode(column: "n", as: Int.self), try row.decode(column: "oldest", as: Date.self))
            }
            var longest: TimeInterval?
            for (limit, key) in zip(limits.map(\.limit), keys) {
                if let (n, oldest) = counts[key], n >= limit { longest = max(longest ?? 0, window - at.timeIntervalSince(oldest)) }
            }
            if let longest { return .failure(Refusal(wait: longest)) }
            for key in keys { try await tx.sql.raw("INSERT INTO rate_events (key, at) VALUES (\(bind: key), \(bind: at))").run() }
            return .success(Taken(keys: limits.map(\.key), at: at))
        }
    }

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
    private let failures: RateLimiter

    init(sharedOn store: Store? = nil) { failures = RateLimiter(window: Self.window, name: "signin:", sharedOn: store) }

    enum Source: Sendable, Equatable {
        /// A browser that signed in as this account before (its device cookie's id).
        case device(String)
        case address(String)
    }

    /// One password check under way: counted as a failure unless `succeeded` takes it back.
    struct Attempt: Sendable {
        let taken: RateLimiter.Taken
        let pairKey: String
    }

    struct Throttled: Error {
        let retryAfter: TimeInterval
        /// The wait in whole minutes, as pages say it.
        var minutes: Int { max(1, Int((retryAfter / 60).rounded(.up))) }
    }

    /// Wrong second-factor codes per account, from anywhere: a right password (which clears its source's failures) does
    /// not clear these, so knowing the password buys no more guesses at the code.
    static let codesPerAccount = 20

    /// One code check under way: the source's attempt (as for a password) and the account's code attempt.
    func beginCode(email: String, source: Source, now: Date) async throws -> (Attempt, Attempt) {
        let attempt = try await begin(email: email, source: source, now: now)
        switch try await failures.take([("code:\(email)", Self.codesPerAccount)], now: now) {
        case .failure(let refusal):
            await failures.giveBack(attempt.taken)
            throw Throttled(retryAfter: refusal.wait)
        case .success(let taken): return (attempt, Attempt(taken: taken, pairKey: "code:\(email)"))
        }
    }

    func begin(email: String, source: Source, now: Date) async throws -> Attempt {
        let limits: [(key: String, limit: Int)]
        switch source {
        case .device(let id):
            limits = [("device:\(id):\(email)", Self.perSourceAndAccount)]
        case .address(let address):
            limits = [("pair:\(address):\(email)", Self.perSourceAndAccount), ("address:\(address)", Self.perAddress),
                      ("account:\(email)", Self.perAccountFromUnknown)]
        }
        switch try await failures.take(limits, now: now) {
        case .failure(let refusal): throw Throttled(retryAfter: refusal.wait)
        case .success(let taken): return Attempt(taken: taken, pairKey: limits[0].key)
        }
    }

    /// The password was right: the attempt is no failure, and this source's failures on the account are forgotten.
    func succeeded(_ attempt: Attempt) async {
        await failures.giveBack(attempt.taken)
        await failures.clear(attempt.pairKey)
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
        let attempt = try await throttle.begin(email: email, source: signInSource(for: email), now: atiende.store.clock.now())
        let user = email.isEmpty ? nil : try await User.query(on: db).filter(\.$email == email).first()
        let candidate = password.count <= 200 ? password : String(password.prefix(200))
        var hash = user.flatMap { $0.isActive && !$0.passwordHash.isEmpty ? $0.passwordHash : nil } ?? ""
        if hash.isEmpty { hash = try await PasswordCheck.dummyHash(self) }
        let matches = (try? await self.password.async.verify(candidate, created: hash)) ?? false
        guard let user, user.isActive, !user.passwordHash.isEmpty else { return nil }
        guard matches, password.count <= 200 else {
            // Written after the answer, not before it: the time of a wrong guess must not tell that the account exists.
            let accounts = atiende.accounts, userID = try user.requireID(), device = device, logger = logger
            Task {
                do { try await accounts.recordFailedSignIn(userID, reason: "password", device: device) }
                catch { logger.warning("a failed sign-in was not recorded", metadata: ["error": "\(error)"]) }
            }
            return nil
        }
        await throttle.succeeded(attempt)
        return user
    }

    /// What this browser says it is and where it comes from, as sessions and the audit log keep it.
    var device: AccountService.Device { .init(userAgent: headers.first(name: .userAgent), address: clientAddress) }

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
        guard let bytes = IPAddressBytes(address), bytes.octets.count == 16 else { return nil }
        return IPAddressBytes(octets: Array(bytes.octets.prefix(8)) + [UInt8](repeating: 0, count: 8)).description + "/64"
    }
}
