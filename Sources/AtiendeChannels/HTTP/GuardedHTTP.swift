import AsyncHTTPClient
import AtiendeCore
import AtiendeNetwork
import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP client of every outgoing request (webhooks, provider APIs, their files). Each host is resolved and checked
/// by the outbound guard before the request, so an internal target is refused before anything is sent; each connection's
/// actual peer is checked again when it opens, so a name that changes its answer in between is refused too. Redirects
/// are followed here, one hop at a time through the same checks, and credentials never follow a redirect to another
/// origin.
public struct GuardedHTTP: Sendable {
    public let client: HTTPClient
    public let network: OutboundGuard

    public init(client: HTTPClient, network: OutboundGuard) {
        self.client = client
        self.network = network
    }

    /// A client that checks the peer of each connection it opens and follows no redirect on its own.
    public static func makeClient(network: OutboundGuard) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        // A refused connection fails its request at once instead of being retried until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        let check: @Sendable (any Channel) -> EventLoopFuture<Void> = { channel in
            network.permits(connectedTo: channel.remoteAddress)
                ? channel.eventLoop.makeSucceededVoidFuture()
                : channel.eventLoop.makeFailedFuture(OutboundGuard.Refused(host: channel.remoteAddress?.ipAddress ?? "the server"))
        }
        configuration.http1_1ConnectionDebugInitializer = check
        configuration.http2ConnectionDebugInitializer = check
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public struct BadURL: Error, CustomStringConvertible {
        public let url: String
        public var description: String { "'\(url.prefix(200))' is not an absolute http or https URL" }
    }

    static let redirects: Set<UInt> = [301, 302, 303, 307, 308]

    /// Sends `request`, following up to `redirects` redirects. Headers named in `credentials` are dropped when a
    /// redirect leads to another scheme, host or port.
    public func execute(_ request: HTTPClientRequest, timeout: TimeAmount, redirects: Int = 0,
                        credentials: Set<String> = ["authorization"]) async throws -> HTTPClientResponse {
        var request = request
        var hops = 0
        while true {
            let url = try Self.parse(request.url)
            _ = try await network.resolve(host: url.host ?? "", port: Self.port(url))
            let response = try await client.execute(request, timeout: timeout)
            guard Self.redirects.contains(response.status.code), hops < redirects,
                  let location = response.headers.first(name: "Location"),
                  let next = URL(string: location, relativeTo: url)?.absoluteURL
            else { return response }
            _ = try? await response.body.collect(upTo: 64 * 1024)
            hops += 1
            let nextURL = try Self.parse(next.absoluteString)
            if Self.origin(nextURL) != Self.origin(url) {
                for name in credentials { request.headers.remove(name: name) }
            }
            if response.status == .seeOther || ([301, 302].contains(response.status.code) && request.method == .POST) {
                request.method = .GET
                request.body = nil
                request.headers.remove(name: "Content-Type")
            }
            request.url = nextURL.absoluteString
        }
    }

    static func parse(_ raw: String) throws -> URL {
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else { throw BadURL(url: raw) }
        return url
    }

    static func port(_ url: URL) -> Int { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80) }

    /// Scheme, host and port: what a credential is given for.
    public static func origin(_ url: URL) -> String {
        "\(url.scheme?.lowercased() ?? "")://\((url.host ?? "").lowercased()):\(port(url))"
    }

    public static func origin(of raw: String) -> String? { URL(string: raw).map(origin) }
}
