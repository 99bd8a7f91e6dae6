import DocflowCore
import Foundation

/// One attempt of a step, sent to a `docflow worker`: everything the step needs to run (its
/// config, the execution context, the integration with its secrets, the schema) and nothing of
/// the engine's. The worker has no database; it runs the step and answers with a `StepTaskResult`.
///
/// The id names the attempt, `<execution_id>:<step_id>:<attempt>`: the engine applies a result
/// only to the attempt that is pending under that id.
package struct StepTask: Sendable, Equatable {
    package var executionID: String
    package var workflowID: String
    package var stepID: String
    package var attempt: Int
    package var type: StepType
    package var config: [String: JSONValue]
    package var timeoutMs: Int
    /// When the attempt's deadline passes, in milliseconds since 1970 (the task expires then).
    package var deadlineMs: Int64
    /// The execution context of contract section 6.
    package var context: JSONValue
    package var latestOutput: JSONValue?
    package var parsedDocument: JSONValue?
    /// An integration step's integration, resolved by the engine, secrets included.
    package var integration: Integration?
    /// An extract step's schema, resolved by the engine.
    package var schema: ExtractionSchema?

    package init(
        executionID: String, workflowID: String, stepID: String, attempt: Int, type: StepType,
        config: [String: JSONValue], timeoutMs: Int, deadlineMs: Int64, context: JSONValue,
        latestOutput: JSONValue? = nil, parsedDocument: JSONValue? = nil, integration: Integration? = nil,
        schema: ExtractionSchema? = nil
    ) {
        self.executionID = executionID
        self.workflowID = workflowID
        self.stepID = stepID
        self.attempt = attempt
        self.type = type
        self.config = config
        self.timeoutMs = timeoutMs
        self.deadlineMs = deadlineMs
        self.context = context
        self.latestOutput = latestOutput
        self.parsedDocument = parsedDocument
        self.integration = integration
        self.schema = schema
    }

    package var id: String { Self.id(executionID: executionID, stepID: stepID, attempt: attempt) }

    package static func id(executionID: String, stepID: String, attempt: Int) -> String {
        "\(executionID):\(stepID):\(attempt)"
    }

    /// The step as the worker runs it: its deadline is the engine's, not a new one.
    package var step: StepDefinition {
        StepDefinition(id: stepID, type: type, config: config, timeoutMs: timeoutMs)
    }

    package func json() -> JSONValue {
        var fields: [String: JSONValue] = [
            "task_id": .string(id),
            "execution_id": .string(executionID),
            "workflow_id": .string(workflowID),
            "step_id": .string(stepID),
            "attempt": .number(Double(attempt)),
            "type": .string(type.rawValue),
            "config": .object(config),
            "timeout_ms": .number(Double(timeoutMs)),
            "deadline_ms": .number(Double(deadlineMs)),
            "context": context,
            // What an integration step sends as its Idempotency-Key, the same on every attempt.
            "idempotency_key": .string("\(executionID):\(stepID)"),
        ]
        if let latestOutput { fields["latest_output"] = latestOutput }
        if let parsedDocument { fields["parsed_document"] = parsedDocument }
        if let integration {
            fields["integration"] = [
                "id": .string(integration.id), "name": .string(integration.name),
                "type": .string(integration.type.rawValue), "config": .object(integration.config),
            ]
        }
        if let schema { fields["schema"] = schema.json() }
        return .object(fields)
    }

    /// Reads a task as `json()` writes it; the error names the field that is wrong.
    package init(json: JSONValue) throws(StepTaskError) {
        func string(_ key: String) throws(StepTaskError) -> String {
            guard let value = json[key]?.stringValue, !value.isEmpty else { throw StepTaskError("\(key) is missing") }
            return value
        }
        guard case .object = json else { throw StepTaskError("the task is not a JSON object") }
        guard let type = json["type"]?.stringValue.flatMap(StepType.init(rawValue:)) else {
            throw StepTaskError("type is not a step type")
        }
        guard let attempt = json["attempt"]?.intValue, attempt >= 1 else {
            throw StepTaskError("attempt is not a positive integer")
        }
        guard let timeoutMs = json["timeout_ms"]?.intValue, timeoutMs >= 1 else {
            throw StepTaskError("timeout_ms is not a positive integer")
        }
        guard let deadline = json["deadline_ms"]?.intValue else { throw StepTaskError("deadline_ms is missing") }
        guard let config = json["config"]?.objectValue else { throw StepTaskError("config is not an object") }
        var integration: Integration?
        if let value = json["integration"], value != .null {
            guard let id = value["id"]?.stringValue,
                let kind = value["type"]?.stringValue.flatMap(IntegrationType.init(rawValue:)),
                let config = value["config"]?.objectValue
            else { throw StepTaskError("integration needs id, type and config") }
            integration = Integration(
                id: id, workflowID: nil, name: value["name"]?.stringValue ?? id, type: kind, config: config,
                createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
        }
        var schema: ExtractionSchema?
        if let value = json["schema"], value != .null {
            // Checked as a new schema would be, then given its id back (a built-in one's included).
            var body: [String: JSONValue] = ["name": value["name"] ?? .null, "fields": value["fields"] ?? .null]
            if let description = value["description"], description != .null { body["description"] = description }
            switch SchemaValidator.validate(.object(body), id: "task-schema") {
            case .success(var valid):
                valid.id = value["id"]?.stringValue ?? valid.id
                schema = valid
            case .failure(let failure): throw StepTaskError("schema is not valid: \(failure.message)")
            }
        }
        self.init(
            executionID: try string("execution_id"), workflowID: try string("workflow_id"),
            stepID: try string("step_id"), attempt: attempt, type: type, config: config, timeoutMs: timeoutMs,
            deadlineMs: Int64(deadline), context: json["context"] ?? .object([:]),
            latestOutput: json["latest_output"], parsedDocument: json["parsed_document"], integration: integration,
            schema: schema)
    }
}

/// A task or a result that cannot be read, saying which field is wrong.
package struct StepTaskError: Error, Sendable, Equatable, CustomStringConvertible {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}

/// What a worker answers for a task: the step's output, or why it failed, and how long it ran.
package struct StepTaskResult: Sendable, Equatable {
    package var taskID: String
    package var outcome: Result<JSONValue, StepError>
    /// How long the worker ran the step, in milliseconds.
    package var runMs: Int
    /// Which worker ran it (`host:pid`), for the logs.
    package var worker: String

    package init(taskID: String, outcome: Result<JSONValue, StepError>, runMs: Int, worker: String) {
        self.taskID = taskID
        self.outcome = outcome
        self.runMs = runMs
        self.worker = worker
    }

    package func json() -> JSONValue {
        var fields: [String: JSONValue] = [
            "task_id": .string(taskID), "run_ms": .number(Double(runMs)), "worker": .string(worker),
        ]
        switch outcome {
        case .success(let output):
            fields["status"] = "completed"
            fields["output"] = output
        case .failure(let error):
            fields["status"] = "failed"
            var details: [String: JSONValue] = [
                "message": .string(error.message), "retryable": .bool(error.retryable),
                "transient": .bool(error.transient),
            ]
            if let output = error.output { details["output"] = output }
            if let retryAfter = error.retryAfter {
                details["retry_after_ms"] = .number(Double(retryAfter.milliseconds))
            }
            fields["error"] = .object(details)
        }
        return .object(fields)
    }

    package init(json: JSONValue) throws(StepTaskError) {
        guard let taskID = json["task_id"]?.stringValue, !taskID.isEmpty else {
            throw StepTaskError("task_id is missing")
        }
        let outcome: Result<JSONValue, StepError>
        switch json["status"]?.stringValue {
        case "completed"?:
            outcome = .success(json["output"] ?? .null)
        case "failed"?:
            guard let message = json["error"]?["message"]?.stringValue else {
                throw StepTaskError("error.message is missing")
            }
            var error = StepError(
                message, retryable: json["error"]?["retryable"]?.boolValue ?? false,
                output: json["error"]?["output"], transient: json["error"]?["transient"]?.boolValue ?? false)
            if let ms = json["error"]?["retry_after_ms"]?.intValue { error.retryAfter = .milliseconds(ms) }
            outcome = .failure(error)
        default:
            throw StepTaskError("status is not completed or failed")
        }
        self.init(
            taskID: taskID, outcome: outcome, runMs: max(0, json["run_ms"]?.intValue ?? 0),
            worker: json["worker"]?.stringValue ?? "")
    }
}
