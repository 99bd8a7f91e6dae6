import AMQPClient
import DocflowClient
import DocflowService
import DocflowTestSupport
import Foundation
import Testing

/// docflow's own queues are quorum queues on a broker that has them; queues an older docflow
/// declared classic keep working; several broker URLs are tried in turn.
@Suite("Queue types and broker URLs")
/// Timing (the type's name): a start held to a few seconds runs alone, after the parallel tests.
struct BrokerClusterTimingTests {
    @Test func aFreshPrefixGetsQuorumQueues() async throws {
        let server = try await TestServer.start { $0.queueType = .auto }
        let names = server.names
        let types = try await queueTypes()
        #expect(types[names.apiQueue] == "quorum")
        #expect(types[names.platformEventsQueue] == "quorum")
        #expect(types[names.deadLetterQueue] == "quorum")
        try await server.stop()
    }

    @Test func classicQueuesOfAnOlderDeploymentAreKeptAndServe() async throws {
        let prefix = "test-classic-\(UUID().uuidString.prefix(8).lowercased())"
        let names = Names(prefix: prefix, eventsExchange: "\(prefix).platform.events")
        let connection = AMQPConnection(try AMQPConfiguration(url: TestServer.amqpURL), logger: .init(label: "test"))
        let channel = try await connection.openChannel()
        for queue in [names.apiQueue, names.platformEventsQueue, names.deadLetterQueue] {
            try await channel.declare(AMQPQueue(queue, durable: true))
        }

        let server = try await TestServer.start {
            $0.queueType = .auto
            $0.prefix = prefix
            $0.eventsExchange = names.eventsExchange
        }
        let reply = try await server.call("GET", "/api/workflows")
        #expect(reply.status == 200)
        let types = try await queueTypes()
        #expect(types[names.apiQueue] == "classic")
        #expect(types[names.platformEventsQueue] == "classic")
        #expect(types[names.deadLetterQueue] == "classic")
        try await server.stop()
        await connection.close()
    }

    @Test func quorumModeRefusesToStartOnAClassicQueue() async throws {
        let prefix = "test-strict-\(UUID().uuidString.prefix(8).lowercased())"
        let names = Names(prefix: prefix, eventsExchange: "\(prefix).platform.events")
        let connection = AMQPConnection(try AMQPConfiguration(url: TestServer.amqpURL), logger: .init(label: "test"))
        let channel = try await connection.openChannel()
        try await channel.declare(AMQPQueue(names.deadLetterQueue, durable: true))
        do {
            let server = try await TestServer.start {
                $0.prefix = prefix
                $0.eventsExchange = names.eventsExchange
                $0.queueType = .quorum
            }
            try await server.stop()
            Issue.record("started with a classic queue in quorum mode")
        } catch {
            #expect("\(error)".contains(names.deadLetterQueue))
        }
        try await channel.deleteQueue(names.deadLetterQueue)
        for exchange in [names.statusExchange, names.deadLetterExchange] {
            try await channel.deleteExchange(exchange)
        }
        await connection.close()
    }

    @Test func anUnreachableFirstBrokerURLIsPassedOverWithinACoupleOfSeconds() async throws {
        let begin = ContinuousClock.now
        let server = try await TestServer.start {
            $0.queueType = .auto
            $0.amqpURL = "amqp://guest:guest@127.0.0.1:1/%2F,\(TestServer.amqpURL)"
        }
        #expect(ContinuousClock.now - begin < .seconds(3))
        let reply = try await server.call("GET", "/api/workflows")
        #expect(reply.status == 200)
        try await server.stop()
    }

    /// Every queue's type, by name, as `rabbitmqctl` reports it.
    private func queueTypes() async throws -> [String: String] {
        let output = try await shell("rabbitmqctl", "-q", "list_queues", "name", "type", "--formatter", "json")
        guard let start = output.firstIndex(of: "["),
            let rows = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]]
        else { throw TestFailure("unexpected rabbitmqctl output: \(output.prefix(500))") }
        var types: [String: String] = [:]
        for row in rows {
            if let name = row["name"] as? String, let type = row["type"] as? String { types[name] = type }
        }
        return types
    }
}
