import AtiendeCore
import Fluent
import Vapor

/// Background work that gave up, so people can see why and try again.
enum JobsController {
    struct JobResponse: Encodable, Sendable {
        var id: UUID
        var kind: String
        var attempts: Int
        var lastError: String?
        var deadAt: Date?
        var createdAt: Date
        var payload: String

        enum CodingKeys: String, CodingKey {
            case id, kind, attempts, payload
            case lastError = "last_error", deadAt = "dead_at", createdAt = "created_at"
        }
    }

    static func failed(_ req: Request) async throws -> Response {
        let jobs = try await JobQueue.deadLetters(workspace: try req.scope.workspaceID, on: req.db)
        return try json(jobs.map {
            JobResponse(id: $0.id ?? UUID(), kind: $0.kind, attempts: $0.attempts, lastError: $0.lastError, deadAt: $0.deadAt,
                        createdAt: $0.createdAt, payload: $0.payload)
        })
    }

    /// Gives a dead job a fresh set of attempts.
    static func retry(_ req: Request) async throws -> Response {
        let scope = try req.scope
        try await JobQueue.retry(try req.uuidParameter("jobId", "job"), workspace: scope.workspaceID, actor: scope.userID, store: req.atiende.store)
        return Response(status: .accepted)
    }
}

enum AttachmentsController {
    /// Downloads never render in the browser as our origin: attachment disposition and nosniff.
    static func download(_ req: Request) async throws -> Response {
        let attachment = try await req.scope.find(Attachment.self, try req.uuidParameter("attachmentId", "attachment"), on: req.db)
        return try response(attachment, files: req.atiende.files)
    }

    static func response(_ attachment: Attachment, files: FileStore) throws -> Response {
        let data = try files.read(attachment.sha256)
        let response = Response(status: .ok, body: .init(data: data))
        response.headers.replaceOrAdd(name: .contentType, value: attachment.contentType)
        let ascii = attachment.filename.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" ? String($0) : "_" }.joined()
        let encoded = attachment.filename.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "attachment"
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)")
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: "default-src 'none'; sandbox")
        return response
    }
}

enum MeController {
    struct MeResponse: Encodable, Sendable {
        struct WorkspaceEntry: Encodable, Sendable {
            var id: UUID
            var name: String
            var slug: String
            var role: Role
        }
        var id: UUID
        var email: String
        var name: String
        var language: String
        var timeZone: String
        var workspaces: [WorkspaceEntry]
        enum CodingKeys: String, CodingKey { case id, email, name, language, workspaces, timeZone = "time_zone" }
    }

    static func show(_ req: Request) async throws -> Response {
        let caller = try req.caller
        guard let user = try await User.find(caller.userID, on: req.db) else { throw AtiendeError(.unauthorized, "authentication required") }
        let memberships = try await Membership.query(on: req.db).filter(\.$user.$id == caller.userID).with(\.$workspace).all()
        return try json(MeResponse(
            id: caller.userID, email: user.email, name: user.name, language: user.language, timeZone: user.timeZone,
            workspaces: memberships.map { .init(id: $0.$workspace.id, name: $0.workspace.name, slug: $0.workspace.slug, role: $0.role) }))
    }
}
