import DocflowCore
import Foundation
import Testing

extension TestServer {
    /// Creates an enabled manual workflow with these steps; returns its id.
    func createWorkflow(_ steps: [JSONValue], name: String = "test", trigger: JSONValue = "manual") async throws
        -> String
    {
        let reply = try await call(
            "POST", "/api/workflows",
            body: ["name": .string(name), "trigger_type": trigger, "definition": ["steps": .array(steps)]])
        guard reply.status == 201, let id = reply.body?["id"]?.stringValue else {
            throw TestFailure("create failed: \(reply.envelope.encodedString())")
        }
        return id
    }

    /// Executes a workflow; returns the execution id.
    func execute(_ workflowID: String, _ triggerData: JSONValue = [:]) async throws -> String {
        let reply = try await call("POST", "/api/workflows/\(workflowID)/execute", body: ["trigger_data": triggerData])
        guard reply.status == 202, let id = reply.body?["execution_id"]?.stringValue else {
            throw TestFailure("execute failed: \(reply.envelope.encodedString())")
        }
        return id
    }

    func execution(_ workflowID: String, _ executionID: String) async throws -> JSONValue {
        let reply = try await call(
            "GET", "/api/workflows/\(workflowID)/executions", query: ["execution_id": executionID])
        guard let execution = reply.body?["executions"]?.arrayValue?.first else {
            throw TestFailure("no execution \(executionID): \(reply.envelope.encodedString())")
        }
        return execution
    }

    /// Polls until the execution is no longer running.
    func finished(_ workflowID: String, _ executionID: String, timeout: Duration = .seconds(30)) async throws
        -> JSONValue
    {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let execution = try await execution(workflowID, executionID)
            if execution["status"] != "running" { return execution }
            if ContinuousClock.now > deadline { throw TestFailure("still running: \(execution.encodedString())") }
            try await Task.sleep(for: .milliseconds(25))
        }
    }
}

extension JSONValue {
    /// The log entry of a step in an execution.
    func step(_ id: String) -> JSONValue? {
        self["execution_log"]?.arrayValue?.first { $0["step_id"]?.stringValue == id }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func transform(_ id: String, _ expression: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
    var step: [String: JSONValue] = [
        "id": .string(id), "type": "transform", "config": ["expression": .string(expression)],
    ]
    step.merge(extra) { _, new in new }
    return .object(step)
}

func condition(_ id: String, _ expression: String, then: String, else otherwise: String) -> JSONValue {
    [
        "id": .string(id), "type": "condition",
        "config": ["expression": .string(expression), "then": .string(then), "else": .string(otherwise)],
    ]
}

/// A jq program that keeps a helper busy for about `seconds` on this machine.
func busy(seconds: Double) -> String {
    "reduce range(\(Int(seconds * 5_000_000))) as $i (0; . + 1)"
}
