import AtiendeChannels
import AtiendeCore
import Foundation
import Vapor

/// Every page of the agent workspace. Routes are registered from these cases and links are built from them,
/// so a renamed path cannot leave a dead link behind.
enum SiteURL: Equatable {
    enum Settings: String, CaseIterable { case inboxes, users, teams, workspace, service, rules }

    case home, login, logout, setup, account, password, invitation(String), switchWorkspace
    /// The person's sessions (all but this one ended) and API tokens (made); one session ended, one token revoked.
    case endOtherSessions, endSession(UUID), accountTokens, revokeToken(UUID)
    /// A password forgotten: asked for by email, then chosen again through the mailed link's token.
    case forgotPassword, resetPassword(String)
    /// Two-factor sign-in: the code after the password; set up, confirmed, new recovery codes, turned off.
    case signInCode, twoFactor, twoFactorConfirm, twoFactorRecovery, twoFactorOff
    case inbox(String)
    case conversation(String, Int)
    case contacts(String)
    case canned(String)
    case availability(String)
    case macros(String)
    case reports(String)
    case atRisk(String)
    case contact(String, UUID)
    case logContact(String, UUID)
    /// Everything held about a contact as a ZIP; their erasure (what will go, then the confirmed erase).
    case contactExport(String, UUID), contactErase(String, UUID)
    case search(String)
    case notifications(String)
    /// A live region of every page's frame (`sidebar`, `bell`).
    case region(String, String)
    case savedViews(String)
    case deleteSavedView(String, UUID)
    case settings(String, Settings)
    /// The admin's audit log (its CSV with `format=csv`).
    case auditLog(String)
    case imports(String)
    case asset(String)
    /// The public contact form of a workspace (web form channel).
    case helpContact(String)
    /// An email shown from its kept original (an `original.eml` attachment).
    case mailView(String, UUID)
    /// A survey answered from its email's links, without signing in: the token, and the score clicked.
    case survey(String)
    case surveyScore(String, Int)

    private enum Segment { case fixed(String), parameter(String, String) }

    private var segments: [Segment] {
        switch self {
        case .home: []
        case .login: [.fixed("login")]
        case .logout: [.fixed("logout")]
        case .setup: [.fixed("setup")]
        case .account: [.fixed("account")]
        case .password: [.fixed("account"), .fixed("password")]
        case .signInCode: [.fixed("login"), .fixed("code")]
        case .twoFactor: [.fixed("account"), .fixed("two-factor")]
        case .twoFactorConfirm: [.fixed("account"), .fixed("two-factor"), .fixed("confirm")]
        case .twoFactorRecovery: [.fixed("account"), .fixed("two-factor"), .fixed("recovery")]
        case .twoFactorOff: [.fixed("account"), .fixed("two-factor"), .fixed("off")]
        case .forgotPassword: [.fixed("password"), .fixed("forgot")]
        case .resetPassword(let token): [.fixed("password"), .fixed("reset"), .parameter("token", token)]
        case .endOtherSessions: [.fixed("account"), .fixed("sessions"), .fixed("end-others")]
        case .endSession(let id): [.fixed("account"), .fixed("sessions"), .parameter("sessionId", id.uuidString.lowercased()), .fixed("end")]
        case .accountTokens: [.fixed("account"), .fixed("tokens")]
        case .revokeToken(let id): [.fixed("account"), .fixed("tokens"), .parameter("tokenId", id.uuidString.lowercased()), .fixed("revoke")]
        case .invitation(let token): [.fixed("invitations"), .parameter("token", token)]
        case .switchWorkspace: [.fixed("switch")]
        case .inbox(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("inbox")]
        case .conversation(let ws, let number): [.fixed("app"), .parameter("workspace", ws), .fixed("conversations"), .parameter("number", String(number))]
        case .contacts(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("contacts")]
        case .canned(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("canned")]
        case .availability(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("availability")]
        case .macros(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("macros")]
        case .reports(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("reports")]
        case .atRisk(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("at-risk")]
        case .contact(let ws, let id): [.fixed("app"), .parameter("workspace", ws), .fixed("contacts"), .parameter("contactId", id.uuidString.lowercased())]
        case .logContact(let ws, let id): [.fixed("app"), .parameter("workspace", ws), .fixed("contacts"), .parameter("contactId", id.uuidString.lowercased()), .fixed("log")]
        case .contactExport(let ws, let id): [.fixed("app"), .parameter("workspace", ws), .fixed("contacts"), .parameter("contactId", id.uuidString.lowercased()), .fixed("export")]
        case .contactErase(let ws, let id): [.fixed("app"), .parameter("workspace", ws), .fixed("contacts"), .parameter("contactId", id.uuidString.lowercased()), .fixed("erase")]
        case .search(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("search")]
        case .notifications(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("notifications")]
        case .region(let ws, let name): [.fixed("app"), .parameter("workspace", ws), .fixed("regions"), .parameter("region", name)]
        case .savedViews(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("views")]
        case .deleteSavedView(let ws, let id): [.fixed("app"), .parameter("workspace", ws), .fixed("views"), .parameter("viewId", id.uuidString.lowercased()), .fixed("delete")]
        case .settings(let ws, let section): [.fixed("app"), .parameter("workspace", ws), .fixed("settings"), .fixed(section.rawValue)]
        case .auditLog(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("settings"), .fixed("audit")]
        case .imports(let ws): [.fixed("app"), .parameter("workspace", ws), .fixed("settings"), .fixed("import")]
        case .asset(let name): [.fixed("assets"), .parameter("file", name)]
        case .helpContact(let ws): [.fixed("help"), .parameter("workspace", ws), .fixed("contact")]
        case .survey(let token): [.fixed("survey"), .parameter("token", token)]
        case .surveyScore(let token, let score): [.fixed("survey"), .parameter("token", token), .parameter("score", String(score))]
        case .mailView(let ws, let id): [.fixed("app"), .parameter("workspace", ws), .fixed("mail"), .parameter("attachmentId", id.uuidString.lowercased())]
        }
    }

