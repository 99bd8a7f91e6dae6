import DocflowCore
import Foundation

/// One call of the Workflows API, whatever carried it (AMQP request/reply or HTTP).
public struct APIRequest: Sendable {
    public var method: String
    /// The path without its query string, such as `/api/workflows/123`.
    public var path: String
    public var query: [String: String]
    public var body: JSONValue?
    /// Makes a mutating request idempotent for 24 hours.
    public var messageID: String?

    /// A query string in `path` (`/api/workflows/integrations?id=1`) is moved into `query`;
    /// entries of `query` win over it.
    public init(
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

    public var isMutating: Bool { ["POST", "PUT", "PATCH", "DELETE"].contains(method) }
}

/// The outcome of a call: an HTTP status and the seed's response body.
public struct APIResponse: Sendable, Equatable {
    public var status: Int
    public var body: JSONValue?

    public init(status: Int, body: JSONValue? = nil) {
        self.status = status
        self.body = body
    }

    public static func ok(_ body: JSONValue) -> APIResponse { APIResponse(status: 200, body: body) }
    public static func created(_ body: JSONValue) -> APIResponse { APIResponse(status: 201, body: body) }
    public static let noContent = APIResponse(status: 204)

    /// The reply envelope of contract section 1: `{"status", "body"}` or `{"status", "error"}`.
    public var envelope: JSONValue {
        var fields: [String: JSONValue] = ["status": .number(Double(status))]
        if status >= 400 {
            fields["error"] = body ?? .object([:])
        } else if let body {
            fields["body"] = body
        }
        return .object(fields)
    }

    public init(envelope: JSONValue) throws {
        guard let status = envelope["status"]?.intValue else { throw APIError.badRequest("reply has no status") }
        self.init(status: status, body: status >= 400 ? envelope["error"] : envelope["body"])
    }
}
