import AsyncHTTPClient
import AtiendeCore
import AtiendeNetwork
import FluentKit
import Foundation
import NIOCore
import NIOFoundationCompat

/// An automation rule's webhook: the conversation as it is now, posted to the rule's URL through the outbound guard,
/// signed like every webhook Atiende sends (`X-Atiende-Signature` over `<timestamp>.<body>` with the rule's secret),
/// retried with back-off when the receiver is down.
public struct RuleWebhookJob: JobHandler {
    let store: Store
    let secrets: SecretBox
    let http: GuardedHTTP
    let timeout: TimeAmount

    public init(store: Store, secrets: SecretBox, http: GuardedHTTP, timeout: TimeAmount = .seconds(15)) {
        self.store = store
        self.secrets = secrets
        self.http = http
        self.timeout = timeout
    }

    struct Body: Encodable {
        struct Rule: Encodable { var id: UUID; var name: String }
        var event = "automation.rule"
        var rule: Rule
        var trigger: RuleTrigger
        var conversation: ConversationSnapshot
    }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(RuleWebhookPayload.self)
        guard let rule = try await AutomationRule.find(payload.ruleID, on: store.db),
              let conversation = try await Conversation.find(payload.conversationID, on: store.db) else { return }
        guard let sealed = rule.sealedSecret, let secret = try secrets.open(sealed)["secret"] else {
            throw JobFailure.permanent("the rule has no signing secret")
        }
        let data = try JSON.encoder.encode(Body(rule: .init(id: payload.ruleID, name: rule.name), trigger: payload.trigger,
                                                conversation: conversation.snapshot))
        let timestamp = String(Int(store.clock.now().timeIntervalSince1970))
        var request = HTTPClientRequest(url: payload.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Atiende-Webhook/1")
        request.headers.add(name: APIChannel.timestampHeader, value: timestamp)
        request.headers.add(name: APIChannel.signatureHeader, value: WebhookSignature.sign(secret: secret, timestamp: timestamp, body: data))
        request.headers.add(name: "Idempotency-Key", value: job.id.uuidString)
        request.body = .bytes(ByteBuffer(bytes: data))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch let refused as OutboundGuard.Refused {
            throw JobFailure.permanent("webhook refused: \(refused.description)", code: .unreachable)
        } catch let bad as GuardedHTTP.BadURL {
            throw JobFailure.permanent(bad.description, code: .unreachable)
        } catch {
            throw JobFailure.temporary(ProviderHTTP.reason(error), code: .unreachable)
        }
        switch response.status.code {
        case 200..<300: return
        case 408, 425, 429, 500..<600: throw JobFailure.temporary("webhook answered \(response.status.code)")
        default: throw JobFailure.permanent("webhook answered \(response.status.code)")
        }
    }

}
