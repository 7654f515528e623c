import AtiendeCore
import Fluent
import Vapor

public enum AtiendeCommands {
    public static func register(_ app: Application) {
        app.asyncCommands.use(MigrateCommand(), as: "migrate")
        app.asyncCommands.use(SetupCommand(), as: "setup")
        app.asyncCommands.use(TokenCommand(), as: "token")
        app.asyncCommands.use(DemoCommand(), as: "demo")
        app.asyncCommands.use(ServiceLevelCommand(), as: "sla")
        app.asyncCommands.use(MetricsCommand(), as: "metrics")
        app.asyncCommands.use(MailCommand(), as: "mail")
        app.asyncCommands.use(BackupCommand(), as: "backup")
        app.asyncCommands.use(RestoreCommand(), as: "restore")
        app.asyncCommands.use(ImportCommand(), as: "import")
    }
}

struct MigrateCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Brings the database schema up to date." }

    func run(using context: CommandContext, signature: Signature) async throws {
        try await SchemaMigration.run(context.application)
        context.console.print("Schema is up to date.")
    }
}

struct SetupCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "workspace", help: "Name of the workspace (your business or brand)") var workspace: String?
        @Option(name: "email", help: "Email of the first admin") var email: String?
        @Option(name: "password", help: "Password of the first admin (10+ characters)") var password: String?
        @Option(name: "name", help: "Name of the first admin") var name: String?
        @Option(name: "language", help: "es or en (default es)") var language: String?
        @Option(name: "time-zone", help: "IANA time zone, e.g. America/Santiago (default UTC)") var timeZone: String?
    }
    var help: String { "Creates a workspace and its first admin." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let workspace = signature.workspace, let email = signature.email, let password = signature.password else {
            throw AtiendeError.invalid("usage: atiende setup --workspace NAME --email EMAIL --password PASSWORD")
        }
        try PasswordPolicy.check(password)
        let app = context.application
        try await SchemaMigration.run(app)
        let hasher = app.password
        let (created, user) = try await WorkspaceService.create(
            name: workspace, adminEmail: email, adminName: signature.name, passwordHash: { try hasher.hash(password) },
            language: signature.language ?? "es", timeZone: signature.timeZone ?? "UTC", store: app.atiende.store)
        context.console.print("Workspace \"\(created.name)\" created (id \(created.id?.uuidString.lowercased() ?? "")).")
        context.console.print("Admin: \(user.email). Create an API token with: atiende token create --email \(user.email)")
    }
}

struct TokenCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "create") var action: String
        @Option(name: "email", help: "Whose token") var email: String?
        @Option(name: "name", help: "A name to recognize the token by") var name: String?
        @Option(name: "days", help: "Days until it expires (default: until revoked)") var days: Int?
        @Flag(name: "read-only", help: "The token may only read (GET)") var readOnly: Bool
    }
    var help: String { "Creates a personal API token; prints it as the last line (it is shown only once)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "create", let raw = signature.email else {
            throw AtiendeError.invalid("usage: atiende token create --email EMAIL [--name NAME] [--days N] [--read-only]")
        }
        let app = context.application
        try await SchemaMigration.run(app)
        guard let email = IdentityNormalizer.email(raw),
              let user = try await User.query(on: app.atiende.store.db).filter(\.$email == email).first() else {
            throw AtiendeError.notFound("user \(raw)")
        }
        let (_, token) = try await app.atiende.accounts.issueToken(for: try user.requireID(), name: signature.name ?? "cli",
                                                                   days: signature.days, readOnly: signature.readOnly)
        context.console.print("Token for \(email) (shown only this once):")
        context.console.print(token)
    }
}
