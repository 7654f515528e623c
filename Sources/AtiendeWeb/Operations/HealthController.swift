import AtiendeCore
import Fluent
import Prometheus
import SQLKit
import Vapor

enum HealthController {
    static func live(_ req: Request) async throws -> Response {
        try json(["status": "ok"])
    }

    /// Ready when the database answers.
    static func ready(_ req: Request) async throws -> Response {
        do {
            _ = try await req.atiende.store.sql.raw("SELECT 1 AS ok").first()
            return try json(["status": "ok", "database": req.atiende.store.dialect.rawValue])
        } catch {
            req.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            return try json(["status": "unavailable", "database": req.atiende.store.dialect.rawValue], status: .serviceUnavailable)
        }
    }

    static func metrics(_ req: Request) async throws -> Response {
        let response = Response(status: .ok, body: .init(string: AtiendeMetrics.registry.emitToString()))
        response.headers.replaceOrAdd(name: .contentType, value: "text/plain; version=0.0.4; charset=utf-8")
        return response
    }
}
