import AtiendeNetwork
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Just enough IMAP4rev1 (RFC 3501) to import a mailbox: TLS or STARTTLS, AUTHENTICATE PLAIN or LOGIN, SELECT with its
/// UIDVALIDITY, UID SEARCH for what is new, UID FETCH of whole messages with BODY.PEEK (nothing is marked read).
public struct IMAPClient: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var security: SMTPClient.Security
        public var username: String
        public var password: String
        public var caFile: String?
        public var mailbox: String
        public var timeout: TimeAmount
        /// Which addresses the server may be at (internal ones only when allowed).
        public var network: OutboundGuard

        public init(host: String, port: Int, security: SMTPClient.Security, username: String, password: String, caFile: String? = nil,
                    mailbox: String = "INBOX", timeout: TimeAmount = .seconds(60), network: OutboundGuard) {
            self.network = network
            self.host = host
            self.port = port
            self.security = security
            self.username = username
            self.password = password
            self.caFile = caFile
            self.mailbox = mailbox
            self.timeout = timeout
        }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case temporary(String)
        case permanent(String)
        public var description: String { switch self { case .temporary(let s), .permanent(let s): s } }
    }

    /// One response: its text (literals left as `{n}` markers) and the literals' bytes, in order.
    struct Response: Sendable {
        var text: String
        var literals: [Data]
    }

    /// Splits the byte stream into responses, reading `{n}` literals whole (they hold raw messages, CRLFs and all).
    final class ResponseDecoder: ByteToMessageDecoder, @unchecked Sendable {
        typealias InboundOut = Response
        var text: [UInt8] = []
        var literals: [Data] = []

        func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            let view = buffer.readableBytesView
            guard let newline = view.firstIndex(of: 10) else {
                if buffer.readableBytes > 1024 * 1024 { throw Failure.permanent("a response line longer than 1 MB") }
                return .needMoreData
            }
            let lineLength = newline - buffer.readerIndex + 1
            var line = Array(view[view.startIndex..<newline])
            if line.last == 13 { line.removeLast() }
            if let count = Self.literalLength(line) {
                guard count <= 100 * 1024 * 1024 else { throw Failure.permanent("a literal of \(count) bytes") }
                guard buffer.readableBytes >= lineLength + count else { return .needMoreData }
                buffer.moveReaderIndex(forwardBy: lineLength)
                literals.append(Data(buffer.readBytes(length: count) ?? []))
                text += line
                return .continue
            }
            buffer.moveReaderIndex(forwardBy: lineLength)
            text += line
            context.fireChannelRead(wrapInboundOut(Response(text: String(decoding: text, as: UTF8.self), literals: literals)))
            text = []
            literals = []
            return .continue
        }

        /// `… {123}` or `… {123+}` at the end of a line.
        static func literalLength(_ line: [UInt8]) -> Int? {
            guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
            let digits = line[(open + 1)..<(line.count - 1)].filter { $0 != UInt8(ascii: "+") }
            guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int(String(decoding: digits, as: UTF8.self))
        }
    }

    let settings: Settings
    let group: any EventLoopGroup

    public init(settings: Settings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.settings = settings
        self.group = group
    }

    public func connect() async throws -> Session { try await Session.open(settings, group: group) }

    public final class Session: @unchecked Sendable {
        let channel: any Channel
        var iterator: AsyncThrowingStream<Response, any Error>.AsyncIterator
        let settings: Settings
        var tag = 0
        var capabilities: Set<String> = []

        init(channel: any Channel, stream: AsyncThrowingStream<Response, any Error>, settings: Settings) {
            self.channel = channel
            self.iterator = stream.makeAsyncIterator()
            self.settings = settings
        }

        static func open(_ settings: Settings, group: any EventLoopGroup) async throws -> Session {
            let (channel, stream) = try await MailConnection.open(
                host: settings.host, port: settings.port, tls: settings.security == .tls, caFile: settings.caFile,
                timeout: settings.timeout, group: group, network: settings.network, decoder: { ResponseDecoder() }, connectFailure: { Failure.temporary($0) })
            let session = Session(channel: channel, stream: stream, settings: settings)
            do {
                let greeting = try await session.next()
                guard greeting.text.hasPrefix("* OK") || greeting.text.hasPrefix("* PREAUTH") else {
                    throw Failure.temporary("the server did not greet: \(greeting.text.prefix(120))")
                }
                try await session.loadCapabilities()
                if settings.security == .starttls {
                    guard session.capabilities.contains("STARTTLS") else { throw Failure.permanent("the server does not offer STARTTLS") }
                    _ = try await session.command("STARTTLS")
                    let handler = try MailTLS.handler(try MailTLS.context(caFile: settings.caFile), host: settings.host)
                    try await channel.pipeline.addHandler(handler, position: .first).get()
                    try await session.loadCapabilities()
                }
                try await session.login()
            } catch {
                await session.close()
                if let failure = error as? Failure { throw failure }
                throw Failure.temporary("the connection to \(settings.host):\(settings.port) failed: \(error)")
            }
            return session
        }

        func next() async throws -> Response {
            let timeout = settings.timeout
            let result = try await withDeadline(timeout, failure: Failure.temporary("the server did not answer in \(timeout.nanoseconds / 1_000_000_000) s")) {
                [self] in try await self.iterator.next()
            }
            guard let result else { throw Failure.temporary("the server closed the connection") }
            return result
        }

        /// Sends a tagged command; returns the untagged responses before its OK. NO and BAD say the server's words.
        func command(_ text: String, shown: String? = nil, continuation: String? = nil) async throws -> [Response] {
            tag += 1
            let label = "a\(tag)"
            try await write("\(label) \(text)\r\n")
            var untagged: [Response] = []
            while true {
                let response = try await next()
                if response.text.hasPrefix("+") {
                    guard let continuation else { throw Failure.permanent("unexpected continuation for \(shown ?? text)") }
                    try await write(continuation + "\r\n")
                    continue
                }
                if response.text.hasPrefix(label + " ") {
                    let status = response.text.dropFirst(label.count + 1)
                    if status.hasPrefix("OK") { return untagged }
                    let why = "\(shown ?? text): \(status)"
                    throw status.hasPrefix("NO") && !status.contains("[UNAVAILABLE]") && !status.contains("[INUSE]") ? Failure.permanent(why) : Failure.temporary(why)
                }
                untagged.append(response)
            }
        }

        func write(_ text: String) async throws {
            var buffer = channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            try await channel.writeAndFlush(buffer).get()
        }

        func loadCapabilities() async throws {
            let responses = try await command("CAPABILITY")
            capabilities = Set(responses.filter { $0.text.hasPrefix("* CAPABILITY") }
                .flatMap { $0.text.dropFirst(13).split(separator: " ").map { $0.uppercased() } })
        }

        func login() async throws {
            let user = settings.username, password = settings.password
            if capabilities.contains("AUTH=PLAIN") {
                let token = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
                if capabilities.contains("SASL-IR") {
                    _ = try await command("AUTHENTICATE PLAIN \(token)", shown: "AUTHENTICATE PLAIN")
                } else {
                    _ = try await command("AUTHENTICATE PLAIN", continuation: token)
                }
            } else {
                _ = try await command("LOGIN \(Self.quoted(user)) \(Self.quoted(password))", shown: "LOGIN")
            }
        }

        static func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }

        /// The mailbox's UIDVALIDITY and message count.
        public func select() async throws -> (uidValidity: UInt32, exists: Int) {
            let responses = try await command("SELECT \(Self.quoted(settings.mailbox))")
            var validity: UInt32 = 0, exists = 0
            for r in responses {
                if let range = r.text.range(of: "[UIDVALIDITY ") { validity = UInt32(r.text[range.upperBound...].prefix { $0.isNumber }) ?? 0 }
                if r.text.hasSuffix(" EXISTS") { exists = Int(r.text.dropFirst(2).prefix { $0.isNumber }) ?? 0 }
            }
            return (validity, exists)
        }

        /// UIDs above `after`, ascending.
        public func uids(after: UInt32) async throws -> [UInt32] {
            let responses = try await command("UID SEARCH UID \(after + 1):*")
            return responses.filter { $0.text.hasPrefix("* SEARCH") }
                .flatMap { $0.text.dropFirst(8).split(separator: " ").compactMap { UInt32($0) } }
                .filter { $0 > after }.sorted()
        }

        /// Whole messages by UID, without marking them read.
        public func fetch(_ uids: [UInt32]) async throws -> [(uid: UInt32, message: Data)] {
            guard !uids.isEmpty else { return [] }
            let responses = try await command("UID FETCH \(uids.map(String.init).joined(separator: ",")) (UID BODY.PEEK[])")
            var result: [(UInt32, Data)] = []
            for r in responses where r.text.contains(" FETCH ") {
                guard let range = r.text.range(of: "UID "), let uid = UInt32(r.text[range.upperBound...].prefix { $0.isNumber }),
                      let body = r.literals.first else { continue }
                result.append((uid, body))
            }
            return result.sorted { $0.0 < $1.0 }
        }

        public func logout() async {
            _ = try? await command("LOGOUT")
            await close()
        }

        func close() async { try? await channel.close().get() }
    }
}
