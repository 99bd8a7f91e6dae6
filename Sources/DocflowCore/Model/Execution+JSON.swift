import Foundation

extension Execution {
    /// The execution as the executions list shows it: the seed's fields plus `workflow_id`,
    /// `trigger_data` and `error`, and per log entry `type`, `attempts`, `output` and `error`;
    /// and its history: `run`, `previous_runs` (each run a retry ended, oldest first) and `rerun_of`.
    public func json() -> JSONValue {
        .object([
            "id": .string(id),
            "workflow_id": .string(workflowID),
            "status": .string(status.rawValue),
            "triggered_by": .string(triggeredBy.rawValue),
            "trigger_data": triggerData,
            "started_at": .string(RFC3339.string(from: startedAt)),
            "completed_at": completedAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "error": error.map(JSONValue.string) ?? .null,
            "execution_log": .array(log.map { $0.json() }),
            "run": .number(Double(runNumber)),
            "previous_runs": .array(previousRuns.map { $0.json() }),
            "rerun_of": rerunOf.map(JSONValue.string) ?? .null,
        ])
    }

    /// The execute response of the seed: `{"execution_id", "status", "started_at"}`.
    public func startedJSON() -> JSONValue {
        [
            "execution_id": .string(id),
            "status": .string(status.rawValue),
            "started_at": .string(RFC3339.string(from: startedAt)),
        ]
    }
}

extension StepRun {
    public func json() -> JSONValue {
        var fields: [String: JSONValue] = [
            "step_id": .string(stepID),
            "type": .string(type.rawValue),
            "status": .string(status.rawValue),
            "attempts": .number(Double(attempts)),
            "started_at": startedAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "completed_at": completedAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "duration_ms": durationMs.map { .number(Double($0)) } ?? .null,
            "output": output ?? .null,
            "error": error.map(JSONValue.string) ?? .null,
        ]
        // Only for steps a worker ran, so that the seed's shape is unchanged otherwise.
        if let queuedMs { fields["queued_ms"] = .number(Double(queuedMs)) }
        return .object(fields)
    }

    /// The `data` of a `workflow.step.*` status event (contract section 4).
    public func eventJSON(executionID: String, workflowID: String) -> JSONValue {
        var fields: [String: JSONValue] = [
            "execution_id": .string(executionID),
            "workflow_id": .string(workflowID),
            "step_id": .string(stepID),
            "type": .string(type.rawValue),
            "status": .string(status.rawValue),
            "attempt": .number(Double(attempts)),
            "duration_ms": durationMs.map { .number(Double($0)) } ?? .null,
            "output": output ?? .null,
            "error": error.map(JSONValue.string) ?? .null,
        ]
        // Only for steps a worker ran, so that the seed's shape is unchanged otherwise.
        if let queuedMs { fields["queued_ms"] = .number(Double(queuedMs)) }
        return .object(fields)
    }
}
