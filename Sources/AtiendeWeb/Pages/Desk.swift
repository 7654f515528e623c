import AtiendeChannels
import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// What every page of a workspace knows: who is signed in, where, in which language and time zone, the
/// sidebar (views with live counts, inboxes, teams, saved views) and the event id the page is current to.
struct Desk: Sendable {
    let signedIn: SignedIn
    let workspace: Workspace
    let workspaceID: UUID
    let role: Role
    /// The status the signed-in member chose (the top bar's selector).
    let availability: AgentStatus
    let workspaces: [(slug: String, name: String)]
    let t: Localizer
    let csrf: String
    let timeZone: TimeZone
    /// Events after this id are not in the page; the live connection starts here.
    let lastEventID: Int64
    let counts: InboxQuery.Counts
    let inboxes: [Inbox]
    let teams: [Team]
    let members: [(user: User, role: Role)]
    let savedViews: [SavedView]
    let unreadNotifications: Int
    /// Every channel this instance knows: badges, filters, what a conversation can be answered with.
    let channels: ChannelRegistry

    var slug: String { workspace.slug }
    var userID: UUID { signedIn.userID }
    var user: User { signedIn.user }

    var scope: Scope { Scope(workspaceID: workspaceID, userID: userID, role: role) }

    func memberName(_ id: UUID?) -> String? {
        guard let id else { return nil }
        return members.first { $0.user.id == id }?.user.name
    }

    var format: Formatting { Formatting(t: t, timeZone: timeZone) }

    /// A channel's badge, from its descriptor.
    func badge(_ channel: ChannelKind) -> Node<HTML.BodyContext> { ChannelBadge.node(channel, t: t, icon: channels.icon(channel)) }

}

/// What of the frame around a page (the sidebar's counts and saved views, the bell) a request reads.
struct DeskParts: OptionSet, Sendable {
    let rawValue: Int
    static let counts = DeskParts(rawValue: 1)
    static let savedViews = DeskParts(rawValue: 2)
    static let unread = DeskParts(rawValue: 4)
    static let all: DeskParts = [.counts, .savedViews, .unread]
}

extension Request {
    /// The live region a page's script asks for (`X-Live-Region`): the page answers that region alone, and reads only
    /// what it shows.
    var liveRegion: String? { headers.first(name: "X-Live-Region").flatMap { $0.count <= 40 ? $0 : nil } }

    /// The signed-in member's view of `:workspace` (a slug). Someone else's workspace reads as not found. A live region
    /// of the page's own content needs none of the frame (`parts`).
    func desk(minimum: Role = .agent, parts: DeskParts? = nil) async throws -> Desk {
        // The conversation's head offers the workspace's labels, from the counts.
        let parts = parts ?? (liveRegion == nil ? .all : liveRegion == "conversation-head" ? [.counts] : [])
        let signedIn = try await requireSignedIn()
        let t = Localizer(Localizer.Language(rawValue: signedIn.user.language) ?? .es)
        guard let slug = parameters.get("workspace"),
              let workspace = try await Workspace.query(on: db).filter(\.$slug == slug).first(),
              let workspaceID = workspace.id
        else { throw AtiendeError.notFound("workspace") }
        let memberships = try await Membership.query(on: db).filter(\.$user.$id == signedIn.userID).with(\.$workspace).all()
        guard let membership = memberships.first(where: { $0.$workspace.id == workspaceID }) else { throw AtiendeError.notFound("workspace") }
        guard membership.role >= minimum else {
            throw AtiendeError(.forbidden, code: "insufficient_role", "this needs the \(minimum.rawValue) role or higher")
        }
        // A workspace that requires a second factor is entered only with one: first, the account page to set it up.
        if workspace.requireTwoFactor == true, !signedIn.user.hasTwoFactor {
            throw PageRedirect(to: SiteURL.account.path(query: [("two_factor_for", workspace.slug)]) + "#two-factor")
        }
        let scope = Scope(workspaceID: workspaceID, userID: signedIn.userID, role: membership.role)
        // Read the event counter first: anything committed after it reaches the page through the live connection.
        let lastEventID = try await EventLog.lastID(workspace: workspaceID, on: atiende.store.sql)
        async let counts = parts.contains(.counts) ? atiende.inbox.counts(workspace: workspaceID, user: signedIn.userID) : InboxQuery.Counts()
        let inboxes = try await scope.query(Inbox.self, on: db).sort(\.$name).all()
        let teams = try await scope.query(Team.self, on: db).sort(\.$name).all()
        let members = try await scope.query(Membership.self, on: db).with(\.$user).all()
            .map { (user: $0.user, role: $0.role) }.sorted { $0.user.name < $1.user.name }
        let savedViews = parts.contains(.savedViews)
            ? try await scope.query(SavedView.self, on: db).filter(\.$userID == signedIn.userID).sort(\.$name).all() : []
        let unread = parts.contains(.unread)
            ? try await scope.query(AgentNotification.self, on: db).filter(\.$userID == signedIn.userID).filter(\.$readAt == nil).count() : 0
        if signedIn.session.workspaceID != workspaceID {
            try await atiende.accounts.rememberWorkspace(workspaceID, session: try signedIn.session.requireID())
        }
        return Desk(
            signedIn: signedIn, workspace: workspace, workspaceID: workspaceID, role: membership.role, availability: membership.availability,
            workspaces: memberships.map { (slug: $0.workspace.slug, name: $0.workspace.name) }.sorted { $0.name < $1.name },
            t: t, csrf: signedIn.session.csrfToken, timeZone: TimeZone(identifier: signedIn.user.timeZone) ?? .gmt,
            lastEventID: lastEventID, counts: try await counts, inboxes: inboxes, teams: teams, members: members, savedViews: savedViews,
            unreadNotifications: unread, channels: atiende.channels)
    }
}

/// Dates and durations as people read them, in their language and time zone.
struct Formatting {
    let t: Localizer
    let timeZone: TimeZone

    func dateTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: t.language == .es ? "es_CL" : "en_US")
        formatter.timeZone = timeZone
        formatter.dateStyle = .medium
        formatter.timeStyle = .short
        return formatter.string(from: date)
    }

    /// "5 min", "3 h", "2 d": how long ago, compactly.
    func elapsed(since date: Date, now: Date = Date()) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return t("time.now")
        case ..<3600: return t("time.minutes", seconds / 60)
        case ..<86_400: return t("time.hours", seconds / 3600)
        default: return t("time.days", seconds / 86_400)
        }
    }

    static func iso(_ date: Date) -> String { ISO8601.string(date) }
}
