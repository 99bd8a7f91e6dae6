import AMQPClient
import DocflowTestSupport
import Foundation
import Testing

/// `AMQPChannel.close()`: the broker forgets the channel (what it held unsettled goes back to the
/// queue), its consumers finish, and the connection's other channels go on.
@Suite("AMQP client: closing a channel")
struct AMQPChannelCloseTests {
    @Test func closingAChannelEndsItsConsumerGivesBackItsDeliveriesAndLeavesTheOthersWorking() async throws {
        let queue = TestBroker.uniqueName("close")
        let connection = try await TestBroker.connect()
        let publisher = try await connection.openChannel()
        try await publisher.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        try await publisher.enableConfirms()
        try await publisher.publish(AMQPMessage(routingKey: queue, body: Data("held".utf8)))

        let consuming = try await connection.openChannel()
        let consumer = try await consuming.consume(queue: queue)
        var iterator = consumer.makeAsyncIterator()
        let held = try #require(try await iterator.next())
        #expect(held.body == Data("held".utf8))

        await consuming.close()
        // The stream ends instead of waiting for deliveries that cannot come.
        #expect(try await iterator.next() == nil)
        // The unsettled delivery is back in the queue, and the connection's other channel still
        // publishes with confirms.
        try await publisher.publish(AMQPMessage(routingKey: queue, body: Data("after".utf8)))
        let again = try #require(try await publisher.get(queue: queue, noAck: true))
        #expect(again.body == Data("held".utf8))
        #expect(again.redelivered)
        let after = try #require(try await publisher.get(queue: queue, noAck: true))
        #expect(after.body == Data("after".utf8))

        // A closed channel stays closed: the broker's late frames for it find nothing, and a new
        // channel is how to go on.
        await #expect(throws: AMQPError.closed) {
            try await consuming.publish(AMQPMessage(routingKey: queue, body: Data("late".utf8)))
        }
        await #expect(throws: AMQPError.closed) { try await consuming.inspectQueue(queue) }
        let fresh = try await connection.openChannel()
        #expect(fresh.number != consuming.number)
        try await fresh.enableConfirms()
        try await fresh.publish(AMQPMessage(routingKey: queue, body: Data("fresh".utf8)))
        #expect(try await publisher.get(queue: queue, noAck: true)?.body == Data("fresh".utf8))
        _ = try await publisher.deleteQueue(queue)
        await connection.close()
    }
}
