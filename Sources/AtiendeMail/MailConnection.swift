import AtiendeNetwork
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// What the SMTP and IMAP clients share about a connection: decoded messages handed to an async stream, TLS with an
/// optional extra CA, and a deadline on each wait for the server.

/// Yields each decoded message of a channel; an error or the end of the connection finishes the stream.
final class StreamForwarder<Message: Sendable>: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Message
    let continuation: AsyncThrowingStream<Message, any Error>.Continuation
    init(_ continuation: AsyncThrowingStream<Message, any Error>.Continuation) { self.continuation = continuation }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
    func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }
}

enum MailTLS {
    /// The system's trust roots, plus the certificates of `caFile` (a relay or mailbox with its own CA).
    static func context(caFile: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let file = caFile, !file.isEmpty {
            configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(file))]
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Verifies the certificate for `host` (by name, or by address when `host` is an IP).
    static func handler(_ context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: host.isIPAddress ? nil : host)
    }
}

enum MailConnection {
    /// Connects (TLS from the start when `tls`), decodes what the server sends with `decoder` and hands it to the returned
    /// stream. The host is resolved and checked by `network` first, and the connection goes to the checked address, so
    /// an internal server is refused before anything is sent to it. Throws `connectFailure(reason)` when the server
    /// cannot be reached.
    static func open<Decoder: ByteToMessageDecoder & Sendable>(
        host: String, port: Int, tls: Bool, caFile: String?, timeout: TimeAmount, group: any EventLoopGroup, network: OutboundGuard,
        decoder: @escaping @Sendable () -> Decoder, connectFailure: (String) -> any Error
    ) async throws -> (any Channel, AsyncThrowingStream<Decoder.InboundOut, any Error>) where Decoder.InboundOut: Sendable {
        let addresses: [SocketAddress]
        do {
            addresses = try await network.resolve(host: host, port: port)
        } catch {
            throw connectFailure("\(error)")
        }
        var lastError: (any Error)?
        for address in addresses {
            do {
                return try await open(address, host: host, tls: tls, caFile: caFile, timeout: timeout, group: group, decoder: decoder)
            } catch {
                lastError = error
            }
        }
        throw connectFailure("could not connect to \(host):\(port) (\(lastError.map(transportReason) ?? "no address"))")
    }

    /// A connection failure in a few words, never the socket library's own text (which people read after a translated
    /// lead-in, and which carries errno numbers and unbalanced brackets).
    static func transportReason(_ error: any Error) -> String {
        let text = "\(error)".lowercased()
        if text.contains("refused") { return "connection refused" }
        if text.contains("reset") { return "connection reset" }
        if text.contains("timed out") || text.contains("timeout") { return "timed out" }
        if text.contains("certificate") || text.contains("ssl") || text.contains("tls") || text.contains("handshake") { return "TLS failed" }
        if text.contains("unreachable") || text.contains("no route") { return "network unreachable" }
        return "network error"
    }

    private static func open<Decoder: ByteToMessageDecoder & Sendable>(
        _ address: SocketAddress, host: String, tls: Bool, caFile: String?, timeout: TimeAmount, group: any EventLoopGroup,
        decoder: @escaping @Sendable () -> Decoder
    ) async throws -> (any Channel, AsyncThrowingStream<Decoder.InboundOut, any Error>) where Decoder.InboundOut: Sendable {
        let (stream, continuation) = AsyncThrowingStream<Decoder.InboundOut, any Error>.makeStream()
        let context = tls ? try MailTLS.context(caFile: caFile) : nil
        do {
            let channel = try await ClientBootstrap(group: group).connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(try MailTLS.handler(context, host: host))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder()))
                        try channel.pipeline.syncOperations.addHandler(StreamForwarder(continuation))
                    }
                }
                .connect(to: address).get()
            return (channel, stream)
        } catch {
            continuation.finish(throwing: error)
            throw error
        }
    }
}

/// `body`'s result, or `failure` once `timeout` has passed.
func withDeadline<T: Sendable>(_ timeout: TimeAmount, failure: any Error, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds))
            throw failure
        }
        let value = try await group.next()!
        group.cancelAll()
        return value
    }
}
