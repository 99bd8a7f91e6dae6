import DocflowCore

/// A request the API refuses, with the error code and sentence of contract section 1.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var details: [FieldError]

    public init(status: Int, code: String, message: String, details: [FieldError] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    public static func badRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "bad_request", message: message)
    }

    public static func validation(_ failure: ValidationFailure) -> APIError {
        APIError(status: 400, code: "validation_failed", message: failure.message, details: failure.details)
    }

    public static func validation(field: String, _ message: String) -> APIError {
        validation(ValidationFailure(field: field, message: message))
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: "not_found", message: message)
    }

    public static func methodNotAllowed(_ method: String, _ path: String, allowed: [String]) -> APIError {
        APIError(
            status: 405, code: "method_not_allowed",
            message: "\(method) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))")
    }

    public static func conflict(_ message: String) -> APIError {
        APIError(status: 409, code: "conflict", message: message)
    }

    /// Never carries internals: those go to the log.
    public static let `internal` = APIError(
        status: 500, code: "internal", message: "docflow failed to handle the request; see its log")

    public var response: APIResponse {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if !details.isEmpty {
            error["details"] = .array(
                details.map { .object(["field": .string($0.field), "message": .string($0.message)]) })
        }
        return APIResponse(status: status, body: .object(error))
    }

    public var description: String { "\(status) \(code): \(message)" }
}
