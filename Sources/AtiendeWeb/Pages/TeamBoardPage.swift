import AtiendeCore
import Foundation
import Plot
import Vapor

/// `/app/{ws}/availability`: who is available now and how loaded they are — each member's status as routing sees it
/// (and what they chose, when it differs), open conversations per channel against their capacity, their languages.
/// A live region: it follows status changes and assignments. Supervisors and admins see it; admins change capacities.
enum TeamBoardPage {
    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk(minimum: .supervisor, parts: req.liveRegion == "team-board" ? [] : nil)
        let entries = try await req.atiende.availability.board(workspace: desk.workspaceID)
        if req.liveRegion == "team-board" { return LiveRegion.fragment(board(desk, entries, channels: req.atiende.channels.kinds)) }
        if let region = req.liveRegion { throw LiveRegion.unknown(region) }
        let t = desk.t
        return HTMLPage(html: Layout.desk(desk, title: t("board.title"), page: "board", .div(.class("settings board"),
            .h1(.text(t("board.title"))),
            .p(.class("hint"), .text(t("board.hint"))),
            board(desk, entries, channels: req.atiende.channels.kinds))))
    }

    static func board(_ desk: Desk, _ entries: [AvailabilityService.Entry], channels: [ChannelKind]) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .div(.id("team-board"), .data("live", "team-board"),
            .table(.class("grid"),
                .thead(.tr(.th(.text(t("board.member"))), .th(.text(t("board.status"))), .th(.text(t("board.open"))),
                           .th(.text(t("board.languages"))), .th())),
                .tbody(.forEach(entries) { entry in
                    let routing = entry.member.routing
                    let open = entry.open.sorted { $0.key < $1.key }.map { channel, count in
                        let capacity = routing.capacity(for: channel).map { "/\($0)" } ?? ""
                        return "\(t("channel.\(channel.rawValue)")) \(count)\(capacity)"
                    }
                    return .tr(.data("user", entry.member.$user.id.uuidString.lowercased()),
                        .td(Avatar.node(entry.member.user.name, customer: false), .text(" " + entry.member.user.name)),
                        .td(.class("availability"), .span(.class("dot \(entry.status.rawValue)"), .aria("hidden", "true")),
                            .text(" " + t("availability.\(entry.status.rawValue)")),
                            .if(entry.status != entry.member.availability,
                                .span(.class("hint"), .text(" · " + t("board.chose", t("availability.\(entry.member.availability.rawValue)")))))),
                        .td(.text(open.isEmpty ? t("board.none") : open.joined(separator: " · "))),
                        .td(.text(routing.languages.isEmpty ? t("board.any_language") : routing.languages.joined(separator: ", "))),
                        .td(.if(desk.role >= .admin, edit(desk, entry, channels: channels))))
                })))
    }

    /// An admin sets what a member takes: a capacity per channel (empty: no limit) and the languages they answer in.
    static func edit(_ desk: Desk, _ entry: AvailabilityService.Entry, channels: [ChannelKind]) -> Node<HTML.BodyContext> {
        let t = desk.t
        let routing = entry.member.routing
        let api = SettingsPages.apiBase(desk) + "/users/\(entry.member.$user.id.uuidString.lowercased())/routing"
        return .element(named: "details", nodes: [.class("edit-routing"),
            .element(named: "summary", nodes: [.text(t("board.edit"))]),
            .form(.class("stack"), .data("api", api), .data("method", "PUT"), .data("then", "reload"),
                  .p(.class("hint"), .text(t("board.capacity_hint"))),
                  .div(.class("capacity"), .forEach(["*"] + channels.map(\.rawValue)) { channel in
                      .label(.span(.text(channel == "*" ? t("board.any_channel") : t("channel.\(channel)"))),
                             .field(.type(.number), .name("capacity.\(channel)"), .data("type", "number-omit-empty"),
                                    .attribute(named: "min", value: "0"), .attribute(named: "max", value: "1000"),
                                    .value(routing.capacity[channel].map(String.init) ?? "")))
                  }),
                  .label(.span(.text(t("board.languages"))),
                         .field(.type(.text), .name("languages"), .data("type", "list"), .value(routing.languages.joined(separator: ", ")),
                                .placeholder("es, en"))),
                  .button(.type(.submit), .class("primary"), .text(t("common.save"))),
                  SettingsPages.formError())])
    }
}
