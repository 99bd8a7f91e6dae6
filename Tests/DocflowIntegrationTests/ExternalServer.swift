import AMQPClient
import DocflowClient
import DocflowCore
import DocflowService
import DocflowTestSupport
import Foundation
import Logging

/// `docflow serve` as a separate process, for tests that kill it.
final class ExternalServer: @unchecked Sendable {
    let prefix: String
    let directory: URL
    let connection: AMQPConnection
    let client: APIClient
    private var process: Process?
    /// 0: no HTTP.
    let httpPort: Int
    /// Variables that override the defaults below.
    let environment: [String: String]
    var pid: pid_t? { process?.processIdentifier }

    /// The docflow binary built beside the test bundle.
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("docflow").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return FileManager.default.currentDirectoryPath + "/.build/debug/docflow"
    }

    /// jq programs get 30 s by default, as a step without `timeout_ms` does: the busy programs
    /// of the crash tests must not meet the server's 10 s cap on a loaded machine.
    init(httpPort: Int = 0, environment: [String: String] = ["DOCFLOW_MAX_JQ_TIMEOUT_MS": "30000"]) async throws {
        self.httpPort = httpPort
        self.environment = environment
        let id = UUID().uuidString.prefix(8).lowercased()
        prefix = "test-\(id)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-ext-\(id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try installTestAPIKey(databasePath: directory.appendingPathComponent("docflow.sqlite").path)
        var logger = Logger(label: "test.external")
        logger.logLevel = .warning
        var amqp = try AMQPConfiguration(url: TestServer.amqpURL, connectionName: "\(prefix) test")
        amqp.initialBackoff = .milliseconds(50)
        connection = AMQPConnection(amqp, logger: logger)
        try await connection.waitUntilConnected(timeout: .seconds(15))
        client = try await APIClient(connection: connection, queue: "\(prefix).api")
        try await launch()
    }

    /// Starts the process and waits until it answers the API.
    func launch() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve"]
        var environment = ProcessInfo.processInfo.environment
        environment["DOCFLOW_AMQP_URL"] = TestServer.amqpURL
        environment["DOCFLOW_QUEUE_TYPE"] = "classic"
        environment["DOCFLOW_PREFIX"] = prefix
        environment["DOCFLOW_EVENTS_EXCHANGE"] = "\(prefix).platform.events"
        environment["DOCFLOW_DATABASE"] = directory.appendingPathComponent("docflow.sqlite").path
        environment["DOCFLOW_HTTP_PORT"] = "\(httpPort)"
        environment["DOCFLOW_LOG_LEVEL"] = environment["DOCFLOW_TEST_LOG_LEVEL"] ?? "warning"
        environment["DOCFLOW_OUTBOUND_ALLOW"] = localServerRanges.joined(separator: ",")
        environment.merge(self.environment) { _, given in given }
        process.environment = environment
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while true {
            // Unroutable until the server has declared its queue; then answered.
            if (try? await client.call("GET", "/api/workflows", timeout: .seconds(5)))?.status == 200 { return }
            if ContinuousClock.now > deadline { throw TestFailure("docflow serve did not come up") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// SIGKILL: no shutdown, no goodbye to the broker. Waits for the end in /proc, not with
    /// `waitUntilExit`, which can wait for good when another child inherited its socket.
    func kill9() async {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = await waitUntilGone(process.processIdentifier, within: .seconds(20))
        self.process = nil
    }

    func call(_ method: String, _ path: String, query: [String: String] = [:], body: JSONValue? = nil) async throws
        -> APIClient.Reply
    {
        try await client.call(method, path, query: query, body: body, timeout: .seconds(30))
    }

    func monitor(binding: String) async throws -> AMQPConsumer {
        let channel = try await connection.openChannel()
        let queue = "\(prefix).monitor.\(UUID().uuidString.prefix(6))"
        try await channel.declare(AMQPQueue(queue, durable: false, exclusive: true, autoDelete: true))
        try await channel.bind(AMQPBinding(queue: queue, exchange: "\(prefix).status", routingKey: binding))
        return try await channel.consume(queue: queue, noAck: true)
    }

    func stop() async {
        if let process {
            process.terminate()
            if !(await waitUntilGone(process.processIdentifier, within: .seconds(60))) {
                kill(process.processIdentifier, SIGKILL)
                _ = await waitUntilGone(process.processIdentifier, within: .seconds(20))
            }
        }
        let channel = try? await connection.openChannel()
        for queue in ["\(prefix).api", "\(prefix).dead-letter", "\(prefix).platform-events"] {
            _ = try? await channel?.deleteQueue(queue)
        }
        for exchange in ["\(prefix).status", "\(prefix).dlx", "\(prefix).platform.events"] {
            try? await channel?.deleteExchange(exchange)
        }
        await connection.close()
        try? FileManager.default.removeItem(at: directory)
    }
}
