/// One problem with one field of a request, as the wire's `error.details[]` shows it:
/// `{"field": "definition.steps[1].config.schema_id", "message": "is required"}`.
///
/// `field` is a path into the request body (`.` for object keys, `[n]` for array items); the
/// message is a short lowercase phrase that reads after the field's name.
public struct FieldError: Sendable, Equatable, Codable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field) \(message)" }
}

/// A request that cannot be accepted, with every problem found in it rather than the first.
public struct ValidationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var details: [FieldError]

    public init(details: [FieldError]) {
        self.details = details
    }

    public init(field: String, message: String) {
        self.details = [FieldError(field: field, message: message)]
    }

    /// A human sentence naming every problem, for the error's `message`.
    public var message: String {
        switch details.count {
        case 0: "the request is not valid"
        case 1: "the request is not valid: \(details[0])"
        default: "the request has \(details.count) problems: " + details.map(\.description).joined(separator: "; ")
        }
    }

    public var description: String { message }

    /// The problem reported for `field`, if any; handy in tests and logs.
    public func detail(for field: String) -> FieldError? {
        details.first { $0.field == field }
    }
}
