import Foundation
import NIOCore
import NIOPosix

/// A receiving SMTP and LMTP server for a mail server to relay to (`atiende serve` with `ATIENDE_MAIL_PORT`). It accepts
/// mail only for addresses the delegate knows, and answers 250 only after the delegate has stored the message; a failure
/// to store is a 4xx, so the relaying server keeps the message and tries again. No AUTH: bind it to an address only the
/// mail server reaches (127.0.0.1 by default).
public struct SMTPServer: Sendable {
    public struct Delivery: Sendable {
        public var from: String
        public var recipients: [String]
        /// The message as received, with a Return-Path header in front.
        public var message: Data
    }

    public enum Outcome: Sendable {
        case stored(String)
        case temporary(String)
        case permanent(String)
    }

    /// Whether mail for an address is taken. `tryLater` (451) when that cannot be known now — a database that does not
    /// answer must never turn into a 550 that bounces the customer's mail for good.
    public enum RecipientAnswer: Sendable, Equatable {
        case accept
        case unknown
        case tryLater(String)
    }

    public protocol Delegate: Sendable {
        func recipient(_ address: String) async -> RecipientAnswer
        /// Called once per accepted recipient (LMTP) or once for all of them (SMTP, with every recipient).
        func deliver(_ delivery: Delivery) async -> Outcome
    }

    public let host: String
    public let port: Int
    public let hostname: String
    public let maxMessageBytes: Int
    /// A session that sends nothing for this long is told 421 and closed (RFC 5321 suggests 5 minutes).
    public let idleTimeout: TimeAmount
    let delegate: any Delegate
    let group: any EventLoopGroup

    public init(host: String, port: Int, hostname: String, maxMessageBytes: Int = 40 * 1024 * 1024, idleTimeout: TimeAmount = .minutes(5),
                delegate: any Delegate, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.idleTimeout = idleTimeout
        self.host = host
        self.port = port
        self.hostname = hostname
        self.maxMessageBytes = maxMessageBytes
        self.delegate = delegate
        self.group = group
    }

    /// Listens until the task is cancelled.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ByteLineDecoder()))
                    return try NIOAsyncChannel<[UInt8], ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        onBound(server.channel.localAddress?.port ?? port)
        try await withTaskCancellationHandler {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    /// Says why and hangs up when the client has been silent for the idle timeout.
    final class CloseWhenIdle: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard event is IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
            let bye = context.channel.allocator.buffer(string: "421 4.4.2 idle for too long, closing\r\n")
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(NIOAny(bye)).whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    /// Lines as bytes, without their line end: message content must pass byte for byte (8-bit mail is not UTF-8).
    final class ByteLineDecoder: ByteToMessageDecoder, @unchecked Sendable {
        typealias InboundOut = [UInt8]
        func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let newline = buffer.readableBytesView.firstIndex(of: 10) else {
                if buffer.readableBytes > 1024 * 1024 { throw SMTPClient.Failure.permanent("a line longer than 1 MB") }
                return .needMoreData
            }
            var bytes = buffer.readBytes(length: newline - buffer.readerIndex + 1) ?? []
            bytes.removeLast()
            if bytes.last == 13 { bytes.removeLast() }
            context.fireChannelRead(wrapInboundOut(bytes))
            return .continue
        }
    }

