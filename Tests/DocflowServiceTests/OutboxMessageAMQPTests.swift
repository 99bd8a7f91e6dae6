import AMQPClient
import DocflowStore
import Foundation
import Testing

@testable import DocflowService
@testable import DocflowStore

/// How a stored status event goes on the wire (contract section 4).
@Suite struct OutboxMessageAMQPTests {
    @Test func anExecutionEventGoesToTheStatusExchangeUnderItsEventAndWorkflow() {
        let message = OutboxMessage(
            event: "workflow.step.completed", workflowID: "w-1", executionID: "e-1", messageID: "m-1",
            body: Data("{}".utf8), createdAt: 1_700_000_000.5)
        let amqp = message.amqpMessage(exchange: "docflow.status")
        #expect(amqp.exchange == "docflow.status")
        #expect(amqp.routingKey == "workflow.step.completed.w-1")
        #expect(amqp.body == Data("{}".utf8))
        #expect(amqp.properties.headers == ["workflow_id": .string("w-1"), "execution_id": .string("e-1")])
        #expect(amqp.properties.messageID == "m-1")
        #expect(amqp.properties.contentType == "application/json")
        #expect(amqp.properties.persistent)
        #expect(amqp.properties.timestamp == 1_700_000_000)
    }

    @Test func aDefinitionEventHasNoExecutionHeader() {
        let message = OutboxMessage(
            event: "workflow.created", workflowID: "w-1", executionID: nil, messageID: "m-1", body: Data())
        let amqp = message.amqpMessage(exchange: "x.status")
        #expect(amqp.routingKey == "workflow.created.w-1")
        #expect(amqp.properties.headers == ["workflow_id": .string("w-1")])
    }

    @Test func aVersion1RowStillRelaysToTheSameExchangeRoutingKeyAndHeaders() throws {
        // As version 1 wrote them: exchange, routing key and headers stored with each message.
        let stored = Self.version1Batch([
            (
                exchange: "docflow.status", routingKey: "workflow.step.failed.0b8e6a84", messageID: "m-1",
                headers: ["execution_id": "e-1", "workflow_id": "0b8e6a84"], body: Data("{\"a\":1}".utf8)
            ),
            (
                exchange: "docflow.status", routingKey: "workflow.deleted.0b8e6a84", messageID: "m-2",
                headers: ["workflow_id": "0b8e6a84"], body: Data("{}".utf8)
            ),
        ])
        let messages = try OutboxCoding.decode(stored, seq: 7)
        #expect(messages.map(\.event) == ["workflow.step.failed", "workflow.deleted"])
        let relayed = messages.map { $0.amqpMessage(exchange: "docflow.status") }
        #expect(relayed.map(\.exchange) == ["docflow.status", "docflow.status"])
        #expect(relayed.map(\.routingKey) == ["workflow.step.failed.0b8e6a84", "workflow.deleted.0b8e6a84"])
        #expect(
            relayed.map(\.properties.headers) == [
                ["execution_id": .string("e-1"), "workflow_id": .string("0b8e6a84")],
                ["workflow_id": .string("0b8e6a84")],
            ])
        #expect(relayed.map(\.properties.messageID) == ["m-1", "m-2"])
        #expect(relayed.map(\.body) == [Data("{\"a\":1}".utf8), Data("{}".utf8)])
        #expect(relayed.map(\.properties.timestamp) == [1_700_000_000, 1_700_000_000])
        // Written again, it is the current version, and reads back the same.
        #expect(try OutboxCoding.decode(OutboxCoding.encode(messages), seq: 7) == messages)
    }

    /// A batch in the binary form of `OutboxCoding` version 1.
    private static func version1Batch(
        _ messages: [(exchange: String, routingKey: String, messageID: String, headers: [String: String], body: Data)]
    ) -> Data {
        var out: [UInt8] = [1]
        func put(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        func put(_ string: String) {
            put(UInt32(string.utf8.count))
            out.append(contentsOf: string.utf8)
        }
        put(UInt32(messages.count))
        for message in messages {
            withUnsafeBytes(of: (1_700_000_000.25 as Double).bitPattern.littleEndian) { out.append(contentsOf: $0) }
            put(message.exchange)
            put(message.routingKey)
            put(message.messageID)
            put(UInt32(message.headers.count))
            for (name, value) in message.headers.sorted(by: { $0.key < $1.key }) {
                put(name)
                put(value)
            }
            put(UInt32(message.body.count))
            out.append(contentsOf: message.body)
        }
        return Data(out)
    }
}
