import Foundation

/// What a valid create or update body becomes: every field a stored workflow has except its id and times.
public struct WorkflowDraft: Sendable, Equatable {
    /// Trimmed of surrounding whitespace.
    public var name: String
    public var description: String?
    public var definition: WorkflowDefinition
    public var triggerType: TriggerType
    /// As given (secrets included), `[:]` when absent.
    public var triggerConfig: [String: JSONValue]
    public var enabled: Bool

    public init(
        name: String, description: String?, definition: WorkflowDefinition, triggerType: TriggerType,
        triggerConfig: [String: JSONValue], enabled: Bool
    ) {
        self.name = name
        self.description = description
        self.definition = definition
        self.triggerType = triggerType
        self.triggerConfig = triggerConfig
        self.enabled = enabled
    }
}

extension Workflow {
    /// A workflow made from a validated draft.
    public init(id: String, draft: WorkflowDraft, createdAt: Date, updatedAt: Date) {
        self.init(
            id: id, name: draft.name, description: draft.description, definition: draft.definition,
            triggerType: draft.triggerType, triggerConfig: draft.triggerConfig, enabled: draft.enabled,
            createdAt: createdAt, updatedAt: updatedAt)
    }

    /// The workflow's editable fields, as an update keeps them.
    public var draft: WorkflowDraft {
        WorkflowDraft(
            name: name, description: description, definition: definition, triggerType: triggerType,
            triggerConfig: triggerConfig, enabled: enabled)
    }
}

/// Checks create and update bodies of the Workflows API and turns them into drafts.
///
/// A body is judged whole: the failure lists every problem found, each with its field path
/// (`definition.steps[1].config.schema_id`) and a short lowercase message (`is required`).
/// Unknown keys are errors naming them (`filter` for `filters` must not make a workflow that
/// matches every event); the read-only fields of a workflow (`id`, `created_at`, `updated_at`)
/// are accepted and ignored, so a client may send back what it read.
public enum WorkflowValidator {
    public static let maxNameLength = TextLimits.maxNameLength

    /// Validates a `POST /api/workflows` body; integration steps' templates are held to `templateLimits`.
    public static func validateCreate(
        _ body: JSONValue, templateLimits: TemplateLimits = TemplateLimits()
    ) -> Result<WorkflowDraft, ValidationFailure> {
        guard case .object(let fields) = body else {
            return .failure(ValidationFailure(field: "body", message: "must be an object"))
        }
        var unknown = FieldErrorCollector()
        unknown.rejectUnknown(fields, at: "", known: fieldNames, what: "a workflow")
        guard unknown.isEmpty else { return .failure(ValidationFailure(details: unknown.details)) }
        return validate(fields, templateLimits: templateLimits, strictConfig: true)
    }

    /// Validates a `PUT /api/workflows/{id}` body: a partial update.
    ///
    /// Fields present replace the existing ones (`definition` and `trigger_config` as a whole), absent or
    /// `null` fields keep the existing value (`description: null` clears it), and the merged workflow is
    /// validated with the create rules. A `trigger_config.secret` sent back masked keeps the stored secret.
    public static func validateUpdate(
        _ body: JSONValue, existing: Workflow, templateLimits: TemplateLimits = TemplateLimits()
    ) -> Result<WorkflowDraft, ValidationFailure> {
        guard case .object(let changes) = body else {
            return .failure(ValidationFailure(field: "body", message: "must be an object"))
        }
        var unknown = FieldErrorCollector()
        unknown.rejectUnknown(changes, at: "", known: fieldNames, what: "a workflow")
        guard unknown.isEmpty else { return .failure(ValidationFailure(details: unknown.details)) }
        var merged: [String: JSONValue] = [
            "name": .string(existing.name),
            "description": existing.description.map(JSONValue.string) ?? .null,
            "definition": existing.definition.json(),
            "trigger_type": .string(existing.triggerType.rawValue),
            "trigger_config": .object(existing.triggerConfig),
            "enabled": .bool(existing.enabled),
        ]
        for key in ["name", "definition", "trigger_type", "enabled"] {
            if let value = FieldErrorCollector.given(changes, key) { merged[key] = value }
        }
        if let description = changes["description"] {
            merged["description"] = description
        }
        if let config = FieldErrorCollector.given(changes, "trigger_config") {
            merged["trigger_config"] = restoringMaskedSecrets(config, from: existing.triggerConfig)
        }
        // A definition read back from storage may predate strict step configs: only one given now is held to them.
        return validate(merged, templateLimits: templateLimits, strictConfig: changes["definition"] != nil)
    }

    /// The seed's workflow object: what a body may hold.
    static let fieldNames = APIFields.workflow

    // MARK: - Rules

