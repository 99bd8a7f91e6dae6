import AMQPClient
import DocflowStore

extension OutboxMessage {
    /// The status event as contract section 4 puts it on the wire: on the status `exchange`,
    /// routing key `<event>.<workflow_id>`, persistent, headers `workflow_id` and `execution_id`.
    func amqpMessage(exchange: String) -> AMQPMessage {
        var headers: [String: AMQPFieldValue] = ["workflow_id": .string(workflowID)]
        if let executionID { headers["execution_id"] = .string(executionID) }
        return AMQPMessage(
            exchange: exchange, routingKey: "\(event).\(workflowID)", body: body,
            properties: AMQPProperties(
                contentType: "application/json", headers: headers, persistent: true, messageID: messageID,
                timestamp: UInt64(createdAt)))
    }
}
