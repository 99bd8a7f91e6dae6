import Foundation

/// A `docflow worker` child: takes the tasks that a `docflow serve --dispatch ...` of the same
/// prefix sends. It logs (warnings and above) to a file of its own in the temporary folder;
/// `stop` ends it with SIGTERM and removes that file.
final class WorkerProcess: @unchecked Sendable {
    let name: String
    let logPath: String
    private let process = Process()

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Starts the child at once; it is ready once it consumes its task queues.
    init(binary: String, name: String, prefix: String, amqpURL: String, arguments: [String]) throws {
        self.name = name
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-bench-\(name).log").path
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["worker"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DOCFLOW_AMQP_URL"] = amqpURL
        environment["DOCFLOW_PREFIX"] = prefix
        environment["DOCFLOW_LOG_LEVEL"] = "warning"
        process.environment = environment
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        ServerProcess.track(process.processIdentifier)
    }

    /// SIGTERM, then up to `grace` for a clean stop, then SIGKILL. Returns what the report should
    /// say about the stop (a kill, a failing exit status) and the worker's log, if anything.
    func stop(grace: Duration = .seconds(20)) async -> [String] {
        defer {
            ServerProcess.untrack(process.processIdentifier)
            try? FileManager.default.removeItem(atPath: logPath)
        }
        var notes: [String] = []
        if process.isRunning {
            process.terminate()
            let deadline = Nanos.now() + UInt64(grace.components.seconds) * 1_000_000_000
            while process.isRunning, Nanos.now() < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                notes.append("\(name) did not stop within \(grace) of SIGTERM and was killed")
            } else if process.terminationStatus != 0 {
                notes.append("\(name) exited with status \(process.terminationStatus) after SIGTERM")
            }
        } else {
            notes.append("\(name) had exited with status \(process.terminationStatus)")
        }
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        notes += log.split(separator: "\n").suffix(5).map { "\(name): \($0)" }
        return notes
    }
}
