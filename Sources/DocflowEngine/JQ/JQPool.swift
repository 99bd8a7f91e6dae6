import DocflowCore
import Foundation
import Logging
import Synchronization

/// Evaluates jq programs in a few `docflow-jq` helper processes.
///
/// libjq 1.6 is not thread-safe and cannot be interrupted, so it never runs in docflow's own
/// process. A program that overruns its deadline gets its process killed; one that crashes libjq
/// takes only its process down. Either way only that program's step fails, and the process is
/// started again for the next program. Compiled programs are cached inside each process.
public final class JQPool: Sendable {
    private let workers: [JQWorker]
    private let state = Mutex(PoolState())
    private let logger: Logger

    private struct PoolState {
        var idle: [Int] = []
        var waiting: [CheckedContinuation<Int, Never>] = []
    }

    /// - Parameters:
    ///   - executable: the `docflow-jq` binary; see `defaultExecutable`.
    ///   - size: how many programs run at once.
    public init(executable: String = JQPool.defaultExecutable, size: Int = 2, logger: Logger) {
        // A write to a killed helper must come back as an error, not kill docflow.
        signal(SIGPIPE, SIG_IGN)
        self.logger = logger
        workers = (0..<max(size, 1)).map { JQWorker(index: $0, executable: executable, logger: logger) }
        state.withLock { $0.idle = Array(workers.indices) }
    }

    /// `DOCFLOW_JQ_PATH`, else `docflow-jq` beside the running executable, else on the PATH.
    public static var defaultExecutable: String {
        if let path = ProcessInfo.processInfo.environment["DOCFLOW_JQ_PATH"], !path.isEmpty { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("docflow-jq").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let build = URL(fileURLWithPath: Bundle.main.bundlePath).appendingPathComponent("docflow-jq").path
        if FileManager.default.isExecutableFile(atPath: build) { return build }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(folder)/docflow-jq") {
            return "\(folder)/docflow-jq"
        }
        return "docflow-jq"
    }

    /// Checks that `program` compiles.
    public func compile(_ program: String, timeout: Duration = .seconds(5)) async throws(JQError) {
        _ = try await run(["program": .string(program), "compile_only": true], timeout: timeout)
    }

    /// Every output of `program` run on `input`.
    public func evaluate(_ program: String, input: JSONValue, timeout: Duration) async throws(JQError) -> [JSONValue] {
        try await run(["program": .string(program), "input": input], timeout: timeout)
    }

    public func shutdown() {
        for worker in workers { worker.stop() }
    }

    private func run(_ request: JSONValue, timeout: Duration) async throws(JQError) -> [JSONValue] {
        let index = await acquire()
        defer { release(index) }
        let worker = workers[index]
        let reply = await worker.roundTrip(request.encoded(), timeout: timeout)
        switch reply {
        case .failure(let error):
            throw error
        case .success(let data):
            guard let json = try? JSONValue.parse(data) else { throw .crashed("unreadable reply") }
            if json["ok"] == true { return json["results"]?.arrayValue ?? [] }
            let message = (json["error"]?.stringValue ?? "unknown error").trimmingCharacters(
                in: .whitespacesAndNewlines)
            switch json["kind"]?.stringValue {
            case "compile": throw .compile(message)
            case "runtime": throw .runtime(message)
            default: throw .crashed(message)
            }
        }
    }

    private func acquire() async -> Int {
        await withCheckedContinuation { continuation in
            let index = state.withLock { state -> Int? in
                if let index = state.idle.popLast() { return index }
                state.waiting.append(continuation)
                return nil
            }
            if let index { continuation.resume(returning: index) }
        }
    }

    private func release(_ index: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Int, Never>? in
            if state.waiting.isEmpty {
                state.idle.append(index)
                return nil
            }
            return state.waiting.removeFirst()
        }
        waiter?.resume(returning: index)
    }
}

/// One helper process, used by one program at a time, on a thread of its own because its pipe
/// I/O blocks.
final class JQWorker: @unchecked Sendable {
    private let index: Int
    private let executable: String
    private let logger: Logger
    private let queue: DispatchQueue
    /// Read and written only on `queue`.
    private var process: Process?
    private var input: Int32 = -1
    private var output: Int32 = -1
    private var buffer: [UInt8] = []
    /// Written by the deadline timer, read on `queue`.
    private let pid = Atomic<Int32>(0)
    private let killedForTimeout = Atomic<Bool>(false)
    /// Which request the deadline timer belongs to, so a late timer never kills the next one.
    private let requestToken = Atomic<UInt64>(0)

    init(index: Int, executable: String, logger: Logger) {
        self.index = index
        self.executable = executable
        self.logger = logger
        queue = DispatchQueue(label: "docflow.jq.\(index)")
    }

    func roundTrip(_ request: Data, timeout: Duration) async -> Result<Data, JQError> {
        killedForTimeout.store(false, ordering: .relaxed)
        let token = requestToken.add(1, ordering: .acquiringAndReleasing).newValue
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.killForTimeout(token)
        }
        let result = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.exchange(request)) }
        }
        timer.cancel()
        requestToken.add(1, ordering: .acquiringAndReleasing)
        if case .failure = result, killedForTimeout.load(ordering: .acquiring) {
            return .failure(.timeout(milliseconds: timeout.milliseconds))
        }
        return result
    }

    private func killForTimeout(_ token: UInt64) {
        let running = pid.load(ordering: .acquiring)
        if running > 0, requestToken.load(ordering: .acquiring) == token {
            killedForTimeout.store(true, ordering: .releasing)
            kill(running, SIGKILL)
        }
    }

    /// Kills the helper at once (a program it is running never finishes on its own), then lets
    /// the worker's queue reap it. Never blocks the caller.
    func stop() {
        let running = pid.load(ordering: .acquiring)
        if running > 0 { kill(running, SIGKILL) }
        queue.async { self.terminate(expected: true) }
    }

    /// Runs on `queue`.
    private func exchange(_ request: Data) -> Result<Data, JQError> {
        if process == nil {
            do {
                try launch()
            } catch {
                return .failure(.unavailable("cannot start \(executable): \(error)"))
            }
        }
        var line = request
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let n = write(input, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        if written, let reply = readLine() { return .success(reply) }
        let reason = terminate()
        return .failure(.crashed(reason))
    }

    private func readLine() -> Data? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            let n = read(output, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    private func launch() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        input = stdin.fileHandleForWriting.fileDescriptor
        output = stdout.fileHandleForReading.fileDescriptor
        // Keep the file descriptors open as long as the process lives.
        pipes = (stdin, stdout)
        buffer.removeAll()
        pid.store(process.processIdentifier, ordering: .releasing)
        logger.debug("started a jq helper", metadata: ["pid": "\(process.processIdentifier)", "worker": "\(index)"])
    }

    private var pipes: (Pipe, Pipe)?

    /// Ends the process (if still running) and says how it ended.
    @discardableResult
    private func terminate(expected: Bool = false) -> String {
        guard let process else { return "not running" }
        pid.store(0, ordering: .releasing)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? pipes?.0.fileHandleForWriting.close()
        try? pipes?.1.fileHandleForReading.close()
        pipes = nil
        self.process = nil
        buffer.removeAll()
        let reason =
            process.terminationReason == .uncaughtSignal
            ? "the jq process was killed by signal \(process.terminationStatus)"
            : "the jq process exited with status \(process.terminationStatus)"
        if !expected { logger.warning("jq helper ended", metadata: ["worker": "\(index)", "reason": "\(reason)"]) }
        return reason
    }
}
