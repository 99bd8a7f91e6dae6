import DocflowCore

/// A request the API refuses, with the error code and sentence of contract section 1.
package struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    package var status: Int
    package var code: String
    package var message: String
    package var details: [FieldError]

    package init(status: Int, code: String, message: String, details: [FieldError] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    package static func badRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "bad_request", message: message)
    }

    /// A body that is not strict JSON, naming where the parser stopped: its path from the document's
    /// root, or `rootField` when the problem is at the root itself (no details when that is nil).
    package static func unreadableJSON(_ subject: String, _ error: JSONValue.ParseError, rootField: String? = nil)
        -> APIError
    {
        let field = error.path.isEmpty ? rootField : error.path
        let detail = "is not valid JSON: \(error.reason) at byte \(error.offset)"
        return APIError(
            status: 400, code: "bad_request", message: "\(subject) is \(error)",
            details: field.map { [FieldError(field: $0, message: detail)] } ?? [])
    }

    package static func validation(_ failure: ValidationFailure) -> APIError {
        APIError(status: 400, code: "validation_failed", message: failure.message, details: failure.details)
    }

    package static func validation(field: String, _ message: String) -> APIError {
        validation(ValidationFailure(field: field, message: message))
    }

    /// Throws a `validation_failed` naming every key of `body` outside `known` (`APIFields`).
    static func rejectUnknown(_ body: [String: JSONValue], known: Set<String>, what: String) throws(APIError) {
        let unknown = body.keys.filter { !known.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        throw validation(
            ValidationFailure(details: unknown.map { FieldError(field: $0, message: "is not a field of \(what)") }))
    }

    package static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: "not_found", message: message)
    }

    package static func methodNotAllowed(_ method: String, _ path: String, allowed: [String]) -> APIError {
        APIError(
            status: 405, code: "method_not_allowed",
            message: "\(method) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))")
    }

    package static func conflict(_ message: String) -> APIError {
        APIError(status: 409, code: "conflict", message: message)
    }

    /// Never carries internals: those go to the log.
    package static let `internal` = APIError(
        status: 500, code: "internal", message: "docflow failed to handle the request; see its log")

    package var response: APIResponse {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if !details.isEmpty {
            error["details"] = .array(
                details.map { .object(["field": .string($0.field), "message": .string($0.message)]) })
        }
        return APIResponse(status: status, body: .object(error))
    }

    package var description: String { "\(status) \(code): \(message)" }
}
