import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// Load generator for the ingest path: signed API-channel posts over HTTP at a fixed concurrency.
/// Prints durable messages/s (every 200 is a committed message) and latency percentiles.
///
///   atiende-bench --url http://127.0.0.1:8080 --inbox ID --secret whsec_… [--count 20000] [--concurrency 64] [--senders 1000]
struct Options {
    var url = "http://127.0.0.1:8080"
    var inbox = ""
    var secret = ""
    var count = 20_000
    var concurrency = 64
    var senders = 1_000
    var warmup = 500

    init(_ arguments: [String]) {
        var it = arguments.dropFirst().makeIterator()
        while let flag = it.next() {
            let value = it.next() ?? ""
            switch flag {
            case "--url": url = value
            case "--inbox": inbox = value
            case "--secret": secret = value
            case "--count": count = Int(value) ?? count
            case "--concurrency": concurrency = Int(value) ?? concurrency
            case "--senders": senders = Int(value) ?? senders
            case "--warmup": warmup = Int(value) ?? warmup
            default: FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8)); exit(2)
            }
        }
        guard !inbox.isEmpty, !secret.isEmpty else {
            FileHandle.standardError.write(Data("--inbox and --secret are required\n".utf8)); exit(2)
        }
    }
}

actor Counter {
    private var next = 0
    private let limit: Int
    init(limit: Int) { self.limit = limit }
    func take() -> Int? {
        guard next < limit else { return nil }
        defer { next += 1 }
        return next
    }
}

let hexDigits = Array("0123456789abcdef".utf8)

/// Lower-case hex without Foundation formatting (the load generator shares the machine's two cores).
func hex(_ bytes: [UInt8]) -> String {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

func post(_ client: HTTPClient, _ options: Options, run: String, index: Int) async -> (ok: Bool, nanos: UInt64) {
    let body = """
        {"message_id":"\(run)-\(index)","from":{"id":"bench-\(index % options.senders)","name":"Cliente \(index % options.senders)"},\
        "text":"Hola, consulta número \(index) sobre mi pedido","sent_at":"2026-11-23T12:00:00Z"}
        """
    let data = Data(body.utf8)
    let timestamp = String(Int(Date().timeIntervalSince1970))
    var mac = HMAC<SHA256>(key: SymmetricKey(data: Data(options.secret.utf8)))
    mac.update(data: Data("\(timestamp).".utf8))
    mac.update(data: data)
    let signature = "sha256=" + hex(Array(mac.finalize()))
    var request = HTTPClientRequest(url: "\(options.url)/api/v1/channels/api/\(options.inbox)/messages")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.headers.add(name: "X-Atiende-Timestamp", value: timestamp)
    request.headers.add(name: "X-Atiende-Signature", value: signature)
    request.body = .bytes(ByteBuffer(bytes: data))
    let start = DispatchTime.now().uptimeNanoseconds
    do {
        let response = try await client.execute(request, timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code == 200, DispatchTime.now().uptimeNanoseconds - start)
    } catch {
        return (false, DispatchTime.now().uptimeNanoseconds - start)
    }
}

func runPhase(_ client: HTTPClient, _ options: Options, run: String, count: Int) async -> (latencies: [UInt64], failures: Int, seconds: Double) {
    let counter = Counter(limit: count)
    let started = DispatchTime.now().uptimeNanoseconds
    let results = await withTaskGroup(of: ([UInt64], Int).self) { group in
        for _ in 0..<options.concurrency {
            group.addTask {
                var latencies: [UInt64] = []
                var failures = 0
                while let index = await counter.take() {
                    let (ok, nanos) = await post(client, options, run: run, index: index)
                    if ok { latencies.append(nanos) } else { failures += 1 }
                }
                return (latencies, failures)
            }
        }
        var all: [UInt64] = []
        var failures = 0
        for await (latencies, failed) in group {
            all += latencies
            failures += failed
        }
        return (all, failures)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    return (results.0, results.1, seconds)
}

let options = Options(CommandLine.arguments)
var configuration = HTTPClient.Configuration()
configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.concurrency)
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
let run = UUID().uuidString.prefix(8)
_ = await runPhase(client, options, run: "warm-\(run)", count: options.warmup)
let (latencies, failures, seconds) = await runPhase(client, options, run: "run-\(run)", count: options.count)
try await client.shutdown()

let sorted = latencies.sorted()
func percentile(_ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
}
print("messages:     \(sorted.count) acknowledged, \(failures) failed")
print("concurrency:  \(options.concurrency), senders: \(options.senders)")
print(String(format: "throughput:   %.0f messages/s", Double(sorted.count) / seconds))
print(String(format: "latency:      p50 %.2f ms, p99 %.2f ms, max %.2f ms", percentile(0.50), percentile(0.99), percentile(1.0)))
exit(failures == 0 ? 0 : 1)
