import AMQPClient
import DocflowTestSupport
import Foundation
import Testing

/// `basic.get`: one message at a time from a queue nobody consumes, settled like a delivery.
@Suite("AMQP client: basic.get")
struct AMQPGetTests {
    @Test func getTakesMessagesInOrderAndNilOnceTheQueueIsEmpty() async throws {
        let queue = TestBroker.uniqueName("get")
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        try await channel.enableConfirms()
        for index in 0..<3 {
            try await channel.publish(
                AMQPMessage(
                    routingKey: queue, body: Data("\(index)".utf8),
                    properties: AMQPProperties(headers: ["n": .int(Int64(index))], messageID: "m-\(index)")))
        }
        var taken: [AMQPDelivery] = []
        while let delivery = try await channel.get(queue: queue) { taken.append(delivery) }
        #expect(taken.map { String(decoding: $0.body, as: UTF8.self) } == ["0", "1", "2"])
        #expect(taken.map(\.properties.messageID) == ["m-0", "m-1", "m-2"])
        #expect(taken.first?.properties.headers["n"] == .int(0))
        #expect(taken.first?.routingKey == queue)
        #expect(taken.allSatisfy { !$0.redelivered })
        // Held unsettled, none is ready; the first acked, the others given back.
        #expect(try await channel.inspectQueue(queue).messageCount == 0)
        taken[0].ack()
        taken[2].nack(requeue: true, multiple: true)
        // The queue takes the nack on its own time: the count is not bound to follow at once.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while try await channel.inspectQueue(queue).messageCount < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await channel.inspectQueue(queue).messageCount == 2)
        let again = try #require(try await channel.get(queue: queue, noAck: true))
        #expect(String(decoding: again.body, as: UTF8.self) == "1")
        #expect(again.redelivered)
        _ = try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func closingTheConnectionGivesBackWhatWasTakenAndNotSettled() async throws {
        let queue = TestBroker.uniqueName("get-close")
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        try await channel.enableConfirms()
        try await channel.publish(AMQPMessage(routingKey: queue, body: Data("kept".utf8)))
        #expect(try await channel.get(queue: queue) != nil)
        await connection.close()
        let checking = try await TestBroker.connect("check")
        let other = try await checking.openChannel()
        let back = try #require(try await other.get(queue: queue, noAck: true))
        #expect(back.body == Data("kept".utf8))
        _ = try await other.deleteQueue(queue)
        await checking.close()
    }

    @Test func getFromAQueueThatDoesNotExistThrowsNotFoundAndTheChannelGoesOn() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        await #expect(throws: AMQPError.self) { try await channel.get(queue: TestBroker.uniqueName("absent")) }
        let queue = TestBroker.uniqueName("get-after")
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: true))
        #expect(try await channel.get(queue: queue) == nil)
        await connection.close()
    }
}
