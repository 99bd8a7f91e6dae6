/// The keys every request body of the API may hold: the seed's fields and docflow's documented
/// extensions, nothing else. The validators reject any other key naming it, and the OpenAPI
/// document lists exactly these (a test compares them), so the two cannot drift apart.
///
/// Read-only fields of a resource (`id`, `created_at`, ...) are accepted and ignored, so a
/// client may send back what it read.
public enum APIFields {
    /// A workflow (`POST /api/workflows`, `PUT /api/workflows/{id}`).
    public static let workflow: Set<String> = [
        "id", "name", "description", "definition", "trigger_type", "trigger_config", "enabled", "created_at",
        "updated_at",
    ]

    /// A workflow's `definition`.
    public static let definition: Set<String> = ["steps"]

    /// One item of `definition.steps`.
    public static let step: Set<String> = ["id", "type", "config", "next", "retry", "timeout_ms", "on_error"]

    /// A step's `retry`.
    public static let retry: Set<String> = ["max_attempts", "initial_interval_ms", "backoff", "max_interval_ms"]

    /// A step's `config`, by step type: the seed's keys and the ones `docs/` documents.
    public static func stepConfig(_ type: StepType) -> Set<String> {
        switch type {
        case .parse: []
        case .extract: ["schema_id", "confidence_min", "required_fields", "service"]
        case .transform: ["expression"]
        case .condition: ["expression", "then", "else"]
        case .integration: ["integration_id", "template"]
        }
    }

    /// A workflow's `trigger_config`, by trigger type.
    public static func triggerConfig(_ type: TriggerType) -> Set<String> {
        switch type {
        case .manual: []
        case .scheduled: ["cron_expression", "timezone", "enabled"]
        case .webhook: ["secret"]
        case .event: ["event", "filters"]
        }
    }

    /// A schedule (`POST`/`PUT /api/workflows/{id}/schedule`).
    public static let schedule: Set<String> = [
        "cron_expression", "timezone", "enabled", "workflow_id", "next_run_at", "last_run_at", "created_at",
        "updated_at",
    ]

    /// An integration (`POST`/`PUT /api/workflows/integrations`).
    public static let integration: Set<String> = [
        "id", "workflow_id", "name", "integration_type", "config", "created_at", "updated_at",
    ]

    /// An integration's `config`, by integration type.
    public static func integrationConfig(_ type: IntegrationType) -> Set<String> {
        switch type {
        case .slack: ["webhook_url", "channel", "template"]
        case .email: ["to", "subject", "template", "from"]
        case .webhook: ["url", "method", "headers", "secret", "template"]
        }
    }

    /// An extraction schema (`POST /api/schemas`, `PUT /api/schemas/{id}`).
    public static let schema: Set<String> = ["id", "name", "description", "fields", "built_in"]

    /// One item of a schema's `fields`.
    public static let schemaField: Set<String> = ["name", "type", "required", "labels", "pattern", "description"]

    /// `POST /api/workflows/templates`.
    public static let createFromTemplate: Set<String> = ["template_id", "name", "description"]

    /// `POST /api/workflows/{id}/execute`.
    public static let execute: Set<String> = ["trigger_data"]

    /// `POST /api/workflows/{id}/executions/{execution_id}/retry`: no fields.
    public static let retryExecution: Set<String> = []

    /// `POST /api/workflows/{id}/executions/{execution_id}/rerun`.
    public static let rerunExecution: Set<String> = ["trigger_data"]

    /// `POST /api/executions/retry`: the filters of `GET /api/executions`, as body fields.
    public static let bulkRetry: Set<String> = [
        "status", "workflow_id", "trigger_type", "started_after", "started_before", "limit",
    ]
}
