import AMQPClient
import DocflowClient
import Testing

@testable import DocflowService

/// Which kind of queue docflow declares, and with which arguments, without a broker.
struct QueueTypeTests {
    @Test(arguments: [
        ("3.7.28", false), ("3.8.0", true), ("3.10.8", true), ("3.13.7", true), ("4.0.5", true),
        ("2.8.4", false), ("3.8.0+rc.1", true), ("unknown", true),
    ])
    func quorumQueuesComeWithRabbitMQ38(version: String, has: Bool) {
        #expect(QueueType.brokerHasQuorumQueues(version: version) == has)
    }

    @Test func aBrokerThatDoesNotSayItsVersionIsTriedWithQuorumQueues() {
        #expect(QueueType.brokerHasQuorumQueues(version: nil))
    }

    @Test func quorumWorkQueuesHaveADeliveryLimitAndDeadLetter() {
        let names = Names(prefix: "p", eventsExchange: "e")
        let queue = BrokerTopology.queue("p.api", quorum: true, deadLettered: true, names: names)
        #expect(queue.durable && !queue.exclusive && !queue.autoDelete)
        #expect(
            queue.arguments == [
                "x-queue-type": "quorum", "x-delivery-limit": .int(Int64(BrokerTopology.deliveryLimit)),
                "x-dead-letter-exchange": .string(names.deadLetterExchange),
            ])
    }

    @Test func theQuorumDeadLetterQueueDeadLettersNowhere() {
        let names = Names(prefix: "p", eventsExchange: "e")
        let queue = BrokerTopology.queue(names.deadLetterQueue, quorum: true, deadLettered: false, names: names)
        #expect(queue.arguments == ["x-queue-type": "quorum"])
    }

    @Test func classicQueuesKeepOnlyTheDeadLetterExchange() {
        let names = Names(prefix: "p", eventsExchange: "e")
        let queue = BrokerTopology.queue("p.api", quorum: false, deadLettered: true, names: names)
        #expect(queue.durable)
        #expect(queue.arguments == ["x-dead-letter-exchange": .string(names.deadLetterExchange)])
    }
}
