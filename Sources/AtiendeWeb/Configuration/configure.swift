import AtiendeChannels
import AtiendeMail
import AtiendeCore
import AsyncHTTPClient
import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Vapor

/// Wires an application: database, migrations, services, middleware, routes, background work.
public func configure(_ app: Application, config: AppConfig, clock: any WallClock = SystemClock()) async throws {
    AtiendeMetrics.bootstrap()
    // The database, the attachments and the key are the owner's alone: files are created 0600, the data folder is 0700.
    umask(0o077)
    try? FileManager.default.createDirectory(at: config.dataDirectory, withIntermediateDirectories: true)
    try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: config.dataDirectory.path)
    // A connection that sends nothing (headers never finished, a silent socket) is cut; WebSockets ping well within it.
    app.http.server.configuration.idleTimeout = .seconds(Int64(config.idleTimeoutSeconds))
    let dialect: DatabaseDialect
    switch config.database {
    case .sqlite(let path):
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        // fluent-sqlite-driver opens one connection per event loop whatever it is told; the single writer holds
        // one while it commits, which is why hot reads (the webhook's inbox lookup) are cached (`InboxLookup`).
        app.databases.use(.sqlite(.file(path), connectionPoolTimeout: .seconds(30), sqlLogLevel: .trace), as: .sqlite)
        dialect = .sqlite
    case .postgres(let url):
        app.databases.use(try .postgres(url: url, maxConnectionsPerEventLoop: 6, connectionPoolTimeout: .seconds(30), sqlLogLevel: .trace), as: .psql)
        dialect = .postgres
    }
    app.migrations.add(AtiendeMigrations.all)

    ContentConfiguration.global.use(encoder: JSON.encoder, for: .json)
    ContentConfiguration.global.use(decoder: JSON.decoder, for: .json)
    app.routes.defaultMaxBodySize = ByteCount(value: 1024 * 1024)
    app.middleware = Middlewares()
    app.middleware.use(NoSniffMiddleware())
    app.middleware.use(RouteLoggingMiddleware(logLevel: .debug))
    app.middleware.use(WidgetCORSMiddleware())
    app.middleware.use(APIErrorMiddleware())
    app.middleware.use(NoNULInURLMiddleware())

    let logger = app.logger
    // Once the application has shut down, Fluent has no database to give (`app.db` would crash). Work that ends late —
    // a socket closing as the server stops — gets this one instead, whose pool is closed: its query fails, and is logged.
    let afterShutdown = app.db, databases = app.databases, group = app.eventLoopGroup
    let pageSizeLimit = app.fluent.pagination.pageSizeLimit
    let store = Store(dialect: dialect, clock: clock, logger: logger, mailsNotifications: config.systemMail != nil) {
        databases.database(logger: logger, on: group.any(), pageSizeLimit: pageSizeLimit) ?? afterShutdown
    }
    if dialect == .sqlite {
        // WAL (kept by the file) lets readers work while the single writer commits; the rest is set on each event loop's
        // connection (the writer sets it again on whichever connection a batch gets).
        try await store.sql.raw("PRAGMA journal_mode = WAL").run()
        for loop in group.makeIterator() {
            guard let sql = databases.database(logger: logger, on: loop, pageSizeLimit: pageSizeLimit) as? any SQLDatabase else { continue }
            for pragma in Store.sqliteConnectionPragmas { try await sql.raw(SQLQueryString(pragma)).run() }
        }
    }
    let files = FileStore(root: config.dataDirectory.appendingPathComponent("files", isDirectory: true), maxBytes: config.attachmentMaxBytes)
    guard let secrets = SecretBox(base64Key: config.secretKey) else {
        throw AppConfig.ConfigError(variable: "ATIENDE_SECRET_KEY", problem: "must be 32 bytes in base64")
    }
    let hub = EventHub()
    store.signals.onEvents { hub.notify($0) }
    let presence = PresenceHub(clock: { store.clock.now() })
    let visitors = VisitorHub(store: store, hub: hub, logger: logger, maxPerAddress: config.widgetSocketsPerAddress,
                              maxConnections: config.widgetSocketsTotal)
    let cluster = Cluster(store: store, logger: logger)
    presence.observe { workspace, number, typing, name in
        visitors.agentActivity(workspace: workspace, conversation: number, typing: typing, name: name)
        cluster.publish(.agentActivity(workspace: workspace, conversation: number, typing: typing, name: name))
    }
    presence.onWork { workspace, number, agent, from, to in
        Task {
            do { try await HandleTime.record(workspace: workspace, conversation: number, agent: agent, from: from, to: to, store: store) }
            catch { logger.warning("handle time not recorded", metadata: ["error": "\(error)", "conversation": "\(number)"]) }
        }
    }
    let inboxLookup = InboxLookup(store: store, secrets: secrets)
    cluster.onSignal { signal in
        switch signal {
        case .agentActivity(let workspace, let number, let typing, let name):
            visitors.agentActivity(workspace: workspace, conversation: number, typing: typing, name: name)
        case .visitorTyping(let workspace, let number): presence.visitorTyping(workspace: workspace, conversation: number)
        case .inboxChanged(let id): inboxLookup.invalidate(id)
        }
    }
    let outboundHTTP = GuardedHTTP(client: GuardedHTTP.makeClient(network: config.outbound), network: config.outbound)
    app.lifecycle.use(HTTPClientShutdown(client: outboundHTTP.client))
    let providers = ProviderHTTP(http: outboundHTTP, timeout: .seconds(Int64(config.webhookTimeoutSeconds)))
    // One line per channel, in the order the admin form offers them.
    let channels = ChannelRegistry([
        APIDescriptor(sender: APIWebhookSender(http: outboundHTTP, clock: clock, timeout: .seconds(Int64(config.webhookTimeoutSeconds)))),
        EmailDescriptor(network: config.outbound),
        // Replies written while the visitor is away also go to the email they left, when the instance can send mail.
        WebchatDescriptor(sender: WebchatSender(isOnline: { inbox, thread in
                                                    visitors.isOnline(inboxID: inbox, thread: thread) ? true : await cluster.visitorOnlineElsewhere(inbox: inbox, thread: thread)
                                                },
                                                awayMailer: config.systemMail.map { WebchatAwayMail(store: store, mail: $0) },
                                                awayAfter: TimeInterval(config.widgetAwayMailSeconds))),
        WhatsAppAdapter(http: providers),
        MessengerAdapter(http: providers, kind: .messenger),
        MessengerAdapter(http: providers, kind: .instagram),
        TelegramAdapter(http: providers),
        TwilioAdapter(http: providers),
        LoggedDescriptor(.phone),
        LoggedDescriptor(.inPerson),
        WebformDescriptor(),
    ] + config.extraChannels.map { $0(providers) })
    Translations.add(channels.all.map(\.translations))
    let senders = channels.senders
    let imports = ImportRuns(store: store, importer: Importer(store: store, files: files, fetch: { url in
        let file = try await providers.download(url, filename: "", contentType: nil)
        return (file.data, file.contentType)
    }),
                             folders: config.dataDirectory.appendingPathComponent("imports", isDirectory: true))
    var handlers: [JobKind: any JobHandler] = [
        JobKind.importRun: ImportRunJob(runs: imports),
        JobKind.send: SendMessageJob(store: store, secrets: secrets, files: files, senders: senders),
        JobKind.followUp: SendMessageJob(store: store, secrets: secrets, files: files, senders: senders, followingUp: true),
        JobKind.wakeSnoozed: WakeSnoozedJob(store: store),
        JobKind.autoReply: AutoReplyJob(store: store),
        JobKind.serviceLevelRetarget: RetargetJob(store: store),
        JobKind.serviceLevelNotice: DeferredNoticeJob(store: store),
        JobKind.surveySend: SurveySendJob(store: store, publicURL: config.publicURL),
        JobKind.compensationWebhook: CompensationWebhookJob(store: store, secrets: secrets, http: outboundHTTP,
                                                            timeout: .seconds(Int64(config.webhookTimeoutSeconds))),
        JobKind.ruleWebhook: RuleWebhookJob(store: store, secrets: secrets, http: outboundHTTP, timeout: .seconds(Int64(config.webhookTimeoutSeconds))),
    ]
    if let mail = config.systemMail {
        handlers[JobKind.notificationMail] = NotificationMailJob(store: store, mail: mail, publicURL: config.publicURL)
        handlers[JobKind.weeklyReport] = WeeklyReportMail(store: store, mail: mail, publicURL: config.publicURL)
        if let publicURL = config.publicURL {
            handlers[JobKind.passwordResetMail] = PasswordResetMail(store: store, mail: mail, publicURL: publicURL, secretKey: config.secretKey)
        } else {
            logger.warning("ATIENDE_PUBLIC_URL is not set: notification emails carry no links, and passwords cannot be reset by email")
        }
    }
    let jobs = JobRunner(
        store: store, handlers: handlers,
        options: .init(concurrency: config.jobConcurrency, backoffBase: config.jobBackoffSeconds),
        logger: logger)
    let ingest = Ingest(store: store, files: files)
    let conversations = ConversationService(store: store, files: files, replyRules: channels.replyRules)
    let router = Router(offlineAfter: TimeInterval(config.offlineAfterSeconds))
    store.reactions.register(RoutingReaction(router: router))
    let automation = AutomationReaction(router: router, conversations: conversations)
    store.reactions.register(automation)
    let sendable = Set(senders.keys)
    store.reactions.register(SurveyReaction(sendable: sendable))
    if config.recordMetrics { store.reactions.register(MetricsReaction()) }
    store.reactions.register(AtRiskReaction())
    app.atiende = AtiendeServices(
        config: config, store: store, ingest: ingest, email: EmailIntake(store: store, ingest: ingest), conversations: conversations,
        contacts: ContactService(store: store), files: files, secrets: secrets, jobs: jobs, hub: hub,
        inboxes: inboxLookup, accounts: AccountService(store: store),
        teams: TeamService(store: store), canned: CannedResponseService(store: store),
        macros: MacroService(store: store, conversations: conversations), availability: AvailabilityService(store: store, router: router),
        automation: AutomationService(store: store, reaction: automation),
        followUps: FollowUpService(store: store, conversations: conversations),
        surveys: SurveyService(store: store, sendable: sendable), atRisk: AtRiskService(store: store),
        compensations: CompensationService(store: store, conversations: conversations),
        inboxService: InboxService(store: store), policies: ServiceLevelPolicyService(store: store), search: SearchService(store: store),
        inbox: InboxQuery(store: store), presence: presence, providers: providers, imports: imports, cluster: cluster, channels: channels,
        // Limits a person could spread over several instances are counted where every instance sees them.
        signIns: SignInThrottle(sharedOn: store), contactForms: RateLimiter(window: 600, name: "form:", sharedOn: store),
        passwordResets: RateLimiter(window: 3600, name: "reset:", sharedOn: store),
        visitors: visitors, widgetMessages: RateLimiter(window: 60, name: "chat:", sharedOn: store),
        widgetSessions: RateLimiter(window: 60, name: "chat-session:", sharedOn: store))

    for endpoint in APIRoutes.endpoints(maxInboundBytes: config.maxBodyBytes) {
        app.routes.register(endpoint)
    }
    PageRoutes.register(on: app.routes)
    WidgetController.register(on: app.routes)
    WebhooksController.register(on: app.routes)
}

