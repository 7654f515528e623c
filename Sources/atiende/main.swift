import AtiendeWeb
import Logging
import Vapor

var environment = try Environment.detect()
try LoggingSystem.bootstrap(from: &environment) { level in
    { label in StructuredLogHandler.make(label: label, level: level) }
}
let app = try await Application.make(environment)
do {
    let config = try AppConfig.fromEnvironment()
    try await configure(app, config: config)
    AtiendeCommands.register(app)
    let command = environment.arguments.dropFirst().first
    if command == nil || command == "serve" {
        // Every instance brings the schema up to date before it answers.
        try await SchemaMigration.run(app)
        useBackgroundWork(app)
    }
    try await app.execute()
} catch {
    app.logger.critical("\(error)")
    try? await app.asyncShutdown()
    exit(1)
}
try await app.asyncShutdown()
