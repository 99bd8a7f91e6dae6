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

/// Runs a command line tool and returns its standard output.
@discardableResult
func shell(_ arguments: String...) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
}

extension AsyncSequence where Self: Sendable, Element: Sendable {
    /// The next element, or nil when none comes within `timeout`.
    func first(within timeout: Duration) async throws -> Element? {
        try await withThrowingTaskGroup(of: Element?.self) { group in
            group.addTask {
                var iterator = self.makeAsyncIterator()
                return try await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let result = try await group.next() ?? nil
            group.cancelAll()
            return result
        }
    }
}