/// `X-Content-Type-Options: nosniff` on every response — pages, API, files, errors — so nothing is read as another type.
struct NoSniffMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        return response
    }
}

/// A NUL (`%00`) in a path or query is nothing a person typed, and PostgreSQL cannot compare text with it: every page and
/// operation refuses it (400) before its handler reads a parameter. Bodies are checked where they are decoded.
struct NoNULInURLMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if request.url.string.range(of: "%00", options: .caseInsensitive) != nil || request.url.string.contains("\0") {
            throw AtiendeError.invalid("the address contains the NUL character (%00)", code: "invalid_text")
        }
        return try await next.respond(to: request)
    }
}

/// Closes the outgoing HTTP client's connections when the application stops.
struct HTTPClientShutdown: LifecycleHandler {
    let client: HTTPClient
    func shutdownAsync(_ app: Application) async { try? await client.shutdown() }
}

/// Starts the job runner and realtime listener with the server (only `serve` wants them, not one-off commands).
public func useBackgroundWork(_ app: Application) {
    app.lifecycle.use(BackgroundWork(config: app.atiende.config))
}

/// Long-running work started with the server and stopped with it: the job runner and, on PostgreSQL,
/// the LISTEN connection that brings other instances' events.
struct BackgroundWork: LifecycleHandler {
    let config: AppConfig
    private let tasks = TaskBox()