    private static func validate(
        _ body: [String: JSONValue], templateLimits: TemplateLimits, strictConfig: Bool
    ) -> Result<WorkflowDraft, ValidationFailure> {
        var errors = FieldErrorCollector()

        let name = readName(FieldErrorCollector.given(body, "name"), into: &errors)

        var description: String?
        if let value = FieldErrorCollector.given(body, "description") {
            description = errors.description(value, at: "description", typeMessage: "must be a string or null")
        }

        var enabled: Bool? = true
        if let value = FieldErrorCollector.given(body, "enabled") {
            enabled = errors.bool(value, at: "enabled")
        }

        var triggerType: TriggerType?
        if let value = FieldErrorCollector.given(body, "trigger_type") {
            triggerType = errors.oneOf(value, at: "trigger_type", TriggerType.self)
        } else {
            errors.add("trigger_type", "is required")
        }

        var triggerConfig: [String: JSONValue]? = [:]
        if let value = FieldErrorCollector.given(body, "trigger_config") {
            triggerConfig = errors.object(value, at: "trigger_config")
        }
        if let triggerType, let triggerConfig {
            checkTriggerConfig(triggerConfig, for: triggerType, into: &errors)
        }

        var definition: WorkflowDefinition?
        if let value = FieldErrorCollector.given(body, "definition") {
            // With `enabled` unreadable, hold back the rule that depends on it rather than guess.
            definition = WorkflowDefinitionRules.read(
                value, at: "definition", requireIntegrationIds: enabled ?? false, templateLimits: templateLimits,
                strictConfig: strictConfig, into: &errors)
        } else {
            errors.add("definition", "is required")
        }

        guard errors.isEmpty, let name, let definition, let triggerType, let triggerConfig, let enabled else {
            return .failure(ValidationFailure(details: errors.details))
        }
        return .success(
            WorkflowDraft(
                name: name, description: description, definition: definition, triggerType: triggerType,
                triggerConfig: triggerConfig, enabled: enabled))
    }

    private static func readName(_ value: JSONValue?, into errors: inout FieldErrorCollector) -> String? {
        guard let raw = errors.requiredString(value, at: "name") else { return nil }
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty {
            errors.add("name", "must not be empty")
            return nil
        }
        if let problem = TextLimits.nameProblem(name, tooLong: "must be at most \(maxNameLength) characters") {
            errors.add("name", problem)
            return nil
        }
        return name
    }

    private static func checkTriggerConfig(
        _ config: [String: JSONValue], for type: TriggerType, into errors: inout FieldErrorCollector
    ) {
        errors.rejectUnknown(
            config, at: "trigger_config", known: APIFields.triggerConfig(type),
            what: "trigger_config for trigger_type \(type.rawValue)")
        switch type {
        case .manual:
            break
        case .scheduled:
            for key in ["cron_expression", "timezone"] {
                if let value = FieldErrorCollector.given(config, key) {
                    _ = errors.string(value, at: "trigger_config.\(key)")
                }
            }
        case .webhook:
            if let secret = FieldErrorCollector.given(config, "secret") {
                _ = errors.string(secret, at: "trigger_config.secret", nonEmpty: true)
            }
        case .event:
            if let event = FieldErrorCollector.given(config, "event") {
                _ = errors.oneOf(event, at: "trigger_config.event", PlatformEvent.self)
            } else {
                errors.add("trigger_config.event", "is required")
            }
            if let filtersJSON = FieldErrorCollector.given(config, "filters"),
                let filters = errors.object(filtersJSON, at: "trigger_config.filters")
            {
                for (key, value) in filters.sorted(by: { $0.key < $1.key }) {
                    checkFilter(value, at: "trigger_config.filters.\(key)", into: &errors)
                }
            }
        }
    }

    /// A filter matches one value of the event's data, or any of a list of them.
    private static func checkFilter(_ value: JSONValue, at path: String, into errors: inout FieldErrorCollector) {
        func isScalar(_ value: JSONValue) -> Bool {
            switch value {
            case .string, .number, .bool: true
            case .null, .array, .object: false
            }
        }
        let message = "must be a string, number, boolean or an array of them"
        switch value {
        case .array(let items):
            if items.isEmpty { errors.add(path, "must not be an empty array") }
            for (index, item) in items.enumerated() where !isScalar(item) {
                errors.add("\(path)[\(index)]", message)
            }
        default:
            if !isScalar(value) { errors.add(path, message) }
        }
    }

    /// Clients read secrets masked; one that edits a workflow and sends the mask back means "unchanged".
    private static func restoringMaskedSecrets(_ config: JSONValue, from stored: [String: JSONValue]) -> JSONValue {
        guard case .object(var members) = config else { return config }
        for key in Workflow.secretKeys where members[key] == .string(Workflow.secretMask) {
            if let original = stored[key] { members[key] = original }
        }
        return .object(members)
    }
}
