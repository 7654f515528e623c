import AtiendeCore

/// Phone calls and walk-ins: agents log them by hand; nothing comes in or goes out through the channel itself.
public struct LoggedDescriptor: ChannelDescriptor {
    public let kind: ChannelKind

    public init(_ kind: ChannelKind) { self.kind = kind }

    public var icon: String { kind == .phone ? "📞" : "🏬" }
    public var fields: [ChannelField] { [] }
    public var sender: (any ChannelSender)? { nil }
}