    final class TaskBox: @unchecked Sendable {
        let lock = NSLock()
        var tasks: [Task<Void, Never>] = []
        func add(_ task: Task<Void, Never>) { lock.withLock { tasks.append(task) } }
        func cancelAll() -> [Task<Void, Never>] { lock.withLock { defer { tasks = [] }; tasks.forEach { $0.cancel() }; return tasks } }
    }

    func didBootAsync(_ app: Application) async throws {
        let services = app.atiende
        if config.runJobs {
            tasks.add(Task { await services.jobs.run() })
        }
        let scanner = ServiceLevelScanner(store: services.store)
        let logger = app.logger
        if config.runJobs {
            // The deadline scan, on one instance at a time: everything that fell due while no instance ran goes out on
            // the first pass of whichever takes the lease.
            let lease = TaskLease(name: "deadline-scan", owner: services.cluster.instanceID, duration: 3 * ServiceLevelScanner.interval)
            let store = services.store
            tasks.add(Task {
                await lease.run(every: ServiceLevelScanner.interval, store: store, { try await scanner.scan() },
                                onError: { logger.warning("deadline scan failed", metadata: ["error": "\($0)"]) })
            })
        }
        if config.runJobs {
            // The desk's timers, one instance at a time: routing's (no reply in time, chats of agents who left, waiting
            // conversations) and the time-based automation rules'.
            let routing = RoutingScanner(store: services.store, router: services.availability.router)
            let automation = services.automation
            let followUps = services.followUps
            let lease = TaskLease(name: "desk-timers", owner: services.cluster.instanceID, duration: 3 * RoutingScanner.interval)
            let store = services.store
            tasks.add(Task {
                await lease.run(every: RoutingScanner.interval, store: store, {
                    try await routing.scan()
                    try await automation.scanTimers()
                    try await followUps.scan()
                },
                                onError: { logger.warning("routing or rule timers failed", metadata: ["error": "\($0)"]) })
            })
        }
        if config.runJobs {
            // Reports' housekeeping, one instance at a time: hours that are over summed into the cubes long periods are
            // read from, the inbox counts' per-connection rows folded, and the weekly reports that are due (only with
            // outgoing mail).
            let lease = TaskLease(name: "reports", owner: services.cluster.instanceID, duration: 180)
            let store = services.store
            let mails = config.systemMail != nil
            tasks.add(Task {
                await lease.run(every: 60, store: store, {
                    _ = try await MetricCubes.pass(store: store)
                    _ = try await store.write { tx in try await InboxCounts.fold(on: tx.sql) }
                    if mails { try await WeeklyReports.scan(store: store) }
                }, onError: { logger.warning("metric compaction or weekly reports failed", metadata: ["error": "\($0)"]) })
            })
        }
        if config.runJobs {
            // Retention policies, one instance at a time, every hour.
            let retention = services.retention
            let lease = TaskLease(name: "retention", owner: services.cluster.instanceID, duration: 7200)
            let store = services.store
            tasks.add(Task {
                await lease.run(every: 3600, store: store, { _ = try await retention.sweep() },
                                onError: { logger.warning("the retention pass failed", metadata: ["error": "\($0)"]) })
            })
        }
        if let settings = config.backups {
            // Scheduled backups, one instance at a time; a lease as long as a large backup may take.
            let schedule = BackupSchedule(settings: settings, config: config, services: services, logger: logger)
            let lease = TaskLease(name: "backups", owner: services.cluster.instanceID, duration: 7200)
            let store = services.store
            tasks.add(Task {
                await lease.run(every: 60, store: store, { await schedule.pass() },
                                onError: { logger.warning("the backup schedule could not take its lease", metadata: ["error": "\($0)"]) })
            })
        }
        let cluster = services.cluster
        tasks.add(Task { await cluster.run() })
        if config.runJobs {
            let poller = MailboxPoller(services: services, interval: TimeInterval(config.imapPollSeconds), logger: logger)
            tasks.add(Task { await poller.run() })
        }
        if config.mailPort > 0 {
            let receiver = SMTPServer(host: config.mailHost, port: config.mailPort, hostname: "atiende", delegate: MailReceiver(services: services))
            tasks.add(Task {
                do {
                    try await receiver.run { port in logger.notice("receiving mail (SMTP and LMTP) on \(config.mailHost):\(port)") }
                } catch {
                    if !Task.isCancelled { logger.error("the mail receiver stopped", metadata: ["error": "\(error)"]) }
                }
            })
        }
        if case .postgres(let url) = config.database {
            let listener = PostgresListener.events(url: url, hub: services.hub, eventLoop: app.eventLoopGroup.any(), logger: app.logger)
            tasks.add(Task { await listener.run() })
            let cluster = services.cluster
            let signals = PostgresListener(url: url, channel: Cluster.channel, eventLoop: app.eventLoopGroup.any(), logger: app.logger,
                                           connected: {}, received: { cluster.received($0) })
            tasks.add(Task { await signals.run() })
        }
        if try await Workspace.query(on: services.store.db).count() == 0 {
            app.logger.notice("No workspace exists yet. Create the first one with: atiende setup --workspace \"My company\" --email you@example.com --password '<at least 10 characters>'")
        }
    }

    func shutdownAsync(_ app: Application) async {
        for task in tasks.cancelAll() { await task.value }
    }
}
