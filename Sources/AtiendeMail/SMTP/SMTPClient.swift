import AtiendeNetwork
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one message through an SMTP relay (RFC 5321): EHLO, STARTTLS (or TLS from the start), AUTH PLAIN or LOGIN,
/// MAIL/RCPT/DATA with dot-stuffing, QUIT. Replies 4xx are `temporary` (try again later), 5xx `permanent`, each with
/// the server's own words, so the agent sees exactly why.
public struct SMTPClient: Sendable {
    public enum Security: String, Sendable, Codable { case none, starttls, tls }

    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var security: Security
        public var username: String?
        public var password: String?
        /// PEM file of certificates to trust besides the system's (a relay with its own CA).
        public var caFile: String?
        /// The name we greet with (EHLO).
        public var hostname: String
        public var timeout: TimeAmount
        /// Which addresses the relay may be at (internal ones only when allowed).
        public var network: OutboundGuard

        public init(host: String, port: Int, security: Security, username: String? = nil, password: String? = nil,
                    caFile: String? = nil, hostname: String = "atiende.local", timeout: TimeAmount = .seconds(30), network: OutboundGuard) {
            self.network = network
            self.host = host
            self.port = port
            self.security = security
            self.username = username
            self.password = password
            self.caFile = caFile
            self.hostname = hostname
            self.timeout = timeout
        }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case temporary(String)
        case permanent(String)
        public var description: String { switch self { case .temporary(let s), .permanent(let s): s } }
    }

    public struct Reply: Sendable, Equatable {
        public var code: Int
        public var lines: [String]
        public var text: String { "\(code) " + lines.joined(separator: " ") }
    }

    let settings: Settings
    let group: any EventLoopGroup

    public init(settings: Settings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.settings = settings
        self.group = group
    }

    /// Sends `message` from `from` to every recipient; returns the server's final reply (its queue id, usually).
    @discardableResult
    public func send(_ message: Data, from: String, to recipients: [String]) async throws -> Reply {
        let session = try await Session.connect(settings, group: group)
        do {
            let reply = try await session.deliver(message, from: from, to: recipients)
            try? await session.quit()
            return reply
        } catch {
            await session.close()
            throw error
        }
    }

    /// Connects, greets and authenticates, then says goodbye: the connection test of the admin page.
    public func check() async throws -> String {
        let session = try await Session.connect(settings, group: group)
        let greeting = session.greeting
        try? await session.quit()
        return greeting
    }

    /// Bytes to lines.
    final class LineDecoder: ByteToMessageDecoder, @unchecked Sendable {
        typealias InboundOut = String
        func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let newline = buffer.readableBytesView.firstIndex(of: 10) else {
                if buffer.readableBytes > 64 * 1024 { throw Failure.permanent("the server sent a line longer than 64 KB") }
                return .needMoreData
            }
            let length = newline - buffer.readerIndex + 1
            var bytes = buffer.readBytes(length: length) ?? []
            while let last = bytes.last, last == 10 || last == 13 { bytes.removeLast() }
            context.fireChannelRead(wrapInboundOut(String(decoding: bytes, as: UTF8.self)))
            return .continue
        }
    }

    final class Session: @unchecked Sendable {
        let channel: any Channel
        let lines: AsyncThrowingStream<String, any Error>
        var iterator: AsyncThrowingStream<String, any Error>.AsyncIterator
        let settings: Settings
        var greeting = ""
        var extensions: [String] = []

        init(channel: any Channel, lines: AsyncThrowingStream<String, any Error>, settings: Settings) {
            self.channel = channel
            self.lines = lines
            self.iterator = lines.makeAsyncIterator()
            self.settings = settings
        }

        static func connect(_ settings: Settings, group: any EventLoopGroup) async throws -> Session {
            let (channel, stream) = try await MailConnection.open(
                host: settings.host, port: settings.port, tls: settings.security == .tls, caFile: settings.caFile,
                timeout: settings.timeout, group: group, network: settings.network, decoder: { LineDecoder() }, connectFailure: { Failure.temporary($0) })
            let session = Session(channel: channel, lines: stream, settings: settings)
            do {
                let hello = try await session.reply()
                guard hello.code == 220 else { throw Failure.temporary("the server did not greet: \(hello.text)") }
                session.greeting = hello.text
                try await session.ehlo()
                if settings.security == .starttls {
                    guard session.extensions.contains(where: { $0.uppercased() == "STARTTLS" }) else {
                        throw Failure.permanent("the server does not offer STARTTLS (\(settings.host):\(settings.port) offers: \(session.extensions.joined(separator: ", ")))")
                    }
                    try await session.expect("STARTTLS", 220)
                    let handler = try MailTLS.handler(try MailTLS.context(caFile: settings.caFile), host: settings.host)
                    try await channel.pipeline.addHandler(handler, position: .first).get()
                    try await session.ehlo()
                }
                if let user = settings.username, !user.isEmpty { try await session.authenticate(user, settings.password ?? "") }
            } catch {
                await session.close()
                if let failure = error as? Failure { throw failure }
                throw Failure.temporary("the connection to \(settings.host):\(settings.port) failed: \(error)")
            }
            return session
        }

        func reply() async throws -> Reply {
            var lines: [String] = []
            while true {
                let timeout = settings.timeout
                let next = try await withDeadline(timeout, failure: Failure.temporary("the server did not answer in \(timeout.nanoseconds / 1_000_000_000) s")) {
                    [self] in try await self.iterator.next()
                }
                guard let line = next else { throw Failure.temporary("the server closed the connection") }
                guard line.count >= 3, let code = Int(line.prefix(3)) else { throw Failure.temporary("not an SMTP reply: \(line.prefix(80))") }
                lines.append(String(line.dropFirst(4)))
                if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " { return Reply(code: code, lines: lines) }
            }
        }

        func write(_ text: String) async throws {
            var buffer = channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            try await channel.writeAndFlush(buffer).get()
        }

        @discardableResult
        func expect(_ command: String, _ codes: Int..., secret: Bool = false) async throws -> Reply {
            try await write(command + "\r\n")
            let answer = try await reply()
            guard codes.contains(answer.code) else {
                let shown = secret ? command.split(separator: " ").prefix(2).joined(separator: " ") + " …" : command
                let text = "\(shown): \(answer.text)"
                throw answer.code >= 500 ? Failure.permanent(text) : Failure.temporary(text)
            }
            return answer
        }

        func ehlo() async throws {
            let answer = try await expect("EHLO \(settings.hostname)", 250)
            extensions = Array(answer.lines.dropFirst()).map { $0.trimmingCharacters(in: .whitespaces) }
        }

        func authenticate(_ user: String, _ password: String) async throws {
            let auth = extensions.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
            if auth.contains("PLAIN") || !auth.contains("LOGIN") {
                let token = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
                try await expect("AUTH PLAIN \(token)", 235, secret: true)
            } else {
                try await expect("AUTH LOGIN", 334)
                try await expect(Data(user.utf8).base64EncodedString(), 334, secret: true)
                try await expect(Data(password.utf8).base64EncodedString(), 235, secret: true)
            }
        }

        func deliver(_ message: Data, from: String, to recipients: [String]) async throws -> Reply {
            guard !recipients.isEmpty else { throw Failure.permanent("no recipients") }
            try await expect("MAIL FROM:<\(from)>", 250)
            for recipient in recipients { try await expect("RCPT TO:<\(recipient)>", 250, 251) }
            try await expect("DATA", 354)
            try await write(Self.dotStuffed(message))
            return try await expect(".", 250)
        }

        /// CRLF line ends, a leading "." doubled, and the body ending in CRLF (the "." line is sent after it).
        static func dotStuffed(_ message: Data) -> String {
            var text = String(decoding: message, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
            if text.hasPrefix(".") { text = "." + text }
            text = text.replacingOccurrences(of: "\r\n.", with: "\r\n..")
            if !text.hasSuffix("\r\n") { text += "\r\n" }
            return text
        }

        func quit() async throws {
            try? await expect("QUIT", 221)
            await close()
        }

        func close() async {
            try? await channel.close().get()
        }
    }
}

extension String {
    var isIPAddress: Bool { (try? SocketAddress(ipAddress: self, port: 0)) != nil }
}
