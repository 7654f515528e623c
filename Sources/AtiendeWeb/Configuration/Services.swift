import AtiendeChannels
import AtiendeCore
import Vapor

/// The wired services of a running instance, built once in `configure`.
public struct AtiendeServices: Sendable {
    public let config: AppConfig
    public let store: Store
    public let ingest: Ingest
    /// Mail in, from the receiver, the poller and the HTTP endpoint alike.
    public let email: EmailIntake
    public let conversations: ConversationService
    public let contacts: ContactService
    public let files: FileStore
    public let secrets: SecretBox
    public let jobs: JobRunner
    public let hub: EventHub
    public let inboxes: InboxLookup
    public let accounts: AccountService
    public let teams: TeamService
    public let canned: CannedResponseService
    public let macros: MacroService
    /// Members' availability and the routing it sets off.
    public let availability: AvailabilityService
    public let automation: AutomationService
    public let followUps: FollowUpService
    public let surveys: SurveyService
    public let atRisk: AtRiskService
    public let compensations: CompensationService
    public let inboxService: InboxService
    public let policies: ServiceLevelPolicyService
    public let search: SearchService
    public let inbox: InboxQuery
    public let presence: PresenceHub
    /// Provider APIs and their files, through the outbound guard (an import's attachments too).
    public let providers: ProviderHTTP
    /// Imports from other help desks started from the admin pages (and the importer the command uses).
    public let imports: ImportRuns
    /// What this instance shares with the others on the same PostgreSQL (presence, signals).
    let cluster: Cluster
    /// Every channel this instance knows, by its descriptor.
    public let channels: ChannelRegistry
    let signIns: SignInThrottle
    /// Contact-form submissions per address and per email (10 minutes).
    let contactForms: RateLimiter
    /// Password reset requests per address and per email (an hour).
    let passwordResets: RateLimiter
    /// Live chat: the visitors' sockets, their messages per minute, their sessions per minute.
    let visitors: VisitorHub
    let widgetMessages: RateLimiter
    let widgetSessions: RateLimiter
    /// Frames per visitor socket (typing and read receipts included), over 10 seconds.
    let widgetFrames = RateLimiter(window: 10)
}

extension AtiendeServices {
    /// An inbox changed: this instance's cached copy goes now, the other instances' when they hear of it.
    func inboxChanged(_ id: UUID) {
        inboxes.invalidate(id)
        cluster.publish(.inboxChanged(id))
    }
}

extension Application {
    private struct ServicesKey: StorageKey { typealias Value = AtiendeServices }

    public var atiende: AtiendeServices {
        get {
            guard let services = storage[ServicesKey.self] else { fatalError("configure(_:) has not run") }
            return services
        }
        set { storage[ServicesKey.self] = newValue }
    }
}

extension Request {
    public var atiende: AtiendeServices { application.atiende }
}
