import AtiendeCore
import AtiendeNetwork
import FluentKit
import Foundation
import NIOCore

/// The `compensation.webhook` job: a compensation given, POSTed to an API inbox's webhook, signed with that inbox's
/// secret, so the integrator's system applies the discount, credit or refund. Retried like every webhook.
public struct CompensationWebhookJob: JobHandler {
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
        var event: String
        var compensation: CompensationSnapshot
        var conversation: ConversationSnapshot
    }

    public func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(CompensationWebhookPayload.self)
        guard let compensation = try await Compensation.find(payload.compensationID, on: store.db),
              let inbox = try await Inbox.find(payload.inboxID, on: store.db), inbox.$workspace.id == compensation.$workspace.id,
              let conversation = try await Conversation.find(compensation.conversationID, on: store.db)
        else { return }
        guard let url = inbox.settings.webhookURL, !url.isEmpty else { return }
        guard let secret = try inbox.secrets(with: secrets)[APIChannel.secretKey] else {
            throw JobFailure.permanent("this API inbox has no signing secret")
        }
        let data = try JSON.encoder.encode(Body(event: "compensation.\(compensation.status.rawValue)", compensation: compensation.snapshot,
                                                conversation: conversation.snapshot))
        let response = try await SignedWebhook.post(data, to: url, secret: secret, idempotencyKey: job.id.uuidString, http: http,
                                                    clock: store.clock, timeout: timeout)
        guard (200..<300).contains(response.status.code) else {
            throw SignedWebhook.failure(response, body: try? await response.body.collect(upTo: 64 * 1024))
        }
    }
}
