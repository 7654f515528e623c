import AtiendeCore

/// Phone calls and walk-ins: agents log them by hand; nothing comes in or goes out through the channel itself.
public struct LoggedDescriptor: ChannelDescriptor {
    public let kind: ChannelKind

    public init(_ kind: ChannelKind) { self.kind = kind }

    public var icon: ChannelIcon {
        kind == .phone
            ? ChannelIcon(path: "M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z", color: "#0f766e")
            : ChannelIcon(path: "M3 9l2-5h14l2 5M3 9h18M4 9v11h16V9M9 20v-6h6v6", color: "#92400e")
    }
    public var fields: [ChannelField] { [] }
    public var sender: (any ChannelSender)? { nil }
}
