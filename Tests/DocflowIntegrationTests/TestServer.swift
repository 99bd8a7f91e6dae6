import AMQPClient
import DocflowClient
import DocflowCore
import DocflowService
import Foundation
import Logging

/// A `DocflowServer` of its own for one test: a unique prefix on the shared broker and a fresh
/// database file, plus an API client and a broker connection for the test's own queues.
final class TestServer: Sendable {
    static let amqpURL =
        ProcessInfo.processInfo.environment["DOCFLOW_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2F"

    let configuration: ServiceConfiguration
    let server: DocflowServer
    let connection: AMQPConnection
    let client: APIClient
    let directory: URL
    private let task: Task<Void, any Error>

    var names: Names { configuration.names }

    /// - Parameters:
    ///   - withTestKey: whether the database holds `testAPIKey` before the server starts.
    ///   - log: keeps everything the server logs, at every level, instead of the usual output.
    static func start(
        withTestKey: Bool = true, log: LogCapture? = nil, _ configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let id = UUID().uuidString.prefix(8).lowercased()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-test-\(id)")
        var configuration = ServiceConfiguration()
        configuration.amqpURL = amqpURL
        configuration.prefix = "test-\(id)"
        configuration.eventsExchange = "test-\(id).platform.events"
        configuration.databasePath = directory.appendingPathComponent("docflow.sqlite").path
        configuration.documentRoot = directory.appendingPathComponent("documents").path
        configuration.httpPort = 0
        // The tests' webhook, SMTP and document servers listen on loopback, refused by default.
        configuration.outboundAllow = localServerRanges
        // Hundreds of test servers share one broker: classic queues keep it light (a quorum queue
        // is a Raft member of its own). BrokerClusterTests checks the quorum default.
        configuration.queueType = .classic
        configure(&configuration)
        if withTestKey { try installTestAPIKey(databasePath: configuration.databasePath) }
        return try await TestServer(configuration: configuration, directory: directory, log: log)
    }

    /// A test server with an HTTP port, once it answers `/healthz`; the server and its port.
    static func startWithHTTP(
        withTestKey: Bool = true, _ configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) async throws -> (TestServer, Int) {
        let port = try freePort()
        let server = try await start(withTestKey: withTestKey) {
            $0.httpPort = port
            configure(&$0)
        }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while (try? await http("GET", port, "/healthz"))?.status != 200 {
            if ContinuousClock.now > deadline { throw TestFailure("HTTP port \(port) did not come up") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (server, port)
    }

    private init(configuration: ServiceConfiguration, directory: URL, log: LogCapture?) async throws {
        var logger: Logger
        if let log {
            logger = Logger(label: "test.docflow", factory: log.handler(label:))
            logger.logLevel = .trace
        } else {
            logger = Logger(label: "test.docflow")
            logger.logLevel =
                ProcessInfo.processInfo.environment["DOCFLOW_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) }
                ?? .warning
        }
        self.configuration = configuration
        self.directory = directory
        let server = try DocflowServer(configuration: configuration, logger: logger, handleSignals: false)
        self.server = server
        let task = Task { try await server.run() }
        self.task = task
        do {
            try await server.started()
        } catch {
            _ = try? await task.value
            throw error
        }
        var amqp = try AMQPConfiguration(url: configuration.amqpURL, connectionName: "\(configuration.prefix) test")
        amqp.initialBackoff = .milliseconds(50)
        connection = AMQPConnection(amqp, logger: logger)
        try await connection.waitUntilConnected(timeout: .seconds(15))
        client = try await APIClient(connection: connection, queue: configuration.names.apiQueue)
    }

    func call(
        _ method: String, _ path: String, query: [String: String] = [:], body: JSONValue? = nil,
        messageID: String? = nil
    ) async throws -> APIClient.Reply {
        try await client.call(method, path, query: query, body: body, messageID: messageID, timeout: .seconds(30))
    }

    /// A queue of the test's own bound to the status exchange, as a monitoring consumer would.
    func monitor(binding: String) async throws -> AMQPConsumer {
        let channel = try await connection.openChannel()
        let queue = "\(configuration.prefix).monitor.\(UUID().uuidString.prefix(6))"
        try await channel.declare(AMQPQueue(queue, durable: false, exclusive: true, autoDelete: true))
        try await channel.bind(AMQPBinding(queue: queue, exchange: names.statusExchange, routingKey: binding))
        return try await channel.consume(queue: queue, noAck: true)
    }

    /// Stops the server gracefully and removes what it declared on the broker.
    func stop() async throws {
        await server.shutdown()
        try await task.value
        await removeTopology()
    }

    /// Stops the server gracefully and waits until it has, leaving its topology and folder.
    func stopServing() async throws {
        await server.shutdown()
        try await task.value
    }

    /// Cancels the task running the server, as a parent task being cancelled would, and
    /// returns how long `run()` took to return; then removes what it declared.
    func cancel() async -> Duration {
        let begin = ContinuousClock.now
        task.cancel()
        _ = try? await task.value
        let took = ContinuousClock.now - begin
        await removeTopology()
        return took
    }

    private func removeTopology() async {
        let channel = try? await connection.openChannel()
        let taskQueues = ["parse", "extract", "integration"].map(names.taskQueue) + [names.resultsQueue]
        for queue in [names.apiQueue, names.deadLetterQueue, names.platformEventsQueue] + taskQueues {
            _ = try? await channel?.deleteQueue(queue)
        }
        for exchange in [names.statusExchange, names.deadLetterExchange, names.eventsExchange] {
            try? await channel?.deleteExchange(exchange)
        }
        await connection.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// What `--outbound-allow` must list for a docflow under test to reach the tests' local servers.
let localServerRanges = ["127.0.0.0/8", "::1/128"]

/// The seed's create example (shared/examples/create-workflow.json).
let seedCreateWorkflow: JSONValue = try! JSONValue.parse(
    """
    {
      "name": "Invoice Processing",
      "description": "Automatically extract data from invoices",
      "definition": {
        "steps": [
          {"id": "parse", "type": "parse", "config": {}},
          {"id": "extract", "type": "extract", "config": {"schema_id": "invoice-schema"}},
          {"id": "notify", "type": "integration", "config": {"integration_id": "slack-uuid", "template": "Invoice processed: {{invoice_number}}"}}
        ]
      },
      "trigger_type": "event",
      "trigger_config": {"event": "document.uploaded", "filters": {"file_type": "pdf", "knowledge_base_id": "kb-uuid"}},
      "enabled": true
    }
    """)
