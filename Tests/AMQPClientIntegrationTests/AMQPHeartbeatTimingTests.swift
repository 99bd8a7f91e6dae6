import AMQPClient
import DocflowTestSupport
import Foundation
import Logging
import Testing

/// A broker that stops answering without closing anything, frozen behind a proxy of the test's
/// own (never the shared broker), against the clock: run alone (`Timing` in the suite name).
@Suite("AMQP heartbeat Timing")
struct AMQPHeartbeatTimingTests {
    /// The documented bound for a 1 s heartbeat, 2 intervals + 1 s, and a margin for a loaded machine.
    let bound = Duration.seconds(3)
    let margin = Duration.seconds(4)

    @Test func anIdleConnectionToAFrozenBrokerIsDroppedWithinTwoHeartbeatsAndComesBack() async throws {
        let proxy = try proxyToBroker()
        defer { proxy.stop() }
        let connection = try await connect(through: proxy, name: TestBroker.uniqueName("frozen-idle"))
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("frozen-idle")
        _ = try await channel.declare(AMQPQueue(queue, durable: true))

        proxy.freeze()
        let frozen = ContinuousClock.now
        try await waitFor(timeout: bound + margin) { !connection.isConnected }
        #expect(ContinuousClock.now - frozen < bound + margin)
        let error = try #require(connection.lastError)
        #expect(error.isConnectionLoss && "\(error)".contains("heartbeat"), "\(error)")

        proxy.thaw()
        try await waitFor(timeout: .seconds(30)) { connection.isConnected }
        #expect(connection.connectCount == 2)
        try await channel.enableConfirms()
        try await channel.publish(AMQPMessage(routingKey: queue, body: Data("after".utf8), mandatory: true))
        _ = try await channel.deleteQueue(queue)
        await connection.close()
    }

    /// rabbitmq-c gets no say here: the connection's thread is writing a message larger than the
    /// socket buffers, and only docflow's own check notices that nothing comes back.
    @Test func aFreezeDuringALargePublishIsNoticedWithinTwoHeartbeatsAndThePublishGoesThroughAfterIt()
        async throws
    {
        let proxy = try proxyToBroker()
        defer { proxy.stop() }
        let connection = try await connect(through: proxy, name: TestBroker.uniqueName("frozen-publish"))
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("frozen-publish")
        _ = try await channel.declare(AMQPQueue(queue, durable: true))
        try await channel.enableConfirms()

        proxy.freeze()
        let frozen = ContinuousClock.now
        let body = Data(repeating: 0x61, count: 32 << 20)
        let publish = Task { try await channel.publish(AMQPMessage(routingKey: queue, body: body, mandatory: true)) }
        try await waitFor(timeout: bound + margin) { !connection.isConnected }
        #expect(ContinuousClock.now - frozen < bound + margin)
        let error = try #require(connection.lastError)
        guard case .heartbeatTimeout(let silence, let interval) = error else {
            Issue.record("lost the connection with \(error), not docflow's missed heartbeats")
            return
        }
        #expect(interval == .seconds(1))
        #expect(silence >= .seconds(2))

        proxy.thaw()
        // Sent again on the next connection, and confirmed there.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await publish.value }
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                throw AMQPError.timeout("the publish after the thaw")
            }
            try await group.next()
            group.cancelAll()
        }
        #expect(try await channel.deleteQueue(queue) == 1)
        await connection.close()
    }

    @Test func aFreezeDuringADeclarationFailsItWithMissedHeartbeatsWithinTwoHeartbeats() async throws {
        let proxy = try proxyToBroker()
        defer { proxy.stop() }
        let connection = try await connect(through: proxy, name: TestBroker.uniqueName("frozen-declare"))
        let channel = try await connection.openChannel()
        let queue = TestBroker.uniqueName("frozen-declare")

        proxy.freeze()
        let frozen = ContinuousClock.now
        await #expect {
            _ = try await channel.declare(AMQPQueue(queue, durable: true))
        } throws: { error in
            guard case .heartbeatTimeout = error as? AMQPError else { return false }
            return true
        }
        #expect(ContinuousClock.now - frozen < bound + margin)
        #expect(!connection.isConnected)

        proxy.thaw()
        try await waitFor(timeout: .seconds(30)) { connection.isConnected }
        _ = try await channel.declare(AMQPQueue(queue, durable: true))
        _ = try await channel.deleteQueue(queue)
        await connection.close()
    }

    private func proxyToBroker() throws -> FreezableProxy {
        let broker = try AMQPConfiguration(url: TestBroker.url)
        return try FreezableProxy(host: broker.host, port: broker.port)
    }

    private func connect(through proxy: FreezableProxy, name: String) async throws -> AMQPConnection {
        var configuration = try AMQPConfiguration(url: TestBroker.url, connectionName: name)
        configuration.host = "127.0.0.1"
        configuration.port = proxy.port
        configuration.heartbeat = 1
        configuration.initialBackoff = .milliseconds(50)
        configuration.maxBackoff = .milliseconds(500)
        var logger = Logger(label: "test.amqp")
        logger.logLevel = .critical
        let connection = AMQPConnection(configuration, logger: logger)
        try await connection.waitUntilConnected(timeout: .seconds(15))
        return connection
    }
}
