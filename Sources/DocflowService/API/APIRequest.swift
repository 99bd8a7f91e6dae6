import DocflowCore
import Foundation

/// One call of the Workflows API, whatever carried it (AMQP request/reply or HTTP).
package struct APIRequest: Sendable {
    package var method: String
    /// The path without its query string, such as `/api/workflows/123`.
    package var path: String
    package var query: [String: String]
    package var body: JSONValue?
    /// Makes a mutating request idempotent for 24 hours.
    package var messageID: String?
    /// Who made the call, as its transport established.
    package var caller: Caller = .anonymous
    /// The caller's id for the request (`X-Request-Id`, the AMQP `correlation_id`), for the audit log.
    package var requestID: String?
    /// `http` or `amqp`.
    package var transport = "amqp"

    /// A query string in `path` (`/api/workflows/integrations?id=1`) is moved into `query`;
    /// entries of `query` win over it.
    package init(
        method: String, path: String, query: [String: String] = [:], body: JSONValue? = nil,
        messageID: String? = nil
    ) {
        self.method = method.uppercased()
        var query = query
        if let mark = path.firstIndex(of: "?") {
            let components = URLComponents(string: "/?" + path[path.index(after: mark)...])
            for item in components?.queryItems ?? [] where query[item.name] == nil {
                query[item.name] = item.value ?? ""
            }
            self.path = String(path[..<mark])
        } else {
            self.path = path
        }
        self.query = query
        self.body = body
        self.messageID = messageID
    }

    package var isMutating: Bool { ["POST", "PUT", "PATCH", "DELETE"].contains(method) }
}

/// The outcome of a call: an HTTP status and the seed's response body.
package struct APIResponse: Sendable, Equatable {
    package var status: Int
    package var body: JSONValue?

    package init(status: Int, body: JSONValue? = nil) {
        self.status = status
        self.body = body
    }

    package static func ok(_ body: JSONValue) -> APIResponse { APIResponse(status: 200, body: body) }
    package static func created(_ body: JSONValue) -> APIResponse { APIResponse(status: 201, body: body) }
    package static let noContent = APIResponse(status: 204)

    /// The reply envelope of contract section 1: `{"status", "body"}` or `{"status", "error"}`.
    package var envelope: JSONValue {
        var fields: [String: JSONValue] = ["status": .number(Double(status))]
        if status >= 400 {
            fields["error"] = body ?? .object([:])
        } else if let body {
            fields["body"] = body
        }
        return .object(fields)
    }

    package init(envelope: JSONValue) throws {
        guard let status = envelope["status"]?.intValue else { throw APIError.badRequest("reply has no status") }
        self.init(status: status, body: status >= 400 ? envelope["error"] : envelope["body"])
    }
}
