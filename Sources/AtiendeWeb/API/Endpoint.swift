import AtiendeCore
import Vapor

/// One API operation: how it is reached, who may call it and what it exchanges. Routes are registered from
/// this table and the OpenAPI document is generated from it, so the two cannot drift apart.
struct Endpoint: Sendable {
    enum Security: Sendable, Equatable {
        /// No credentials (health, the spec itself).
        case none
        /// A bearer token; no workspace.
        case user
        /// A bearer token and a membership of `{workspaceId}` with at least this role.
        case member(Role)
        /// The API channel's HMAC signature.
        case channelSignature
    }

    let method: HTTPMethod
    /// OpenAPI-style path, e.g. `/api/v1/workspaces/{workspaceId}/conversations/{number}`.
    let path: String
    let operationID: String
    let summary: String
    let tag: String
    let security: Security
    var query: [String] = []
    var requestSchema: String? = nil
    var responseSchema: String? = nil
    var successStatus: Int = 200
    var maxBodyBytes: Int? = nil
    let handler: @Sendable (Request) async throws -> Response

    var pathComponents: [PathComponent] {
        path.split(separator: "/").map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .constant(String(part))
        }
    }

    var pathParameters: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }
}

extension RoutesBuilder {
    /// Registers an endpoint with its security applied before the handler runs.
    func register(_ endpoint: Endpoint) {
        let security = endpoint.security
        let handler = endpoint.handler
        let body: HTTPBodyStreamStrategy = endpoint.maxBodyBytes.map { .collect(maxSize: ByteCount(value: $0)) } ?? .collect
        on(endpoint.method, endpoint.pathComponents, body: body) { request async throws -> Response in
            switch security {
            case .none, .channelSignature:
                break
            case .user:
                _ = try await request.authenticate()
            case .member(let role):
                let caller = try await request.authenticate()
                _ = try await request.enterWorkspace(as: caller, minimum: role)
            }
            return try await handler(request)
        }
    }
}