    func serve(_ connection: NIOAsyncChannel<[UInt8], ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                func say(_ lines: String...) async throws {
                    var buffer = ByteBuffer()
                    for line in lines { buffer.writeString(line + "\r\n") }
                    try await outbound.write(buffer)
                }
                try await say("220 \(hostname) Atiende ESMTP")
                var lmtp = false
                var from: String?
                var recipients: [String] = []
                var lines = inbound.makeAsyncIterator()
                while let bytes = try await lines.next() {
                    let line = String(decoding: bytes, as: UTF8.self)
                    let upper = line.uppercased()
                    let verb = upper.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
                    switch verb {
                    case "EHLO", "LHLO", "HELO":
                        lmtp = verb == "LHLO"
                        from = nil
                        recipients = []
                        if verb == "HELO" { try await say("250 \(hostname)") } else {
                            try await say("250-\(hostname)", "250-SIZE \(maxMessageBytes)", "250-8BITMIME", "250 ENHANCEDSTATUSCODES")
                        }
                    case "MAIL":
                        guard let address = Self.path(line, after: "FROM:") else { try await say("501 5.5.4 Syntax: MAIL FROM:<address>"); continue }
                        if let size = Self.sizeParameter(line), size > maxMessageBytes {
                            try await say("552 5.3.4 Message larger than \(maxMessageBytes) bytes"); continue
                        }
                        from = address
                        recipients = []
                        try await say("250 2.1.0 OK")
                    case "RCPT":
                        guard from != nil else { try await say("503 5.5.1 MAIL first"); continue }
                        guard let address = Self.path(line, after: "TO:"), !address.isEmpty else {
                            try await say("501 5.5.4 Syntax: RCPT TO:<address>"); continue
                        }
                        guard recipients.count < 100 else { try await say("452 4.5.3 Too many recipients"); continue }
                        switch await delegate.recipient(address) {
                        case .accept:
                            recipients.append(address)
                            try await say("250 2.1.5 OK")
                        case .unknown:
                            try await say("550 5.1.1 <\(address)>: no such mailbox here")
                        case .tryLater(let why):
                            try await say("451 4.3.0 <\(address)>: \(why.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ").prefix(200))")
                        }
                    case "DATA":
                        guard let sender = from, !recipients.isEmpty else { try await say("503 5.5.1 RCPT first"); continue }
                        try await say("354 End data with <CR><LF>.<CR><LF>")
                        var message = Data("Return-Path: <\(sender)>\r\n".utf8)
                        var tooLarge = false
                        while let dataLine = try await lines.next() {
                            if dataLine == [46] { break }
                            guard !tooLarge else { continue }
                            message.append(contentsOf: dataLine.first == 46 ? dataLine.dropFirst() : dataLine[...])
                            message.append(contentsOf: [13, 10])
                            if message.count > maxMessageBytes { tooLarge = true }
                        }
                        if tooLarge {
                            for _ in 0..<(lmtp ? recipients.count : 1) { try await say("552 5.3.4 Message larger than \(maxMessageBytes) bytes") }
                        } else if lmtp {
                            for recipient in recipients {
                                try await say(Self.reply(await delegate.deliver(Delivery(from: sender, recipients: [recipient], message: message))))
                            }
                        } else {
                            try await say(Self.reply(await delegate.deliver(Delivery(from: sender, recipients: recipients, message: message))))
                        }
                        from = nil
                        recipients = []
                    case "RSET":
                        from = nil
                        recipients = []
                        try await say("250 2.0.0 OK")
                    case "NOOP": try await say("250 2.0.0 OK")
                    case "VRFY": try await say("252 2.1.5 Cannot verify, send some mail")
                    case "QUIT":
                        try await say("221 2.0.0 Bye")
                        return
                    case "STARTTLS", "AUTH": try await say("502 5.5.1 Not offered here")
                    default: try await say("500 5.5.2 Command not recognized")
                    }
                }
            }
        } catch {
            // A dropped connection: nothing was acknowledged for the message in flight, so the sender tries again.
        }
    }

    static func reply(_ outcome: Outcome) -> String {
        switch outcome {
        case .stored(let id): "250 2.0.0 OK \(id)"
        case .temporary(let why): "451 4.3.0 \(why.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ").prefix(200))"
        case .permanent(let why): "554 5.6.0 \(why.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ").prefix(200))"
        }
    }

    /// The address in `MAIL FROM:<a@b> SIZE=…` / `RCPT TO:<a@b>`; "" for the null sender `<>`.
    static func path(_ line: String, after keyword: String) -> String? {
        guard let range = line.range(of: keyword, options: .caseInsensitive) else { return nil }
        let rest = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("<"), let close = rest.firstIndex(of: ">") {
            return String(rest[rest.index(after: rest.startIndex)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return rest.split(separator: " ").first.map(String.init)
    }

    static func sizeParameter(_ line: String) -> Int? {
        guard let range = line.range(of: "SIZE=", options: .caseInsensitive) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}
