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

    public static func definition(_ event: DefinitionEvent, _ workflow: Workflow, names: Names) -> OutboxMessage {
        message(event.rawValue, workflowID: workflow.id, executionID: nil, data: workflow.json(), names: names)
    }

    static func message(
        _ event: String, workflowID: String, executionID: String?, data: JSONValue, names: Names, now: Date = Date()
    ) -> OutboxMessage {
        let id = UUID().uuidString.lowercased()
        let body: JSONValue = [
            "id": .string(id),
            "event": .string(event),
            "timestamp": .string(RFC3339.string(from: now)),
            "data": data,
        ]
        var headers = ["workflow_id": workflowID]
        if let executionID { headers["execution_id"] = executionID }
        return OutboxMessage(
            exchange: names.statusExchange, routingKey: "\(event).\(workflowID)", messageID: id, headers: headers,
            body: body.encoded())
    }
}