    var path: String {
        "/" + segments.map { segment -> String in
            switch segment {
            case .fixed(let part): part
            case .parameter(_, let value): value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? value
            }
        }.joined(separator: "/")
    }

    func path(query: [(String, String)]) -> String {
        let items = query.filter { !$0.1.isEmpty }
        guard !items.isEmpty else { return path }
        var components = URLComponents()
        components.queryItems = items.map { URLQueryItem(name: $0.0, value: $0.1) }
        return path + "?" + (components.percentEncodedQuery ?? "")
    }

    /// The route pattern: parameter values are ignored, their names become `:name`.
    var route: [PathComponent] {
        segments.map { segment in
            switch segment {
            case .fixed(let part): .constant(part)
            case .parameter(let name, _): .parameter(name)
            }
        }
    }
}

extension Request {
    /// The absolute base of every URL we show to be pasted elsewhere (the live chat tag, webhook and inbound URLs, the
    /// contact form, invitation links): `ATIENDE_PUBLIC_URL`, else how this browser reached us — a trusted proxy's
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` believed, anyone else's ignored.
    var publicBase: String {
        if let configured = atiende.config.publicURL { return configured.trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
        var scheme = "http"
        var host = headers.first(name: .host) ?? "localhost"
        if atiende.config.trustedProxies.contains(remoteAddress?.ipAddress) {
            if let proto = headers.first(name: "X-Forwarded-Proto")?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased(),
               ["http", "https"].contains(proto) { scheme = proto }
            if let forwarded = headers.first(name: "X-Forwarded-Host")?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces),
               !forwarded.isEmpty { host = forwarded }
        }
        // Only a host name and port: nothing the header could add reaches the page as markup or another path.
        let safe = host.prefix { $0.isLetter || $0.isNumber || ".-:[]".contains($0) }
        return "\(scheme)://\(safe.isEmpty ? "localhost" : safe)"
    }

    /// The address the person connected from: a trusted proxy's `X-Forwarded-For` (the last address it added), else
    /// the connection's.
    var clientAddress: String? {
        let direct = remoteAddress?.ipAddress
        guard atiende.config.trustedProxies.contains(direct),
              let forwarded = headers[.xForwardedFor].last?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
              !forwarded.isEmpty, forwarded.allSatisfy({ $0.isHexDigit || ".:".contains($0) }) else { return direct }
        return forwarded
    }

    /// Whether `publicBase` was worked out from this request (no `ATIENDE_PUBLIC_URL`).
    var publicBaseIsGuessed: Bool { atiende.config.publicURL == nil }

    /// How an inbox's addresses are shown to be pasted elsewhere: from the public URL, else this request's own.
    func channelSite(_ inbox: Inbox, slug: String) -> ChannelSite {
        ChannelSite(publicURL: publicBase, workspaceSlug: slug, webhookURL: WebhooksController.url(inbox, publicURL: publicBase))
    }

    /// What a provider is told to call, only when the instance knows its public address.
    func configuredSite(_ inbox: Inbox, slug: String) -> ChannelSite? {
        guard let configured = atiende.config.publicURL?.trimmingCharacters(in: CharacterSet(charactersIn: "/")) else { return nil }
        return ChannelSite(publicURL: configured, workspaceSlug: slug, webhookURL: WebhooksController.url(inbox, publicURL: configured))
    }
}
