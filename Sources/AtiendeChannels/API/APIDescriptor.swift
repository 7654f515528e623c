import AtiendeCore
import Foundation

/// The API channel: messages posted signed to its inbound URL, agent replies delivered to `webhook_url`, signed with
/// the secret shown once when the inbox is made.
public struct APIDescriptor: ChannelDescriptor {
    let webhook: APIWebhookSender

    public init(sender: APIWebhookSender) { self.webhook = sender }

    public var kind: ChannelKind { .api }
    public var icon: ChannelIcon { ChannelIcon(path: "M8 7l-5 5 5 5M16 7l5 5-5 5M14 4l-4 16", color: "#475569") }
    public var fields: [ChannelField] { [.webhookURL] }
    public var tokens: [GeneratedToken] { [GeneratedToken(APIChannel.secretKey, .secret, prefix: "whsec_", shownOnce: true)] }
    public var sender: (any ChannelSender)? { webhook }
    public var replyRules: ReplyRules { ReplyRules(reaches: [.external]) }

    public func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] {
        [ChannelAddress(.url, label: "inbox.inbound_url", site.publicURL + "/api/v1/channels/api/\((inbox.id ?? UUID()).uuidString.lowercased())/messages")]
    }
}
