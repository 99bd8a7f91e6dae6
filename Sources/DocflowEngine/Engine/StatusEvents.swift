import DocflowCore
import DocflowStore
import Foundation

/// The messages of contract section 4, built as outbox rows so they commit with their change.
public enum StatusEvents {
    public enum DefinitionEvent: String, Sendable {
        case created = "workflow.created"
        case updated = "workflow.updated"
        case deleted = "workflow.deleted"
    }

    public static func definition(_ event: DefinitionEvent, _ workflow: Workflow, exchange: String) -> OutboxMessage {
        message(event.rawValue, workflowID: workflow.id, executionID: nil, data: workflow.json(), exchange: exchange)
    }

    /// `workflow.started` / `.completed` / `.failed` / `.cancelled`: the execution as the list shows it.
    public static func execution(_ execution: Execution, exchange: String) -> OutboxMessage {
        let event = execution.status == .running ? "workflow.started" : "workflow.\(execution.status.rawValue)"
        return message(
            event, workflowID: execution.workflowID, executionID: execution.id, data: execution.json(),
            exchange: exchange)
    }

    /// `workflow.step.started` / `.completed` / `.failed` / `.skipped`.
    public static func step(_ run: StepRun, of execution: Execution, exchange: String) -> OutboxMessage {
        message(
            "workflow.step.\(run.status == .running ? "started" : run.status.rawValue)",
            workflowID: execution.workflowID,
            executionID: execution.id, data: run.eventJSON(executionID: execution.id, workflowID: execution.workflowID),
            exchange: exchange)
    }

    static func message(
        _ event: String, workflowID: String, executionID: String?, data: JSONValue, exchange: String, now: Date = Date()
    ) -> OutboxMessage {
        let id = TimeOrderedID.make(now: now)
        let body: JSONValue = [
            "id": .string(id),
            "event": .string(event),
            "timestamp": .string(RFC3339.string(from: now)),
            "data": data,
        ]
        var headers = ["workflow_id": workflowID]
        if let executionID { headers["execution_id"] = executionID }
        return OutboxMessage(
            exchange: exchange, routingKey: "\(event).\(workflowID)", messageID: id, headers: headers,
            body: body.encoded())
    }
}
