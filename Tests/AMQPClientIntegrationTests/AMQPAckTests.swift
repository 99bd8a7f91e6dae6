import AMQPClient
import DocflowTestSupport
import Foundation
import Testing

/// Acks are coalesced into `multiple` ones; these check that none is lost, none waits for a slow
/// delivery, and a nack in between stays a nack.
@Suite("AMQP client: coalesced acks")
struct AMQPAckTests {
    /// Publishes `count` messages whose bodies are their index.
    private func fill(_ channel: AMQPChannel, _ queue: String, count: Int) async throws {
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        try await channel.enableConfirms()
        let results = await channel.publish(
            batch: (0..<count).map { AMQPMessage(routingKey: queue, body: Data("\($0)".utf8)) })
        for result in results { try result.get() }
    }

    /// Takes `count` deliveries from one iterator, or fails after `timeout`.
    private func take(_ count: Int, from consumer: AMQPConsumer, within timeout: Duration) async throws
        -> [AMQPDelivery]
    {
        let deliveries = try await consumer.collect(within: timeout) { $0.count == count }
        return try #require(deliveries, "got fewer than \(count) deliveries within \(timeout)")
    }

    /// How many messages are left in `queue` (from a fresh connection), deleting it.
    private func takeRemaining(_ queue: String) async throws -> UInt32 {
        let checking = try await TestBroker.connect("check")
        let channel = try await checking.openChannel()
        let info = try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        _ = try await channel.deleteQueue(queue)
        await checking.close()
        return info.messageCount
    }

    @Test func acksInAnyOrderAllReachTheBroker() async throws {
        let queue = TestBroker.uniqueName("acks")
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        try await fill(channel, queue, count: 200)

        let consuming = try await connection.openChannel()
        try await consuming.setPrefetch(500)
        let consumer = try await consuming.consume(queue: queue)
        var deliveries = try await take(200, from: consumer, within: .seconds(10))
        deliveries.shuffle()
        for delivery in deliveries { delivery.ack() }
        // Acks travel before the cancel, on the same connection thread, in order.
        try await consumer.cancel()
        await connection.close()

        // Anything not acked would be back in the queue once its connection closed.
        #expect(try await takeRemaining(queue) == 0)
    }

    @Test func aDeliveryLeftUnackedDoesNotHoldBackTheAcksOfLaterOnes() async throws {
        let queue = TestBroker.uniqueName("slow-first")
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        try await fill(channel, queue, count: 40)

        let consuming = try await connection.openChannel()
        try await consuming.setPrefetch(5)
        let consumer = try await consuming.consume(queue: queue)
        // With a prefetch of 5, the broker sends more only as acks come in: if the acks behind the
        // first delivery waited for it, the other 35 would never arrive.
        let (seen, held) = try await withThrowingTaskGroup(of: (Int, AMQPDelivery?)?.self) { group in
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return nil
            }
            group.addTask {
                var held: AMQPDelivery?
                var seen = 0
                for try await delivery in consumer {
                    seen += 1
                    if held == nil {
                        held = delivery
                    } else {
                        delivery.ack()
                    }
                    if seen == 40 { break }
                }
                return (seen, held)
            }
            let first = try await group.next()!
            group.cancelAll()
            return first ?? (0, nil)
        }
        #expect(seen == 40, "only \(seen) of 40 deliveries arrived")
        held?.nack(requeue: false)
        try await consumer.cancel()
        await connection.close()

        #expect(try await takeRemaining(queue) == 0)
    }

    @Test func aNackBetweenAcksRequeuesOnlyThatMessage() async throws {
        let queue = TestBroker.uniqueName("nack-between")
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        try await fill(channel, queue, count: 30)

        let consuming = try await connection.openChannel()
        try await consuming.setPrefetch(100)
        let consumer = try await consuming.consume(queue: queue)
        let deliveries = try await take(30, from: consumer, within: .seconds(10))
        for delivery in deliveries {
            if String(decoding: delivery.body, as: UTF8.self) == "17" {
                delivery.nack(requeue: true)
            } else {
                delivery.ack()
            }
        }
        try await consumer.cancel()
        await connection.close()

        // The acked ones are gone; the nacked one came back (and went back again with the
        // connection): exactly one is left.
        #expect(try await takeRemaining(queue) == 1)
    }
}
