import DocflowCore
import DocflowStore
import Foundation

/// The status events of contract section 4, built as outbox rows so they commit with their change;
/// the service decides where they are published.
package enum StatusEvents {
    package enum DefinitionEvent: String, Sendable {
        case created = "workflow.created"
        case updated = "workflow.updated"
        case deleted = "workflow.deleted"
    }

    package static func definition(_ event: DefinitionEvent, _ workflow: Workflow) -> OutboxMessage {
        message(event.rawValue, workflowID: workflow.id, executionID: nil, data: workflow.json())
    }

    /// `workflow.started` / `.completed` / `.failed` / `.cancelled`: the execution as the list shows it.
    package static func execution(_ execution: Execution) -> OutboxMessage {
        let event = execution.status == .running ? "workflow.started" : "workflow.\(execution.status.rawValue)"
        return message(event, workflowID: execution.workflowID, executionID: execution.id, data: execution.json())
    }

    /// `workflow.step.started` / `.completed` / `.failed` / `.skipped`.
    package static func step(_ run: StepRun, of execution: Execution) -> OutboxMessage {
        message(
            "workflow.step.\(run.status == .running ? "started" : run.status.rawValue)",
            workflowID: execution.workflowID,
            executionID: execution.id, data: run.eventJSON(executionID: execution.id, workflowID: execution.workflowID))
    }

    static func message(
        _ event: String, workflowID: String, executionID: String?, data: JSONValue, now: Date = Date()
    ) -> OutboxMessage {
        let id = TimeOrderedID.make(now: now)
        let body: JSONValue = [
            "id": .string(id),
            "event": .string(event),
            "timestamp": .string(RFC3339.string(from: now)),
            "data": data,
        ]
        return OutboxMessage(
            event: event, workflowID: workflowID, executionID: executionID, messageID: id, body: body.encoded(),
            createdAt: now.timeIntervalSince1970)
    }
}
