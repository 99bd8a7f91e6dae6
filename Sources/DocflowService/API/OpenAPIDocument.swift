import DocflowCore
import Foundation

/// The OpenAPI 3.1 description of the HTTP port, served at `GET /openapi.json`: every route of
/// the router and the port's own ones, with the request bodies `APIFields` accepts and the
/// responses the handlers write. `OpenAPIDocumentTests` fails naming any route missing here.
///
/// To add a route: register it with `router.on` and add an `operation` to `paths` below.
package enum OpenAPIDocument {
    package static let json: JSONValue = [
        "openapi": "3.1.0",
        "info": [
            "title": "docflow",
            "version": "1",
            "description": .string(
                "Document workflows: the Workflows API, served over AMQP (request/reply on the docflow.api queue) "
                    + "and over HTTP at the same paths. Unknown body fields and unknown query parameters are "
                    + "400 validation_failed naming them."),
        ],
        "security": [["bearer": []]],
        "tags": .array(
            ["workflows", "executions", "schedules", "integrations", "templates", "schemas", "audit", "operations"]
                .map { ["name": .string($0)] }),
        "paths": paths,
        "components": [
            "securitySchemes": [
                "bearer": [
                    "type": "http", "scheme": "bearer",
                    "description": "An API key made with `docflow keys create` (read or write scope).",
                ]
            ],
            "schemas": schemas,
            "responses": [
                "Error": [
                    "description":
                        "An error: bad_request, validation_failed (with details), unauthorized, forbidden, not_found, method_not_allowed, conflict, payload_too_large or internal.",
                    "content": ["application/json": ["schema": ref("ErrorResponse")]],
                ]
            ],
        ],
    ]

    /// The document as served.
    package static let encoded: Data = json.encoded()

    // MARK: - Paths

    private static let paths: JSONValue = [
        "/api/workflows": [
            "get": operation(
                "listWorkflows", "workflows", "List workflows, oldest first, a page at a time.",
                query: [cursor, limit(standard: 500, maximum: 500)], response: (200, ref("WorkflowList"))),
            "post": operation(
                "createWorkflow", "workflows", "Create a workflow.", body: ref("WorkflowCreate"),
                response: (201, ref("Workflow"))),
        ],
        "/api/workflows/{id}": [
            "get": operation(
                "getWorkflow", "workflows", "Get a workflow.", path: ["id"], response: (200, ref("Workflow"))),
            "put": operation(
                "updateWorkflow", "workflows",
                "Update a workflow: fields given replace the stored ones (definition and trigger_config whole).",
                path: ["id"], body: ref("WorkflowUpdate"), response: (200, ref("Workflow"))),
            "delete": operation(
                "deleteWorkflow", "workflows", "Delete a workflow (409 while it has running executions).",
                path: ["id"], response: (204, nil)),
        ],
        "/api/workflows/{id}/execute": [
            "post": operation(
                "executeWorkflow", "executions", "Start an execution by hand.", path: ["id"],
                body: ref("ExecuteRequest"), response: (202, ref("ExecutionStarted")))
        ],
        "/api/executions": [
            "get": operation(
                "listExecutions", "executions", "Every workflow's executions, newest first, with filters.",
                query: executionFilters + [
                    parameter("workflow_id", "Only this workflow's executions.", .string), cursor,
                    limit(standard: 50, maximum: 500),
                ], response: (200, ref("ExecutionList")))
        ],
        "/api/workflows/{id}/executions": [
            "get": operation(
                "listWorkflowExecutions", "executions", "A workflow's executions, newest first, with filters.",
                path: ["id"],
                query: executionFilters + [
                    parameter("execution_id", "Only this execution.", .string), cursor,
                    limit(standard: 20, maximum: 100),
                ], response: (200, ref("ExecutionList")))
        ],
        "/api/workflows/{id}/executions/{execution_id}/cancel": [
            "post": operation(
                "cancelExecution", "executions", "Cancel a running execution.", path: ["id", "execution_id"],
                response: (200, ref("Execution")))
        ],
        "/api/workflows/{id}/executions/{execution_id}/retry": [
            "post": operation(
                "retryExecution", "executions",
                "Retry a failed execution from its failed step; the failed run stays in its previous_runs.",
                path: ["id", "execution_id"], response: (202, ref("ExecutionStarted")))
        ],
        "/api/workflows/{id}/executions/{execution_id}/rerun": [
            "post": operation(
                "rerunExecution", "executions",
                "Start a new execution of the workflow from a finished one, with its trigger_data or new data.",
                path: ["id", "execution_id"], body: ref("RerunRequest"), bodyRequired: false,
                response: (202, ref("RerunStarted")))
        ],
        "/api/executions/retry": [
            "post": operation(
                "retryExecutions", "executions",
                "Retry the newest failed executions the filters match, up to limit, in one transaction.",
                body: ref("BulkRetryRequest"), bodyRequired: false, response: (202, ref("BulkRetried")))
        ],
        "/api/workflows/{id}/schedule": [
            "get": operation(
                "getSchedule", "schedules", "Get a workflow's schedule.", path: ["id"],
                response: (200, ref("Schedule"))),
            "post": operation(
                "createSchedule", "schedules", "Create a workflow's cron schedule.", path: ["id"],
                body: ref("ScheduleCreate"), response: (201, ref("Schedule"))),
            "put": operation(
                "updateSchedule", "schedules", "Change a workflow's schedule: fields given replace the stored ones.",
                path: ["id"], body: ref("ScheduleUpdate"), response: (200, ref("Schedule"))),
            "delete": operation(
                "deleteSchedule", "schedules", "Delete a workflow's schedule.", path: ["id"], response: (204, nil)),
        ],
        "/api/workflows/integrations": [
            "get": operation(
                "listIntegrations", "integrations", "List integrations; secrets are masked.",
                query: [parameter("workflow_id", "Only this workflow's integrations.", .string)],
                response: (200, ref("IntegrationList"))),
            "post": operation(
                "createIntegration", "integrations", "Create an integration.", body: ref("IntegrationCreate"),
                response: (201, ref("Integration"))),
            "put": operation(
                "updateIntegration", "integrations",
                "Update an integration: fields and config keys given replace the stored ones; a masked secret sent back keeps the stored one.",
                query: [integrationID], body: ref("IntegrationUpdate"), response: (200, ref("Integration"))),
            "delete": operation(
                "deleteIntegration", "integrations", "Delete an integration.", query: [integrationID],
                response: (204, nil)),
        ],
        "/api/workflows/templates": [
            "get": operation(
                "listTemplates", "templates", "The built-in workflow templates.",
                query: [
                    parameter(
                        "category", "Only this category.",
                        .enumeration(WorkflowTemplate.Category.allCases.map(\.rawValue)))
                ], response: (200, ref("TemplateList"))),
            "post": operation(
                "createFromTemplate", "templates",
                "Create a workflow from a template (disabled until its integration steps name integrations).",
                body: ref("CreateFromTemplate"), response: (201, ref("Workflow"))),
        ],
        "/api/schemas": [
            "get": operation(
                "listSchemas", "schemas", "The extraction schemas, built-in and custom.",
                response: (200, ref("SchemaList"))),
            "post": operation(
                "createSchema", "schemas", "Create a custom extraction schema.", body: ref("SchemaCreate"),
                response: (201, ref("ExtractionSchema"))),
        ],
        "/api/schemas/{id}": [
            "get": operation(
                "getSchema", "schemas", "Get an extraction schema.", path: ["id"],
                response: (200, ref("ExtractionSchema"))),
            "put": operation(
                "updateSchema", "schemas", "Replace a custom extraction schema (built-in ones are read-only).",
                path: ["id"], body: ref("SchemaUpdate"), response: (200, ref("ExtractionSchema"))),
            "delete": operation(
                "deleteSchema", "schemas", "Delete a custom extraction schema.", path: ["id"], response: (204, nil)),
        ],
        "/api/audit": [
            "get": operation(
                "listAudit", "audit", "Who changed what, newest first.",
                query: [
                    parameter("actor", "Only changes by this key name.", .string),
                    parameter("action", "Only this action, such as update.", .string),
                    parameter("resource_type", "Only this kind of resource, such as workflow.", .string),
                    parameter("resource_id", "Only this resource.", .string),
                    parameter("since", "Only changes at or after this RFC 3339 time.", .time),
                    parameter("until", "Only changes before this RFC 3339 time.", .time),
                    parameter("cursor", "The next_cursor of the page before.", .string),
                    limit(standard: 50, maximum: 500),
                ], response: (200, ref("AuditPage")))
        ],
        "/healthz": [
            "get": operation(
                "health", "operations", "Liveness: the process answers.", withoutKey: true,
                response: (200, ref("Health")))
        ],
        "/readyz": [
            "get": operation(
                "readiness", "operations", "Readiness: broker connected and database writable (503 otherwise).",
                withoutKey: true, response: (200, ref("Readiness")))
        ],
        "/metrics": [
            "get": operation(
                "metrics", "operations",
                "Prometheus metrics; needs a key only with --metrics-require-key.", withoutKey: true,
                response: (200, nil), contentType: "text/plain")
        ],
        "/hooks/{id}": [
            "post": operation(
                "webhook", "operations",
                "Start a webhook-triggered workflow with the JSON body as trigger_data. When the workflow's trigger_config.secret is set, the request must carry X-Docflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">.",
                path: ["id"], withoutKey: true, body: ["type": "object"], response: (202, ref("ExecutionStarted")))
        ],
        "/openapi.json": [
            "get": operation(
                "openAPI", "operations", "This document.", withoutKey: true, response: (200, ["type": "object"]))
        ],
    ]

    private static let cursor = parameter(
        "cursor", "The next_cursor of the page before; absent for the first page.", .string)

    private static let integrationID = parameter("id", "The integration's id.", .string, required: true)

    private static let executionFilters: [JSONValue] = [
        parameter("status", "Only executions in this status.", .enumeration(ExecutionStatus.allCases.map(\.rawValue))),
        parameter(
            "trigger_type", "Only executions started this way.", .enumeration(TriggerType.allCases.map(\.rawValue))),
        parameter("started_after", "Only executions started at or after this RFC 3339 time.", .time),
        parameter("started_before", "Only executions started before this RFC 3339 time.", .time),
    ]

    private static func limit(standard: Int, maximum: Int) -> JSONValue {
        parameter(
            "limit", "Items per page, \(standard) when absent.",
            .schema(["type": "integer", "minimum": 1, "maximum": .number(Double(maximum))]))
    }

    private enum ParameterType {
        case string, time
        case enumeration([String])
        case schema(JSONValue)

        var schema: JSONValue {
            switch self {
            case .string: ["type": "string"]
            case .time: ["type": "string", "format": "date-time"]
            case .enumeration(let values): ["type": "string", "enum": .array(values.map { .string($0) })]
            case .schema(let schema): schema
            }
        }
    }

    private static func parameter(
        _ name: String, _ description: String, _ type: ParameterType, required: Bool = false
    ) -> JSONValue {
        [
            "name": .string(name), "in": "query", "description": .string(description), "required": .bool(required),
            "schema": type.schema,
        ]
    }

    private static func operation(
        _ id: String, _ tag: String, _ summary: String, path: [String] = [], query: [JSONValue] = [],
        withoutKey: Bool = false, body: JSONValue? = nil, bodyRequired: Bool = true,
        response: (status: Int, schema: JSONValue?),
        contentType: String = "application/json"
    ) -> JSONValue {
        var fields: [String: JSONValue] = [
            "operationId": .string(id), "tags": [.string(tag)], "summary": .string(summary),
        ]
        let pathParameters: [JSONValue] = path.map {
            ["name": .string($0), "in": "path", "required": true, "schema": ["type": "string"]]
        }
        if !(pathParameters + query).isEmpty { fields["parameters"] = .array(pathParameters + query) }
        if withoutKey { fields["security"] = [] }
        if let body {
            fields["requestBody"] = [
                "required": .bool(bodyRequired), "content": ["application/json": ["schema": body]],
            ]
        }
        var success: [String: JSONValue] = ["description": response.status == 204 ? "No content." : "Success."]
        if let schema = response.schema {
            success["content"] = .object([contentType: ["schema": schema]])
        } else if contentType != "application/json" {
            success["content"] = .object([contentType: ["schema": ["type": "string"]]])
        }
        fields["responses"] = [
            String(response.status): .object(success),
            "default": ["$ref": "#/components/responses/Error"],
        ]
        return .object(fields)
    }

    // MARK: - Schemas

    private static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    private static func nullable(_ schema: JSONValue) -> JSONValue { ["anyOf": [schema, ["type": "null"]]] }

    private static func enumeration<Choice: RawRepresentable & CaseIterable>(_: Choice.Type) -> JSONValue
    where Choice.RawValue == String {
        ["type": "string", "enum": .array(Choice.allCases.map { .string($0.rawValue) })]
    }

    /// A closed object: any key outside `properties` is refused, as the API refuses it.
    private static func object(
        _ properties: [String: JSONValue], required: [String] = [], description: String? = nil
    ) -> JSONValue {
        var fields: [String: JSONValue] = [
            "type": "object", "properties": .object(properties), "additionalProperties": false,
        ]
        if !required.isEmpty { fields["required"] = .array(required.map { .string($0) }) }
        if let description { fields["description"] = .string(description) }
        return .object(fields)
    }

    private static let string: JSONValue = ["type": "string"]
    private static let time: JSONValue = ["type": "string", "format": "date-time"]
    private static let anyJSON: JSONValue = [:]
    private static let readOnly: JSONValue = ["description": "Read-only: accepted and ignored."]

    /// The request body schemas whose keys are `APIFields` sets: the test compares each with its set.
    package static let closedBodies: [(schema: String, fields: Set<String>)] =
        [
            ("WorkflowCreate", APIFields.workflow), ("WorkflowUpdate", APIFields.workflow),
            ("Definition", APIFields.definition), ("RetryPolicy", APIFields.retry),
            ("ScheduleCreate", APIFields.schedule), ("ScheduleUpdate", APIFields.schedule),
            ("IntegrationCreate", APIFields.integration), ("IntegrationUpdate", APIFields.integration),
            ("SchemaCreate", APIFields.schema), ("SchemaUpdate", APIFields.schema),
            ("SchemaField", APIFields.schemaField), ("CreateFromTemplate", APIFields.createFromTemplate),
            ("ExecuteRequest", APIFields.execute), ("RerunRequest", APIFields.rerunExecution),
            ("BulkRetryRequest", APIFields.bulkRetry),
        ]
        + StepType.allCases.flatMap { type in
            [
                (stepName(type), APIFields.step),
                (stepName(type) + "Config", APIFields.stepConfig(type)),
            ]
        }
        + TriggerType.allCases.map { (triggerConfigName($0), APIFields.triggerConfig($0)) }
        + IntegrationType.allCases.map { (integrationConfigName($0), APIFields.integrationConfig($0)) }

    private static func stepName(_ type: StepType) -> String { type.rawValue.capitalized + "Step" }
    private static func triggerConfigName(_ type: TriggerType) -> String {
        type.rawValue.capitalized + "TriggerConfig"
    }
    private static func integrationConfigName(_ type: IntegrationType) -> String {
        type.rawValue.capitalized + "IntegrationConfig"
    }

    private static var schemas: JSONValue {
        var all: [String: JSONValue] = [
            "ErrorResponse": object(
                [
                    "error": object(
                        [
                            "code": string, "message": string,
                            "details": [
                                "type": "array",
                                "items": object(["field": string, "message": string], required: ["field", "message"]),
                            ],
                        ], required: ["code", "message"])
                ], required: ["error"]),
            "WorkflowCreate": workflowBody(required: ["name", "trigger_type", "definition"]),
            "WorkflowUpdate": workflowBody(required: []),
            "Workflow": [
                "type": "object",
                "properties": [
                    "id": string, "name": string, "description": nullable(string), "definition": ref("Definition"),
                    "trigger_type": enumeration(TriggerType.self), "trigger_config": triggerConfig,
                    "enabled": ["type": "boolean"], "created_at": time, "updated_at": time,
                ],
            ],
            "WorkflowList": [
                "type": "object",
                "properties": [
                    "workflows": ["type": "array", "items": ref("Workflow")], "next_cursor": nullable(string),
                ],
            ],
            "Definition": object(
                [
                    "steps": [
                        "type": "array", "minItems": 1,
                        "items": ["oneOf": .array(StepType.allCases.map { ref(stepName($0)) })],
                    ]
                ],
                required: ["steps"]),
            "RetryPolicy": object([
                "max_attempts": ["type": "integer", "minimum": 1],
                "initial_interval_ms": ["type": "integer", "minimum": 0],
                "backoff": enumeration(RetryPolicy.Backoff.self), "max_interval_ms": ["type": "integer", "minimum": 0],
            ]),
            "ParseStepConfig": object(
                [:], description: "The document comes from the trigger: see docs/wire-protocol.md."),
            "ExtractStepConfig": object(
                [
                    "schema_id": string, "confidence_min": ["type": "number", "minimum": 0, "maximum": 1],
                    "required_fields": ["type": "array", "items": string],
                    "service": ["type": "string", "description": "Hand extraction to this service over AMQP."],
                ], required: ["schema_id"]),
            "TransformStepConfig": object(
                ["expression": ["type": "string", "description": "A jq program."]], required: ["expression"]),
            "ConditionStepConfig": object(
                [
                    "expression": ["type": "string", "description": "A jq program; truthy takes then."],
                    "then": ["type": "string", "description": "A step id or end."],
                    "else": ["type": "string", "description": "A step id or end."],
                ], required: ["expression", "then", "else"]),
            "IntegrationStepConfig": object([
                "integration_id": ["type": "string", "description": "Required when the workflow is enabled."],
                "template": ["type": "string", "description": "A Mustache template over the execution context."],
            ]),
            "ManualTriggerConfig": object([:]),
            "ScheduledTriggerConfig": object([
                "cron_expression": string,
                "timezone": ["type": "string", "description": "An IANA name; UTC when absent."],
                "enabled": ["type": "boolean"],
            ]),
            "WebhookTriggerConfig": object([
                "secret": ["type": "string", "description": "Signs /hooks/{id} requests; read back masked."]
            ]),
            "EventTriggerConfig": object(
                [
                    "event": enumeration(PlatformEvent.self),
                    "filters": [
                        "type": "object",
                        "description":
                            "Each key must equal the same key of the event's data (an array matches any of its values).",
                        "additionalProperties": [
                            "anyOf": [
                                ["type": ["string", "number", "boolean"]],
                                ["type": "array", "minItems": 1, "items": ["type": ["string", "number", "boolean"]]],
                            ]
                        ],
                    ],
                ], required: ["event"]),
            "ExecuteRequest": object([
                "trigger_data": [
                    "type": ["object", "null"], "description": "The execution's trigger data; {} when absent.",
                ]
            ]),
            "ExecutionStarted": [
                "type": "object",
                "properties": [
                    "execution_id": string, "status": enumeration(ExecutionStatus.self), "started_at": time,
                ],
            ],
            "Execution": [
                "type": "object",
                "properties": [
                    "id": string, "workflow_id": string, "status": enumeration(ExecutionStatus.self),
                    "triggered_by": enumeration(TriggerType.self), "trigger_data": anyJSON, "started_at": time,
                    "completed_at": nullable(time), "error": nullable(string),
                    "execution_log": ["type": "array", "items": ref("ExecutionLogEntry")],
                    "run": ["type": "integer", "minimum": 1, "description": "This run's number; a retry adds one."],
                    "previous_runs": [
                        "type": "array", "items": ref("ExecutionRun"),
                        "description": "The runs retries ended, oldest first, each as it ended.",
                    ],
                    "rerun_of": [
                        "anyOf": [string, ["type": "null"]], "description": "The execution this one reruns.",
                    ],
                ],
            ],
            "ExecutionRun": [
                "type": "object",
                "properties": [
                    "run": ["type": "integer", "minimum": 1], "status": enumeration(ExecutionStatus.self),
                    "error": nullable(string), "started_at": time, "completed_at": nullable(time),
                    "retried_at": time, "execution_log": ["type": "array", "items": ref("ExecutionLogEntry")],
                ],
            ],
            "RerunRequest": object([
                "trigger_data": [
                    "type": ["object", "null"],
                    "description": "Replaces the original's trigger_data; the original's when absent.",
                ]
            ]),
            "RerunStarted": [
                "type": "object",
                "properties": [
                    "execution_id": string, "status": enumeration(ExecutionStatus.self), "started_at": time,
                    "rerun_of": string,
                ],
            ],
            "BulkRetryRequest": object([
                "status": ["type": "string", "enum": ["failed"], "description": "Only failed executions are retried."],
                "workflow_id": string, "trigger_type": enumeration(TriggerType.self),
                "started_after": time, "started_before": time,
                "limit": ["type": "integer", "minimum": 1, "maximum": 1000, "description": "100 when absent."],
            ]),
            "BulkRetried": [
                "type": "object",
                "properties": ["retried": ["type": "array", "items": string], "count": ["type": "integer"]],
            ],
            "ExecutionLogEntry": [
                "type": "object",
                "properties": [
                    "step_id": string, "type": enumeration(StepType.self), "status": enumeration(StepStatus.self),
                    "attempts": ["type": "integer"], "started_at": nullable(time), "completed_at": nullable(time),
                    "duration_ms": nullable(["type": "integer"]), "output": anyJSON, "error": nullable(string),
                    "queued_ms": ["type": "integer", "description": "Only for steps a worker process ran."],
                ],
            ],
            "ExecutionList": [
                "type": "object",
                "properties": [
                    "executions": ["type": "array", "items": ref("Execution")], "next_cursor": nullable(string),
                ],
            ],
            "ScheduleCreate": scheduleBody(required: ["cron_expression"]),
            "ScheduleUpdate": scheduleBody(required: []),
            "Schedule": [
                "type": "object",
                "properties": [
                    "workflow_id": string, "cron_expression": string, "timezone": string,
                    "enabled": ["type": "boolean"],
                    "next_run_at": nullable(time), "last_run_at": nullable(time), "created_at": nullable(time),
                    "updated_at": nullable(time),
                ],
            ],
            "IntegrationCreate": integrationBody(required: ["name", "integration_type", "config"]),
            "IntegrationUpdate": integrationBody(required: []),
            "Integration": [
                "type": "object",
                "properties": [
                    "id": string, "workflow_id": nullable(string), "name": string,
                    "integration_type": enumeration(IntegrationType.self), "config": integrationConfig,
                    "created_at": time, "updated_at": time,
                ],
            ],
            "IntegrationList": [
                "type": "object", "properties": ["integrations": ["type": "array", "items": ref("Integration")]],
            ],
            "SlackIntegrationConfig": object(
                ["webhook_url": ["type": "string", "format": "uri"], "channel": string, "template": string],
                required: ["webhook_url"]),
            "EmailIntegrationConfig": object(
                [
                    "to": ["anyOf": [string, ["type": "array", "minItems": 1, "items": string]]], "subject": string,
                    "template": string, "from": string,
                ], required: ["to"]),
            "WebhookIntegrationConfig": object(
                [
                    "url": ["type": "string", "format": "uri"],
                    "method": ["type": "string", "enum": .array(IntegrationValidator.methods.map { .string($0) })],
                    "headers": ["type": "object", "additionalProperties": string], "secret": string, "template": string,
                ], required: ["url"]),
            "CreateFromTemplate": object(
                ["template_id": string, "name": string, "description": nullable(string)], required: ["template_id"]),
            "Template": [
                "type": "object",
                "properties": [
                    "id": string, "name": string, "description": string,
                    "category": enumeration(WorkflowTemplate.Category.self),
                    "trigger_type": enumeration(TriggerType.self), "trigger_config": triggerConfig,
                    "definition": ref("Definition"),
                ],
            ],
            "TemplateList": [
                "type": "object", "properties": ["templates": ["type": "array", "items": ref("Template")]],
            ],
            "SchemaCreate": schemaBody(required: ["name", "fields"]),
            "SchemaUpdate": schemaBody(required: ["name", "fields"]),
            "SchemaField": object(
                [
                    "name": string, "type": enumeration(FieldType.self), "required": ["type": "boolean"],
                    "labels": ["type": "array", "items": string], "pattern": nullable(string),
                    "description": nullable(string),
                ], required: ["name", "type"]),
            "ExtractionSchema": [
                "type": "object",
                "properties": [
                    "id": string, "name": string, "description": nullable(string), "built_in": ["type": "boolean"],
                    "fields": ["type": "array", "items": ref("SchemaField")],
                ],
            ],
            "SchemaList": [
                "type": "object", "properties": ["schemas": ["type": "array", "items": ref("ExtractionSchema")]],
            ],
            "AuditEntry": [
                "type": "object",
                "properties": [
                    "id": string, "at": time,
                    "actor": ["type": "object", "properties": ["kind": string, "name": string]],
                    "action": string, "resource_type": string, "resource_id": nullable(string),
                    "request_id": nullable(string), "transport": ["type": "string", "enum": ["http", "amqp"]],
                ],
            ],
            "AuditPage": [
                "type": "object",
                "properties": [
                    "entries": ["type": "array", "items": ref("AuditEntry")], "next_cursor": nullable(string),
                ],
            ],
            "Health": ["type": "object", "properties": ["status": string]],
            "Readiness": [
                "type": "object",
                "properties": [
                    "status": ["type": "string", "enum": ["ready", "unavailable"]], "broker": ["type": "boolean"],
                    "database": ["type": "boolean"], "parked_status_events": ["type": "integer"],
                    "broker_error": string,
                ],
            ],
        ]
        for type in StepType.allCases {
            all[stepName(type)] = object(
                [
                    "id": ["type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"],
                    "type": ["const": .string(type.rawValue)],
                    "config": ref(stepName(type) + "Config"),
                    "next": ["type": "string", "description": "A step id or end; not on a condition step."],
                    "retry": ref("RetryPolicy"), "timeout_ms": ["type": "integer", "minimum": 1],
                    "on_error": enumeration(OnError.self),
                ], required: ["id", "type"])
        }
        return .object(all)
    }

    private static let triggerConfig: JSONValue = [
        "anyOf": .array(TriggerType.allCases.map { ref(triggerConfigName($0)) })
    ]

    private static let integrationConfig: JSONValue = [
        "anyOf": .array(IntegrationType.allCases.map { ref(integrationConfigName($0)) })
    ]

    private static func workflowBody(required: [String]) -> JSONValue {
        object(
            [
                "id": readOnly, "created_at": readOnly, "updated_at": readOnly,
                "name": ["type": "string", "minLength": 1], "description": nullable(string),
                "definition": ref("Definition"), "trigger_type": enumeration(TriggerType.self),
                "trigger_config": [
                    "description": "Its keys depend on trigger_type.",
                    "anyOf": .array(TriggerType.allCases.map { ref(triggerConfigName($0)) }),
                ],
                "enabled": ["type": "boolean"],
            ], required: required)
    }

    private static func scheduleBody(required: [String]) -> JSONValue {
        object(
            [
                "cron_expression": ["type": "string", "description": "Five-field cron or @hourly, @daily, ..."],
                "timezone": ["type": "string", "description": "An IANA name; UTC when absent."],
                "enabled": ["type": "boolean"], "workflow_id": readOnly, "next_run_at": readOnly,
                "last_run_at": readOnly, "created_at": readOnly, "updated_at": readOnly,
            ], required: required)
    }

    private static func integrationBody(required: [String]) -> JSONValue {
        object(
            [
                "id": readOnly, "created_at": readOnly, "updated_at": readOnly, "workflow_id": nullable(string),
                "name": ["type": "string", "minLength": 1], "integration_type": enumeration(IntegrationType.self),
                "config": [
                    "description": "Its keys depend on integration_type.", "anyOf": integrationConfig["anyOf"]!,
                ],
            ], required: required)
    }

    private static func schemaBody(required: [String]) -> JSONValue {
        object(
            [
                "id": ["type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"], "name": string,
                "description": nullable(string),
                "fields": ["type": "array", "minItems": 1, "items": ref("SchemaField")],
                "built_in": readOnly,
            ], required: required)
    }
}
