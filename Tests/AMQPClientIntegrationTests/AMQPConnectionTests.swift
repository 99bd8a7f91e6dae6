import AMQPClient
import DocflowTestSupport
import Foundation
import Testing

@Suite("AMQP client against a real broker")
struct AMQPConnectionTests {
    @Test func confirmedPublishIsDeliveredToAConsumer() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("confirm")
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: true))
        try await channel.enableConfirms()
        let consumer = try await channel.consume(queue: queue)

        try await channel.publish(
            AMQPMessage(
                routingKey: queue, body: Data("hello".utf8),
                properties: AMQPProperties(
                    contentType: "text/plain", headers: ["attempt": 1, "who": "test"], persistent: true,
                    correlationID: "c-1", messageID: "m-1")))

        let delivery = try #require(try await consumer.first(within: .seconds(5)))
        #expect(String(decoding: delivery.body, as: UTF8.self) == "hello")
        #expect(delivery.properties.correlationID == "c-1")
        #expect(delivery.properties.messageID == "m-1")
        #expect(delivery.properties.persistent)
        #expect(delivery.properties.headers["attempt"] == .int(1))
        #expect(delivery.properties.headers["who"]?.stringValue == "test")
        delivery.ack()
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test(.timeLimit(.minutes(1))) func aBatchOfBodiesFromEmptyToManyFramesArrivesWhole() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("frames")
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: true))
        try await channel.enableConfirms()
        let consumer = try await channel.consume(queue: queue)
        // Empty, one frame, exactly a frame's room (frame_max 131072 less 8), one byte more, and
        // several frames: written at once, they must come back byte for byte, in order.
        let sizes = [0, 1, 131_064, 131_065, 400_000]
        let bodies = sizes.enumerated().map { index, size in
            Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
        }
        let results = await channel.publish(
            batch: bodies.enumerated().map { index, body in
                AMQPMessage(
                    routingKey: queue, body: body,
                    properties: AMQPProperties(headers: ["index": .int(Int64(index))], messageID: "m-\(index)"))
            })
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
        var iterator = consumer.makeAsyncIterator()
        for (index, body) in bodies.enumerated() {
            let delivery = try #require(try await iterator.next())
            #expect(delivery.properties.messageID == "m-\(index)")
            #expect(delivery.properties.headers["index"] == .int(Int64(index)))
            #expect(delivery.body == body, "body \(index) of \(body.count) bytes")
            delivery.ack()
        }
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func manyPipelinedPublishesAreAllConfirmed() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("pipelined")
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        try await channel.enableConfirms()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<500 {
                group.addTask {
                    try await channel.publish(AMQPMessage(routingKey: queue, body: Data("\(index)".utf8)))
                }
            }
            try await group.waitForAll()
        }
        let info = try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        #expect(info.messageCount == 500)
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func mandatoryPublishWithNoRouteThrowsUnroutable() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        try await channel.enableConfirms()
        await #expect(throws: AMQPError.unroutable(code: 312, text: "NO_ROUTE")) {
            try await channel.publish(
                AMQPMessage(routingKey: TestBroker.uniqueName("nowhere"), body: Data("x".utf8), mandatory: true))
        }
        // The channel is still usable afterwards.
        let queue = TestBroker.uniqueName("after-return")
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: true))
        try await channel.publish(AMQPMessage(routingKey: queue, body: Data("y".utf8), mandatory: true))
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func publishingToAMissingExchangeFailsWithTheBrokersReplyText() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        try await channel.enableConfirms()
        let exchange = TestBroker.uniqueName("missing")
        do {
            try await channel.publish(AMQPMessage(exchange: exchange, routingKey: "x", body: Data()))
            Issue.record("publish to a missing exchange succeeded")
        } catch let error as AMQPError {
            #expect(error.replyName == "NOT_FOUND")
            #expect("\(error)".contains(exchange))
        }
        // The channel reopens with confirms on.
        let queue = TestBroker.uniqueName("reopened")
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: true))
        try await channel.publish(AMQPMessage(routingKey: queue, body: Data("ok".utf8)))
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func declaringAQueueWithOtherArgumentsIsPreconditionFailed() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("mismatch")
        try await channel.declare(AMQPQueue(queue, durable: true))
        do {
            try await channel.declare(AMQPQueue(queue, durable: false))
            Issue.record("redeclaring with other arguments succeeded")
        } catch let error as AMQPError {
            #expect(error.replyName == "PRECONDITION_FAILED")
        }
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func wrongCredentialsAreAccessRefused() async throws {
        var configuration = try AMQPConfiguration(url: TestBroker.url)
        configuration.password = "definitely-wrong"
        configuration.initialBackoff = .seconds(5)
        let connection = AMQPConnection(configuration, logger: .init(label: "test"))
        do {
            try await connection.waitUntilConnected(timeout: .seconds(3))
            Issue.record("connected with a wrong password")
        } catch let error as AMQPError {
            #expect(
                error.replyName == "ACCESS_REFUSED" || "\(error)".contains("ACCESS_REFUSED")
                    || "\(error)".contains("login"))
        }
        await connection.close()
    }

    @Test func rejectedMessageLandsInTheDeadLetterQueue() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        let dlx = TestBroker.uniqueName("dlx")
        let deadLetters = TestBroker.uniqueName("dead")
        let work = TestBroker.uniqueName("work")
        try await channel.declare(AMQPExchange(dlx, kind: .fanout, durable: false, autoDelete: true))
        try await channel.declare(AMQPQueue(deadLetters, durable: false, autoDelete: false))
        try await channel.bind(AMQPBinding(queue: deadLetters, exchange: dlx, routingKey: ""))
        try await channel.declare(
            .quorum(work, deliveryLimit: 3, deadLetterExchange: dlx))
        try await channel.enableConfirms()
        try await channel.setPrefetch(10)

        try await channel.publish(AMQPMessage(routingKey: work, body: Data("poison".utf8)))
        let consumer = try await channel.consume(queue: work)
        let delivery = try #require(try await consumer.first(within: .seconds(5)))
        delivery.reject(requeue: false)

        let deadConsumer = try await channel.consume(queue: deadLetters)
        let dead = try #require(try await deadConsumer.first(within: .seconds(5)))
        #expect(String(decoding: dead.body, as: UTF8.self) == "poison")
        dead.ack()
        try await channel.deleteQueue(work)
        try await channel.deleteQueue(deadLetters)
        try await channel.deleteExchange(dlx)
        await connection.close()
    }

    @Test func unackedDeliveriesAreLimitedByPrefetch() async throws {
        let connection = try await TestBroker.connect()
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("prefetch")
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        try await channel.enableConfirms()
        for index in 0..<10 {
            try await channel.publish(AMQPMessage(routingKey: queue, body: Data("\(index)".utf8)))
        }
        let consumerChannel = try await connection.openChannel()
        try await consumerChannel.setPrefetch(3)
        let consumer = try await consumerChannel.consume(queue: queue)
        var iterator = consumer.makeAsyncIterator()
        var received: [AMQPDelivery] = []
        for _ in 0..<3 { received.append(try #require(try await iterator.next())) }
        try await Task.sleep(for: .milliseconds(300))
        let info = try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: false))
        #expect(info.messageCount == 7)
        // One multiple ack settles all three; the next batch follows.
        consumerChannel.ackMultiple(upTo: received[2].deliveryTag, of: received[2])
        let fourth = try #require(try await iterator.next())
        #expect(String(decoding: fourth.body, as: UTF8.self) == "3")
        try await channel.deleteQueue(queue)
        await connection.close()
    }
}
