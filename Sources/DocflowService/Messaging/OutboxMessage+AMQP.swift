import AMQPClient
import DocflowStore
import Foundation

extension OutboxMessage {
    /// The status event as contract section 4 puts it on the wire: on the status `exchange`,
    /// routing key `<event>.<workflow_id>`, persistent, headers `workflow_id` and `execution_id`.
    /// A task (`queue` set) goes straight to its queue through the default exchange, typed
    /// `docflow.task`, expiring at the attempt's deadline.
    func amqpMessage(exchange: String, now: Date = Date()) -> AMQPMessage {
        var headers: [String: AMQPFieldValue] = ["workflow_id": .string(workflowID)]
        if let executionID { headers["execution_id"] = .string(executionID) }
        var properties = AMQPProperties(
            contentType: "application/json", headers: headers, persistent: true, messageID: messageID,
            timestamp: UInt64(createdAt))
        guard let queue else {
            return AMQPMessage(
                exchange: exchange, routingKey: "\(event).\(workflowID)", body: body, properties: properties)
        }
        properties.type = event
        if let expiresAt {
            // Relative, as AMQP has it; a task relayed late still goes, expiring at once, so that
            // its expiry reaches the engine like any other.
            properties.expiration = String(max(1, Int64(((expiresAt - now.timeIntervalSince1970) * 1000).rounded(.up))))
        }
        return AMQPMessage(exchange: "", routingKey: queue, body: body, properties: properties)
    }
}
