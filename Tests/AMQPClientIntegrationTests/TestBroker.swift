import AMQPClient
import Foundation
import Logging

/// The RabbitMQ the integration tests use: `DOCFLOW_TEST_AMQP_URL`, else the local default.
enum TestBroker {
    static let url =
        ProcessInfo.processInfo.environment["DOCFLOW_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2F"

    static func connect(_ name: String = "test") async throws -> AMQPConnection {
        var configuration = try AMQPConfiguration(url: url, connectionName: name)
        configuration.initialBackoff = .milliseconds(50)
        configuration.maxBackoff = .milliseconds(500)
        var logger = Logger(label: "test.amqp")
        logger.logLevel = .warning
        let connection = AMQPConnection(configuration, logger: logger)
        try await connection.waitUntilConnected(timeout: .seconds(15))
        return connection
    }

    /// A name no other test uses, so tests can run in parallel on one broker.
    static func uniqueName(_ base: String) -> String {
        "test.\(base).\(UUID().uuidString.prefix(8).lowercased())"
    }
}
