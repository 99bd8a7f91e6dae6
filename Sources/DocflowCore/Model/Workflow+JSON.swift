import Foundation

extension Workflow {
    /// What a secret reads as when served.
    public static let secretMask = "********"
    /// Keys of `trigger_config` whose values are secrets (the webhook signing secret).
    public static let secretKeys: Set<String> = ["secret"]

    /// The seed's workflow object: `id`, `name`, `description` (`null` when unset), `definition`,
    /// `trigger_type`, `trigger_config`, `enabled`, `created_at`, `updated_at` (RFC 3339 UTC, whole seconds).
    ///
    /// With `maskSecrets`, every secret in `trigger_config` reads as `secretMask`, so the response can be
    /// shown and logged; only code that signs or checks requests needs them unmasked.
    public func json(maskSecrets: Bool = true) -> JSONValue {
        var config = triggerConfig
        if maskSecrets {
            for key in Self.secretKeys where config[key].map({ !$0.isNull }) ?? false {
                config[key] = .string(Self.secretMask)
            }
        }
        return .object([
            "id": .string(id),
            "name": .string(name),
            "description": description.map(JSONValue.string) ?? .null,
            "definition": definition.json(),
            "trigger_type": .string(triggerType.rawValue),
            "trigger_config": .object(config),
            "enabled": .bool(enabled),
            "created_at": .string(RFC3339.string(from: createdAt)),
            "updated_at": .string(RFC3339.string(from: updatedAt)),
        ])
    }
}

extension WorkflowDefinition {
    /// `{"steps": [...]}`, each step as `StepDefinition.json()` writes it.
    public func json() -> JSONValue {
        .object(["steps": .array(steps.map { $0.json() })])
    }

    /// Reads a definition as `json()` writes it and as clients send it, checked with every rule that does not
    /// depend on the rest of the workflow (an enabled workflow also needs each integration step's
    /// `integration_id`; `WorkflowValidator` checks that). Field paths start at `definition`.
    public init(json: JSONValue) throws(ValidationFailure) {
        var errors = FieldErrorCollector()
        let definition = WorkflowDefinitionRules.read(
            json, at: "definition", requireIntegrationIds: false, into: &errors)
        guard let definition, errors.isEmpty else { throw ValidationFailure(details: errors.details) }
        self = definition
    }
}

extension StepDefinition {
    /// `{id, type, config, next?, retry?, timeout_ms?, on_error?}`: optional keys are left out when unset
    /// or at their default, so what a user wrote reads back the same.
    public func json() -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id),
            "type": .string(type.rawValue),
            "config": .object(config),
        ]
        if let next { fields["next"] = .string(next.rawValue) }
        if let retry { fields["retry"] = retry.json() }
        if let timeoutMs { fields["timeout_ms"] = .number(Double(timeoutMs)) }
        if onError != .fail { fields["on_error"] = .string(onError.rawValue) }
        return .object(fields)
    }
}

extension RetryPolicy {
    /// `{max_attempts, initial_interval_ms, backoff, max_interval_ms}`, every key written.
    public func json() -> JSONValue {
        .object([
            "max_attempts": .number(Double(maxAttempts)),
            "initial_interval_ms": .number(Double(initialIntervalMs)),
            "backoff": .string(backoff.rawValue),
            "max_interval_ms": .number(Double(maxIntervalMs)),
        ])
    }
}
