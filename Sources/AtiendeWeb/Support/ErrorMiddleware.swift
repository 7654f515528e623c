import AtiendeCore
import FluentKit
import Vapor

/// Every failure leaves as `{"error": {"code", "message"}}` with a status that says whose fault it was.
/// 5xx are logged with their cause; their message says nothing internal.
struct APIErrorMiddleware: AsyncMiddleware {
    struct Body: Content {
        struct Detail: Content {
            var code: String
            var message: String
            /// What the message names (a field, a channel), for clients that write their own text; absent when nothing.
            var parameters: [String: String]?
        }
        var error: Detail
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch let redirect as PageRedirect {
            return request.redirect(to: redirect.to, redirectType: .normal)
        } catch {
            var (status, code, message) = Self.describe(error)
            let parameters = (error as? AtiendeError)?.parameters ?? [:]
            if status.code >= 500 {
                request.logger.error("request failed", metadata: ["path": "\(request.url.path)", "error": "\(String(reflecting: error))"])
            }
            if ErrorPages.wantsPage(request) {
                let t = await ErrorPages.language(request)
                let text = ErrorPages.message(code: code, fallback: message, parameters: parameters, t: t)
                return try await HTMLPage(html: ErrorPages.page(status: status, code: code, message: text, t: t), status: status)
                    .encodeResponse(for: request)
            }
            if request.headers.first(name: "X-Atiende-UI") != nil {
                message = ErrorPages.message(code: code, fallback: message, parameters: parameters, t: await ErrorPages.language(request))
            }
            let response = Response(status: status)
            try response.content.encode(Body(error: .init(code: code, message: message, parameters: parameters.isEmpty ? nil : parameters)), as: .json)
            if status == .unauthorized { response.headers.replaceOrAdd(name: .wwwAuthenticate, value: "Bearer") }
            return response
        }
    }

    static func describe(_ error: any Error) -> (HTTPResponseStatus, String, String) {
        switch error {
        case let error as AtiendeError:
            return (HTTPResponseStatus(statusCode: error.status), error.code, error.message)
        case let error as DecodingError:
            return (.badRequest, "invalid_body", Self.explain(error))
        case let error as any DatabaseError where error.isConstraintFailure:
            return (.conflict, "conflict", "this would duplicate an existing record")
        case let error as any AbortError:
            let code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            return (error.status, code, error.reason)
        default:
            return (.internalServerError, "internal_error", "something went wrong on our side; it has been logged")
        }
    }

    static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map(\.stringValue).joined(separator: ".")
            return joined.isEmpty ? "body" : "'\(joined)'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.map(\.stringValue) + [key.stringValue]
            return "'\(parent.joined(separator: "."))' is required"
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "\(path(context)) must not be null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "body is not valid JSON" : "\(path(context)) is invalid: \(context.debugDescription)"
        @unknown default: return "body could not be read"
        }
    }
}

extension Request {
    /// Decodes a JSON body with our conventions, answering 415 for other media types.
    func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        guard let contentType = headers.contentType, contentType.type == "application", contentType.subType == "json" else {
            throw AtiendeError(.unsupportedMediaType, code: "expected_json", "send the body as application/json")
        }
        guard let buffer = body.data else { throw AtiendeError.invalid("body is empty", code: "invalid_body") }
        // PostgreSQL cannot store a NUL character in text, and no person types one: refused before anything is decoded.
        if JSONText.containsNUL(buffer.readableBytesView) {
            throw AtiendeError.invalid("text may not contain the NUL character (\\u0000)", code: "invalid_text")
        }
        return try JSON.decoder.decode(T.self, from: Data(buffer.readableBytesView))
    }
}

enum JSONText {
    /// Whether a JSON text holds a NUL: a raw 0 byte, or the escape `\u0000` (not an escaped backslash followed by `u0000`).
    static func containsNUL<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var escaped = false
        var window: [UInt8] = []
        for byte in bytes {
            if byte == 0 { return true }
            if escaped {
                escaped = false
                window = byte == UInt8(ascii: "u") ? [byte] : []
                continue
            }
            if !window.isEmpty {
                window.append(byte)
                if window.count == 5 {
                    if window == Array("u0000".utf8) { return true }
                    window = []
                }
                continue
            }
            if byte == UInt8(ascii: "\\") { escaped = true }
        }
        return false
    }
}

/// A JSON response encoded with our conventions (snake_case keys, ISO-8601 dates).
func json(_ value: some Encodable, status: HTTPResponseStatus = .ok) throws -> Response {
    let response = Response(status: status)
    response.headers.contentType = .json
    response.body = .init(data: try JSON.encoder.encode(value))
    return response
}
