import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one gate every outgoing connection passes (webhooks, provider APIs and their files, mail servers): it refuses
/// this machine and private networks — loopback, private, link-local, unique-local, carrier-grade NAT, multicast and
/// reserved ranges — on the addresses a name resolves to, so a setting can never point the server at itself or its
/// neighbours. `ATIENDE_ALLOW_PRIVATE_TARGETS` names the exceptions (on-premises mail servers, tests' stand-ins).
public final class OutboundGuard: Sendable {
    /// An exception: everything, one host name, or a network.
    public enum Rule: Sendable, Equatable {
        case any
        case host(String)
        case network(IPAddressBytes, prefix: Int)
    }

    public struct Refused: Error, CustomStringConvertible, Sendable {
        public let host: String
        public init(host: String) { self.host = host }
        public var description: String {
            "\(host) is an internal address (this machine or a private network); Atiende does not connect there unless ATIENDE_ALLOW_PRIVATE_TARGETS names it"
        }
    }

    public struct Unresolvable: Error, CustomStringConvertible, Sendable {
        public let host: String
        public var description: String { "\(host) could not be found (DNS)" }
    }

    public let rules: [Rule]
    /// Addresses that a named exception resolved to, so the check made when a connection opens lets them through too.
    private let namedAddresses = NIOLockedValueBox<Set<IPAddressBytes>>([])

    public init(rules: [Rule]) { self.rules = rules }

    /// Refuses every internal address.
    public static var strict: OutboundGuard { OutboundGuard(rules: []) }

    /// `*`, or a comma-separated list of host names, addresses and networks (`mail.lan, 10.0.0.0/8, ::1`).
    public convenience init(allowing spec: String?) throws {
        var rules: [Rule] = []
        for raw in (spec ?? "").split(separator: ",") {
            let entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry.isEmpty { continue }
            if entry == "*" { rules.append(.any); continue }
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            if let bytes = IPAddressBytes(parts[0]) {
                let width = bytes.octets.count * 8
                guard let prefix = parts.count == 2 ? Int(parts[1]) : width, (0...width).contains(prefix) else {
                    throw InvalidRule(entry: entry)
                }
                rules.append(.network(bytes, prefix: prefix))
            } else if parts.count == 1, entry.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) {
                rules.append(.host(entry))
            } else {
                throw InvalidRule(entry: entry)
            }
        }
        self.init(rules: rules)
    }

    public struct InvalidRule: Error, CustomStringConvertible {
        public let entry: String
        public var description: String { "'\(entry)' is neither *, a host name, an address nor a network like 10.0.0.0/8" }
    }

    public var allowsEverything: Bool { rules.contains(.any) }

    /// Whether a connection to `address` may open (`host`, when known, is the name it was reached by).
    public func permits(_ address: IPAddressBytes, host: String? = nil) -> Bool {
        if !address.isInternal { return true }
        for rule in rules {
            switch rule {
            case .any: return true
            case .host(let name): if let host, Self.normalized(host) == name { return true }
            case .network(let network, let prefix): if address.isIn(network, prefix: prefix) { return true }
            }
        }
        return namedAddresses.withLockedValue { $0.contains(address) }
    }

    /// The check made when a connection has opened, on its actual peer.
    public func permits(connectedTo address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress, let bytes = IPAddressBytes(ip) else { return false }
        return permits(bytes)
    }

    /// Resolves `host` and returns its addresses, refusing it when any of them is internal (and not an exception).
    /// A name like `localhost` is refused before it is looked up.
    public func resolve(host rawHost: String, port: Int) async throws -> [SocketAddress] {
        let host = Self.normalized(rawHost)
        let named = rules.contains(.host(host))
        if !named && !allowsEverything && (host == "localhost" || host.hasSuffix(".localhost")) { throw Refused(host: rawHost) }
        let addresses: [IPAddressBytes]
        if let literal = IPAddressBytes(host) {
            addresses = [literal]
        } else {
            addresses = try await Self.lookUp(host)
        }
        guard !addresses.isEmpty else { throw Unresolvable(host: rawHost) }
        for address in addresses where !permits(address, host: host) { throw Refused(host: rawHost) }
        if named { namedAddresses.withLockedValue { $0.formUnion(addresses.filter(\.isInternal)) } }
        return try addresses.map { try SocketAddress(ipAddress: $0.description, port: port) }
    }

    /// For a setting being saved: refuses a host that is internal now; one that does not resolve yet is accepted
    /// (the check made on every connection still applies).
    public func checkSetting(host: String) async throws {
        do { _ = try await resolve(host: host, port: 0) } catch is Unresolvable {}
    }

    static func normalized(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    /// getaddrinfo on the blocking-work pool.
    static func lookUp(_ host: String) async throws -> [IPAddressBytes] {
        try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { throw Unresolvable(host: host) }
            defer { freeaddrinfo(first) }
            var found: [IPAddressBytes] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let entry = cursor {
                if let address = entry.pointee.ai_addr {
                    switch Int32(address.pointee.sa_family) {
                    case AF_INET:
                        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                            var raw = v4.pointee.sin_addr
                            found.append(IPAddressBytes(octets: withUnsafeBytes(of: &raw) { Array($0) }))
                        }
                    case AF_INET6:
                        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                            var raw = v6.pointee.sin6_addr
                            found.append(IPAddressBytes(octets: withUnsafeBytes(of: &raw) { Array($0) }))
                        }
                    default: break
                    }
                }
                cursor = entry.pointee.ai_next
            }
            return Array(Set(found)).sorted { $0.octets.count < $1.octets.count }
        }
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
public struct IPAddressBytes: Hashable, Sendable, CustomStringConvertible {
    public let octets: [UInt8]

