import Foundation

/// Checks integration bodies: every problem at once, each with its field path.
public enum IntegrationValidator {
    public struct Draft: Sendable, Equatable {
        public var workflowID: String?
        public var name: String
        public var type: IntegrationType
        public var config: [String: JSONValue]
    }

    public static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    /// A create body, or an update merged over `existing`: fields given replace, `config` keys
    /// given replace, and a masked secret sent back keeps the stored one, unless the update moves
    /// the integration to another scheme, host or port: then every stored secret must be sent
    /// again (`Integration.rebindingProblems`). Templates (`config.template`,
    /// an email's `config.subject`) are held to `templateLimits`.
    public static func validate(
        _ body: JSONValue, existing: Integration? = nil, templateLimits: TemplateLimits = TemplateLimits()
    ) -> Result<Draft, ValidationFailure> {
        guard case .object(let fields) = body else {
            return .failure(ValidationFailure(field: "body", message: "must be an object"))
        }
        var unknown = FieldErrorCollector()
        unknown.rejectUnknown(fields, at: "", known: APIFields.integration, what: "an integration")
        var details = unknown.details
        func fail(_ field: String, _ message: String) { details.append(FieldError(field: field, message: message)) }

        var name = existing?.name
        switch fields["name"] {
        case .string(let text)?:
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || TextLimits.length(trimmed) > TextLimits.maxNameLength {
                fail("name", "must be 1 to \(TextLimits.maxNameLength) characters")
            } else if TextLimits.hasControlCharacter(trimmed) {
                fail("name", TextLimits.controlCharacterMessage)
            } else {
                name = trimmed
            }
        case nil, .null?: if existing == nil { fail("name", "is required") }
        default: fail("name", "must be a string")
        }
        var type = existing?.type
        switch fields["integration_type"] {
        case .string(let text)?:
            if let parsed = IntegrationType(rawValue: text) {
                type = parsed
            } else {
                fail("integration_type", "must be one of slack, email, webhook")
            }
        case nil, .null?: if existing == nil { fail("integration_type", "is required") }
        default: fail("integration_type", "must be one of slack, email, webhook")
        }
        var workflowID = existing?.workflowID
        switch fields["workflow_id"] {
        case .string(let id)?: workflowID = id
        case .null?: workflowID = nil
        case nil: break
        default: fail("workflow_id", "must be a string")
        }
        var config = existing?.config ?? [:]
        switch fields["config"] {
        case .object(let given)?:
            if let type {
                var unknownConfig = FieldErrorCollector()
                unknownConfig.rejectUnknown(
                    given, at: "config", known: APIFields.integrationConfig(type),
                    what: "the config of a \(type.rawValue) integration")
                details += unknownConfig.details
            }
            if let existing, existing.type == type {
                config = merge(given, over: config)
                details += Integration.rebindingProblems(
                    type: existing.type, stored: existing.config, given: given, merged: config)
            } else {
                config = given
            }
            if let type { details += maskedWithoutValue(config, type: type) }
        case nil, .null?: if existing == nil { fail("config", "is required") }
        default: fail("config", "must be an object")
        }
        if let type, fields["config"]?.objectValue != nil || existing != nil {
            check(config, type: type, templateLimits: templateLimits, into: &details)
        }
        guard details.isEmpty, let name, let type else { return .failure(ValidationFailure(details: details)) }
        return .success(Draft(workflowID: workflowID, name: name, type: type, config: config))
    }

    /// Keys given replace stored ones, except secrets sent back masked.
    private static func merge(_ given: [String: JSONValue], over stored: [String: JSONValue]) -> [String: JSONValue] {
        var result = stored
        for (key, value) in given {
            if value == .string(Integration.mask) { continue }
            if key == "headers", case .object(let headers) = value, case .object(let old)? = stored["headers"] {
                var merged: [String: JSONValue] = [:]
                for (name, header) in headers {
                    merged[name] = header == .string(Integration.mask) ? old[name] ?? header : header
                }
                result[key] = .object(merged)
            } else {
                result[key] = value
            }
        }
        return result
    }

    /// The mask where no stored secret stands behind it (a create, a new header, a changed type):
    /// it would be stored, and sent, as the literal mask.
    private static func maskedWithoutValue(_ config: [String: JSONValue], type: IntegrationType) -> [FieldError] {
        var problems: [FieldError] = []
        let message = "is the mask of a stored secret, but none is stored here: send the value"
        for key in Integration.secretKeys(of: type) {
            switch config[key] {
            case .string(Integration.mask)?:
                problems.append(FieldError(field: "config.\(key)", message: message))
            case .object(let values)?:
                for (name, value) in values.sorted(by: { $0.key < $1.key }) where value == .string(Integration.mask) {
                    problems.append(FieldError(field: "config.\(key).\(name)", message: message))
                }
            default:
                break
            }
        }
        return problems
    }

    private static func check(
        _ config: [String: JSONValue], type: IntegrationType, templateLimits: TemplateLimits,
        into details: inout [FieldError]
    ) {
        func fail(_ field: String, _ message: String) {
            details.append(FieldError(field: "config." + field, message: message))
        }
        func url(_ key: String) {
            guard let value = config[key] else { return fail(key, "is required") }
            guard let text = value.stringValue, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
                ["http", "https"].contains(scheme), url.host?.isEmpty == false
            else { return fail(key, "must be an http or https URL") }
        }
        func optionalString(_ key: String) {
            if let value = config[key], value != .null, value.stringValue == nil { fail(key, "must be a string") }
        }
        func optionalTemplate(_ key: String) {
            optionalString(key)
            if let text = config[key]?.stringValue,
                let problem = MustacheProgram.problem(in: text, limits: templateLimits)
            {
                fail(key, problem.description)
            }
        }
        switch type {
        case .slack:
            url("webhook_url")
            optionalString("channel")
            optionalTemplate("template")
        case .email:
            switch config["to"] {
            case .string(let address)?:
                if !isEmail(address) { fail("to", "must be an email address") }
            case .array(let items)?:
                if items.isEmpty { fail("to", "must name at least one address") }
                for (index, item) in items.enumerated() where !(item.stringValue.map(isEmail) ?? false) {
                    fail("to[\(index)]", "must be an email address")
                }
            case nil, .null?: fail("to", "is required")
            default: fail("to", "must be an email address or a list of them")
            }
            optionalTemplate("subject")
            optionalTemplate("template")
            if let from = config["from"]?.stringValue, !isEmail(from) { fail("from", "must be an email address") }
        case .webhook:
            url("url")
            if let method = config["method"], method != .null {
                if !(method.stringValue.map { methods.contains($0.uppercased()) } ?? false) {
                    fail("method", "must be one of \(methods.joined(separator: ", "))")
                }
            }
            switch config["headers"] {
            case nil, .null?: break
            case .object(let headers)?:
                for (name, value) in headers where value.stringValue == nil {
                    fail("headers.\(name)", "must be a string")
                }
            default: fail("headers", "must be an object of strings")
            }
            optionalString("secret")
            optionalTemplate("template")
        }
    }

    /// Good enough for configuration: one @, a dot in the domain, no spaces or angle brackets.
    public static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix(".")
        else { return false }
        return !text.contains { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0 == "\r" || $0 == "\n" }
    }
}
