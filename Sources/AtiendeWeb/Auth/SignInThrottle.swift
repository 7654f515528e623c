import Foundation
import NIOConcurrencyHelpers

/// Slows password guessing: after 5 failed sign-ins for one email, or 20 from one address, within 15 minutes,
/// further attempts are refused until the window passes. Per instance, in memory.
final class SignInThrottle: Sendable {
    static let perEmail = 5
    static let perAddress = 20
    static let window: TimeInterval = 15 * 60

    private let failures = NIOLockedValueBox<[String: [Date]]>([:])

    /// Seconds to wait before trying again, or nil when an attempt is allowed.
    func retryAfter(email: String, address: String, now: Date) -> TimeInterval? {
        failures.withLockedValue { all in
            func check(_ key: String, limit: Int) -> TimeInterval? {
                let recent = (all[key] ?? []).filter { now.timeIntervalSince($0) < Self.window }
                all[key] = recent.isEmpty ? nil : recent
                guard recent.count >= limit, let oldest = recent.first else { return nil }
                return Self.window - now.timeIntervalSince(oldest)
            }
            return check("email:" + email, limit: Self.perEmail) ?? check("address:" + address, limit: Self.perAddress)
        }
    }

    func failed(email: String, address: String, now: Date) {
        failures.withLockedValue { all in
            all["email:" + email, default: []].append(now)
            all["address:" + address, default: []].append(now)
            if all.count > 100_000 { all = all.filter { $0.value.last.map { now.timeIntervalSince($0) < Self.window } ?? false } }
        }
    }

    func succeeded(email: String) {
        _ = failures.withLockedValue { $0.removeValue(forKey: "email:" + email) }
    }
}
