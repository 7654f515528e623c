import Foundation
import NIOConcurrencyHelpers

/// Counts recent events per key (an email, an address) in a sliding window, per instance, in memory.
final class RateLimiter: Sendable {
    let window: TimeInterval
    private let events = NIOLockedValueBox<[String: [Date]]>([:])

    init(window: TimeInterval) { self.window = window }

    /// Seconds to wait when `key` already had `limit` events in the window, else nil.
    func retryAfter(_ key: String, limit: Int, now: Date) -> TimeInterval? {
        events.withLockedValue { all in
            let recent = (all[key] ?? []).filter { now.timeIntervalSince($0) < window }
            all[key] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return window - now.timeIntervalSince(oldest)
        }
    }

    func record(_ key: String, now: Date) {
        events.withLockedValue { all in
            all[key, default: []].append(now)
            if all.count > 100_000 { all = all.filter { $0.value.last.map { now.timeIntervalSince($0) < window } ?? false } }
        }
    }

    func clear(_ key: String) { _ = events.withLockedValue { $0.removeValue(forKey: key) } }
}

/// Slows password guessing: after 5 failed sign-ins for one email, or 20 from one address, within 15 minutes,
/// further attempts are refused until the window passes.
final class SignInThrottle: Sendable {
    static let perEmail = 5
    static let perAddress = 20
    static let window: TimeInterval = 15 * 60
    private let failures = RateLimiter(window: window)

    func retryAfter(email: String, address: String, now: Date) -> TimeInterval? {
        failures.retryAfter("email:" + email, limit: Self.perEmail, now: now)
            ?? failures.retryAfter("address:" + address, limit: Self.perAddress, now: now)
    }

    func failed(email: String, address: String, now: Date) {
        failures.record("email:" + email, now: now)
        failures.record("address:" + address, now: now)
    }

    func succeeded(email: String) { failures.clear("email:" + email) }
}
