import AMQPClient
import DocflowClient
import Foundation
import Synchronization

/// A `docflow serve` child on a fresh database in a temporary folder, under a prefix of its own,
/// answering the API over AMQP once `start` returns. `stop` ends it with SIGTERM, as an operator
/// would, and removes its exchanges, queues and folder.
final class ServerProcess: @unchecked Sendable {
    let prefix: String
    let synchronous: String
    let directory: URL
    let binary: String
    /// Flags after `serve`, e.g. `--dispatch parse,extract,integration`.
    let arguments: [String]
    private let amqpURL: String
    private var process: Process?

    var pid: Int32? { process?.processIdentifier }
    var eventsExchange: String { "\(prefix).platform.events" }
    var statusExchange: String { "\(prefix).status" }
    var apiQueue: String { "\(prefix).api" }
    var logPath: String { directory.appendingPathComponent("docflow.log").path }

    init(binary: String, prefix: String, synchronous: String, amqpURL: String, arguments: [String] = []) throws {
        self.binary = binary
        self.arguments = arguments
        self.prefix = prefix
        self.synchronous = synchronous
        self.amqpURL = amqpURL
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-bench-\(prefix)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// `docflow` beside this executable: a release build puts both in `.build/release`.
    static func binaryBesideBench() -> String {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return own.deletingLastPathComponent().appendingPathComponent("docflow").path
    }

    /// Starts the child and waits until it answers `GET /api/workflows`.
    func start(client: APIClient, timeout: Duration = .seconds(60)) async throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no docflow binary at \(binary): build it with `swift build -c release`")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DOCFLOW_AMQP_URL"] = amqpURL
        environment["DOCFLOW_PREFIX"] = prefix
        environment["DOCFLOW_EVENTS_EXCHANGE"] = eventsExchange
        environment["DOCFLOW_DATABASE"] = directory.appendingPathComponent("docflow.sqlite").path
        environment["DOCFLOW_DOCUMENT_ROOT"] = directory.appendingPathComponent("documents").path
        environment["DOCFLOW_HTTP_PORT"] = "0"
        environment["DOCFLOW_SQLITE_SYNCHRONOUS"] = synchronous
        environment["DOCFLOW_LOG_LEVEL"] = "warning"
        process.environment = environment
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        Self.track(process.processIdentifier)
        let deadline = Nanos.now() + UInt64(timeout.components.seconds) * 1_000_000_000
        while true {
            // Unroutable until the server has declared its queue; answered once it consumes.
            if (try? await client.call("GET", "/api/workflows", timeout: .seconds(2)))?.status == 200 { return }
            guard process.isRunning else {
                throw BenchError("docflow serve exited with status \(process.terminationStatus); see \(logPath)")
            }
            if Nanos.now() > deadline {
                throw BenchError("docflow serve did not answer within \(timeout); see \(logPath)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Whether the child is still running.
    var isRunning: Bool { process?.isRunning ?? false }

    /// SIGTERM, then up to `grace` for a clean stop, then SIGKILL. Returns what an operator
    /// should know about the stop, if anything: a slow stop, a kill or a failing exit status.
    @discardableResult
    func stop(grace: Duration = .seconds(40)) async -> String? {
        guard let process else { return nil }
        self.process = nil
        defer { Self.untrack(process.processIdentifier) }
        guard process.isRunning else { return "docflow serve had exited with status \(process.terminationStatus)" }
        let begin = Nanos.now()
        process.terminate()
        let deadline = begin + UInt64(grace.components.seconds) * 1_000_000_000
        while process.isRunning, Nanos.now() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let seconds = Nanos.seconds(Nanos.now() - begin)
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return "docflow serve did not stop within \(grace) of SIGTERM and was killed"
        }
        if process.terminationStatus != 0 {
            return "docflow serve exited with status \(process.terminationStatus) after SIGTERM"
        }
        return seconds > 5 ? "docflow serve took \(format(seconds, 1)) s to stop after SIGTERM" : nil
    }

    /// The children running now (`docflow serve`, and `docflow worker`s), for `stopOnSignals`.
    private static let running = Mutex<Set<Int32>>([])

    static func track(_ pid: Int32) { _ = running.withLock { $0.insert(pid) } }
    static func untrack(_ pid: Int32) { _ = running.withLock { $0.remove(pid) } }

    /// On SIGINT or SIGTERM, stops the running children too before exiting, so an interrupted
    /// benchmark leaves no docflow behind (its queues stay: they carry the run's prefix).
    static func stopOnSignals() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let pids = running.withLock { $0 }
                for pid in pids { kill(pid, SIGTERM) }
                // Foundation reaps the children; wait (up to 30 s) until they are gone.
                for _ in 0..<600 where pids.contains(where: { kill($0, 0) == 0 }) { usleep(50_000) }
                exit(128 + signalNumber)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Kept alive for the process's life; written once, at start-up, before the run begins.
    nonisolated(unsafe) private static var signalSources: [any DispatchSourceSignal] = []

    /// Deletes what docflow declared under the prefix, and the temporary folder.
    func removeTopology(channel: AMQPChannel) async {
        for queue in ["\(prefix).api", "\(prefix).platform-events", "\(prefix).dead-letter"] {
            _ = try? await channel.deleteQueue(queue)
        }
        for exchange in [statusExchange, "\(prefix).dlx", eventsExchange] {
            try? await channel.deleteExchange(exchange)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The last lines docflow logged (at warning and above), for a report of trouble.
    func logTail(lines: Int = 20) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// A failure of the benchmark itself, said in a sentence.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