    public init(octets: [UInt8]) { self.octets = octets }

    /// Parses a literal (`10.0.0.1`, `::1`, `[fe80::1]`); nil for anything else, names included.
    public init?(_ text: String) {
        var literal = text
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        if let percent = literal.firstIndex(of: "%") { literal = String(literal[..<percent]) }  // a zone id (fe80::1%eth0)
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            octets = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, literal, &v6) == 1 {
            octets = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    public var description: String {
        if octets.count == 4 { return octets.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: octets) }
        return inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)).map { _ in String(cString: buffer) } ?? "?"
    }

    public func isIn(_ network: IPAddressBytes, prefix: Int) -> Bool {
        guard network.octets.count == octets.count else {
            // An IPv4 network also covers the IPv6 forms of its addresses (::ffff:a.b.c.d).
            if let v4 = embeddedIPv4, network.octets.count == 4 { return v4.isIn(network, prefix: prefix) }
            return false
        }
        var remaining = prefix
        for (a, b) in zip(octets, network.octets) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address.
    var embeddedIPv4: IPAddressBytes? {
        guard octets.count == 16 else { return nil }
        let head = Array(octets[0..<12])
        if head == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] || head == [UInt8](repeating: 0, count: 12) {
            return IPAddressBytes(octets: Array(octets[12..<16]))
        }
        if head == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return IPAddressBytes(octets: Array(octets[12..<16])) }
        if octets[0] == 0x20, octets[1] == 0x02 { return IPAddressBytes(octets: Array(octets[2..<6])) }
        return nil
    }

    /// This machine, private and special-purpose networks: nothing a customer-facing service lives on.
    public var isInternal: Bool {
        if let v4 = embeddedIPv4 {
            // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
            if octets.count == 16, octets[0..<15].allSatisfy({ $0 == 0 }), octets[15] <= 1 { return true }
            return v4.isInternal
        }
        let ranges = octets.count == 4 ? Self.internalV4 : Self.internalV6
        return ranges.contains { isIn($0.0, prefix: $0.1) }
    }

    static let internalV4: [(IPAddressBytes, Int)] = [
        ("0.0.0.0", 8), ("10.0.0.0", 8), ("100.64.0.0", 10), ("127.0.0.0", 8), ("169.254.0.0", 16), ("172.16.0.0", 12),
        ("192.0.0.0", 24), ("192.0.2.0", 24), ("192.88.99.0", 24), ("192.168.0.0", 16), ("198.18.0.0", 15),
        ("198.51.100.0", 24), ("203.0.113.0", 24), ("224.0.0.0", 4), ("240.0.0.0", 4),
    ].map { (IPAddressBytes($0.0)!, $0.1) }

    static let internalV6: [(IPAddressBytes, Int)] = [
        ("::", 128), ("::1", 128), ("100::", 64), ("2001::", 23), ("2001:db8::", 32), ("fc00::", 7), ("fe80::", 10),
        ("fec0::", 10), ("ff00::", 8),
    ].map { (IPAddressBytes($0.0)!, $0.1) }
}

/// A list of addresses and networks (`10.0.0.0/8, 127.0.0.1, ::1`): the proxies whose forwarded headers are believed.
public struct AddressRanges: Sendable {
    public let ranges: [(IPAddressBytes, Int)]

    public init(_ spec: String?) throws {
        var ranges: [(IPAddressBytes, Int)] = []
        for raw in (spec ?? "").split(separator: ",") {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = IPAddressBytes(parts[0]), let prefix = parts.count == 2 ? Int(parts[1]) : bytes.octets.count * 8,
                  (0...bytes.octets.count * 8).contains(prefix) else { throw OutboundGuard.InvalidRule(entry: entry) }
            ranges.append((bytes, prefix))
        }
        self.ranges = ranges
    }

    public func contains(_ address: String?) -> Bool {
        guard let address, let bytes = IPAddressBytes(address) else { return false }
        return ranges.contains { bytes.isIn($0.0, prefix: $0.1) }
    }
}
