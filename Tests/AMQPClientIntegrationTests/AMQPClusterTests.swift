import AMQPClient
import DocflowTestSupport
import Foundation
import Logging
import Testing

/// Several endpoints, as for the nodes of a cluster: which one the connection uses, and how soon
/// it comes back. The backoff is 5 s throughout, so reconnecting sooner shows it was not waited.
@Suite("AMQP client with several endpoints")
struct AMQPClusterTests {
    @Test func anUnreachableFirstEndpointIsPassedOverForTheNextAtOnce() async throws {
        let broker = try AMQPConfiguration(url: TestBroker.url)
        let connection = try connect("amqp://guest:guest@127.0.0.1:1/%2F,\(TestBroker.url)", name: "cluster.skip")
        try await connection.waitUntilConnected(timeout: .seconds(2))
        #expect(connection.endpoint == broker.endpoints[0])
        await connection.close()
    }

    @Test func aNodeThatGoesAwayIsReplacedByTheNextAtOnce() async throws {
        let broker = try AMQPConfiguration(url: TestBroker.url)
        let proxy = try FreezableProxy(host: broker.host, port: broker.port)
        defer { proxy.stop() }
        var node = broker.endpoints[0]
        node.port = proxy.port
        var configuration = try AMQPConfiguration(url: TestBroker.url, connectionName: TestBroker.uniqueName("cluster"))
        configuration.endpoints = [node, broker.endpoints[0]]
        configuration.initialBackoff = .seconds(5)
        configuration.maxBackoff = .seconds(5)
        let connection = AMQPConnection(configuration, logger: quietLogger)
        try await connection.waitUntilConnected(timeout: .seconds(5))
        #expect(connection.endpoint?.port == proxy.port)
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("failover")
        try await channel.declare(AMQPQueue(queue, durable: true))
        try await Task.sleep(for: .milliseconds(1100))  // a connection that lasted, not a flapping one

        proxy.stop()
        try await waitFor(timeout: .seconds(2)) { connection.connectCount >= 2 && connection.isConnected }
        #expect(connection.endpoint == broker.endpoints[0])
        // The queue was declared again on the new node, and the channel works.
        try await channel.deleteQueue(queue)
        await connection.close()
    }

    @Test func theFirstReconnectAfterTheBrokerClosesTheConnectionDoesNotWait() async throws {
        let name = TestBroker.uniqueName("cluster.forced")
        let connection = try connect(TestBroker.url, name: name)
        try await connection.waitUntilConnected(timeout: .seconds(5))
        try await Task.sleep(for: .milliseconds(1100))
        try await closeConnection(named: name)
        try await waitFor(timeout: .seconds(2)) { connection.connectCount >= 2 && connection.isConnected }
        await connection.close()
    }

    private var quietLogger: Logger {
        var logger = Logger(label: "test.amqp")
        logger.logLevel = .critical
        return logger
    }

    private func connect(_ url: String, name: String) throws -> AMQPConnection {
        var configuration = try AMQPConfiguration(url: url, connectionName: name)
        configuration.initialBackoff = .seconds(5)
        configuration.maxBackoff = .seconds(5)
        return AMQPConnection(configuration, logger: quietLogger)
    }
}
