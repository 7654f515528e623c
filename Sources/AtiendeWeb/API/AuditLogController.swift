import AtiendeCore
import Fluent
import Vapor

/// `GET …/audit-log`: the audit log for admins, newest first, with the page's filters (`AuditQuery`) and `limit`; each
/// entry is its event with the actor's name, and `next_before` asks for the page after.
enum AuditLogController {
    static func list(_ req: Request) async throws -> Response {
        let scope = try req.scope
        guard let workspace = try await Workspace.find(scope.workspaceID, on: req.db) else { throw AtiendeError.notFound("workspace") }
        let query = try AuditQuery.parse({ req.query[String.self, at: $0] }, timeZone: TimeZone(identifier: workspace.timeZone) ?? .gmt)
        let limit = try req.pageLimit(default: 100)
        let found = try await AuditLog.entries(workspace: scope.workspaceID, filter: query.filter, before: query.before, limit: limit + 1, on: req.db)
        let events = found.prefix(limit)
        let actors = Set(events.compactMap(\.actorID))
        let names = Dictionary(try await User.query(on: req.db).filter(\.$id ~~ actors).all().map { ($0.id!, $0.name) }, uniquingKeysWith: { a, _ in a })
        let entries = try events.map { event -> String in
            let name = try event.actorID.flatMap { names[$0] }.map { String(decoding: try JSON.encoder.encode($0), as: UTF8.self) } ?? "null"
            return String(EventWire.json(event, personal: true).dropLast()) + ",\"actor_name\":\(name)}"
        }
        let next = found.count > limit ? events.last.map { String($0.seq) } ?? "null" : "null"
        let response = Response(status: .ok, body: .init(string: "{\"data\":[" + entries.joined(separator: ",") + "],\"next_before\":\(next)}"))
        response.headers.contentType = .json
        return response
    }
}
