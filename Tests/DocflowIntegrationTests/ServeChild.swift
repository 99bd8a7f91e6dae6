import AMQPClient
import DocflowTestSupport
import Foundation
import Logging

/// `docflow serve` as a child process with the flags a test gives, under a prefix of its own and
/// on a fresh database, its log (stderr) in a file: for tests of how the process starts and ends.
final class ServeChild: @unchecked Sendable {
    let prefix: String
    let directory: URL
    let process = Process()
    var logPath: String { directory.appendingPathComponent("docflow.log").path }
    /// Its own database, unless `environment` names another.
    var database: String { directory.appendingPathComponent("docflow.sqlite").path }

    /// `environment` is added to (and wins over) the test's own and the variables set here.
    init(
        arguments: [String], logLevel: String = "info", environment extra: [String: String] = [:],
        withTestKey: Bool = true, command: String = "serve"
    ) throws {
        let id = UUID().uuidString.prefix(8).lowercased()
        prefix = "test-\(id)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-child-\(id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if withTestKey { try installTestAPIKey(databasePath: directory.appendingPathComponent("docflow.sqlite").path) }
        process.executableURL = URL(fileURLWithPath: ExternalServer.binary)
        process.arguments = [command] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DOCFLOW_AMQP_URL"] = TestServer.amqpURL
        environment["DOCFLOW_QUEUE_TYPE"] = "classic"
        environment["DOCFLOW_PREFIX"] = prefix
        environment["DOCFLOW_EVENTS_EXCHANGE"] = "\(prefix).platform.events"
        environment["DOCFLOW_DATABASE"] = directory.appendingPathComponent("docflow.sqlite").path
        environment["DOCFLOW_DOCUMENT_ROOT"] = directory.appendingPathComponent("documents").path
        environment["DOCFLOW_LOG_LEVEL"] = logLevel
        environment["DOCFLOW_OUTBOUND_ALLOW"] = localServerRanges.joined(separator: ",")
        environment.merge(extra) { _, new in new }
        process.environment = environment
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits up to `timeout` for the process to end; its exit status, or nil while it runs.
    func exitStatus(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills the process if it still runs, removes what it declared and its folder.
    func remove() async {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = await waitUntilGone(process.processIdentifier, within: .seconds(20))
        }
        var logger = Logger(label: "test.child")
        logger.logLevel = .critical
        if let configuration = try? AMQPConfiguration(url: TestServer.amqpURL, connectionName: "\(prefix) cleanup") {
            let connection = AMQPConnection(configuration, logger: logger)
            if (try? await connection.waitUntilConnected(timeout: .seconds(10))) != nil,
                let channel = try? await connection.openChannel()
            {
                for queue in [
                    "\(prefix).api", "\(prefix).dead-letter", "\(prefix).platform-events", "\(prefix).results",
                    "\(prefix).tasks.parse", "\(prefix).tasks.extract", "\(prefix).tasks.integration",
                ] {
                    _ = try? await channel.deleteQueue(queue)
                }
                for exchange in ["\(prefix).status", "\(prefix).dlx", "\(prefix).platform.events"] {
                    try? await channel.deleteExchange(exchange)
                }
            }
            await connection.close()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
