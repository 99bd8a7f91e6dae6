import AMQPClient
import DocflowTestSupport
import Foundation
import Testing

/// Recovery from connections the broker closes or the network drops.
@Suite("AMQP client recovery")
struct AMQPReconnectTests {
    @Test func consumerResumesAfterTheBrokerClosesAllConnections() async throws {
        let name = TestBroker.uniqueName("reconnect")
        let connection = try await TestBroker.connect(name)
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("resume")
        try await channel.declare(AMQPQueue(queue, durable: true))
        try await channel.enableConfirms()
        try await channel.setPrefetch(5)
        let consumer = try await channel.consume(queue: queue)
        var iterator = consumer.makeAsyncIterator()

        try await channel.publish(AMQPMessage(routingKey: queue, body: Data("before".utf8)))
        let before = try #require(try await iterator.next())
        #expect(String(decoding: before.body, as: UTF8.self) == "before")
        before.ack()

        try await closeConnection(named: name)
        try await waitFor { connection.connectCount >= 2 }

        try await channel.publish(AMQPMessage(routingKey: queue, body: Data("after".utf8)))
        let after = try #require(try await iterator.next())
        #expect(String(decoding: after.body, as: UTF8.self) == "after")
        after.ack()
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func unconfirmedPublishesArePublishedAgainAfterAConnectionLoss() async throws {
        let connection = try await TestBroker.connect(TestBroker.uniqueName("republish"))
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("republish")
        try await channel.declare(AMQPQueue(queue, durable: true))
        try await channel.enableConfirms()
        connection.simulateConnectionLoss()
        // These go out while the connection is down or coming back, and must all arrive.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await channel.publish(AMQPMessage(routingKey: queue, body: Data("\(index)".utf8)))
                }
            }
            try await group.waitForAll()
        }
        let info = try await channel.declare(AMQPQueue(queue, durable: true))
        #expect(info.messageCount >= 50)
        try await channel.deleteQueue(queue)
        await connection.close()
    }
}

/// Tests that disturb every client of the broker. `make test` runs them after the others, alone.
@Suite("Disruptive: AMQP client and the whole broker", .serialized)
struct DisruptiveAMQPTests {
    @Test func closeAllConnectionsIsSurvivedWithTopologyDeclaredAgain() async throws {
        let connection = try await TestBroker.connect(TestBroker.uniqueName("closeall"))
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("autodelete")
        // An auto-delete queue disappears with its consumer, so it must be declared again.
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: true))
        try await channel.enableConfirms()
        let consumer = try await channel.consume(queue: queue)
        var iterator = consumer.makeAsyncIterator()

        try await shell("rabbitmqctl", "-q", "close_all_connections", "docflow test: reconnect")
        try await waitFor { connection.connectCount >= 2 && connection.isConnected }

        try await channel.publish(AMQPMessage(routingKey: queue, body: Data("again".utf8), mandatory: true))
        let delivery = try #require(try await iterator.next())
        #expect(String(decoding: delivery.body, as: UTF8.self) == "again")
        delivery.ack()
        await connection.close()
    }
}

/// Closes this test's connection from the broker side, as `close_all_connections` does for all.
func closeConnection(named name: String) async throws {
    let listing = try await shell("rabbitmqctl", "-q", "list_connections", "pid", "client_properties")
    let lines = listing.split(separator: "\n").filter { $0.contains("\"\(name)\"") }
    guard let line = lines.first, let pid = line.split(separator: "\t").first else {
        throw AMQPError.timeout("no connection named \(name) in: \(listing)")
    }
    try await shell("rabbitmqctl", "-q", "close_connection", String(pid), "docflow test: reconnect")
}

func waitFor(timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() {
        if ContinuousClock.now >= deadline { throw AMQPError.timeout("condition") }
        try await Task.sleep(for: .milliseconds(20))
    }
}
