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
        let response = try await SignedWebhook.post(data, to: payload.url, secret: secret, idempotencyKey: job.id.uuidString, http: http,
                                                    clock: store.clock, timeout: timeout)
        guard (200..<300).contains(response.status.code) else {
            throw SignedWebhook.failure(response, body: try? await response.body.collect(upTo: 64 * 1024))
        }
    }
}
