import DocflowCore
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Evaluates jq programs in a few `docflow-jq` helper processes.
///
/// libjq 1.6 is not thread-safe and cannot be interrupted, so it never runs in docflow's own
/// process. A program that overruns its deadline gets its process killed; one that crashes libjq
/// takes only its process down. Either way only that program's step fails, and the process is
/// started again for the next program. Compiled programs are cached inside each process.
///
/// No program runs longer than `maxTimeout`, whatever timeout it is given. While every helper is
/// stuck on a slow program, as many spare helpers take the other programs, so a few runaways
/// cannot hold up every jq step for that long.
package final class JQPool: Sendable {
    /// The first `size` run executions (`executor()`); the rest are the spares.
    private let workers: [JQWorker]
    private let size: Int
    private let turn = Atomic<UInt>(0)
    /// The longest any program runs.
    package let maxTimeout: Duration

    package static let defaultMaxTimeout = Duration.seconds(10)

    /// - Parameters:
    ///   - executable: the `docflow-jq` binary; see `defaultExecutable`.
    ///   - size: how many programs run at once (twice as many while these are all stuck).
    ///   - maxTimeout: the longest any program runs, whatever timeout it is given.
    ///   - maxReplyBytes: the most JSON a program's results may come to; a helper that writes more
    ///     is killed before docflow reads the rest (`JQError.outputTooLarge`).
    package init(
        executable: String = JQPool.defaultExecutable, size: Int = 2, maxTimeout: Duration = JQPool.defaultMaxTimeout,
        maxReplyBytes: Int = MessageLimits().maxStepOutputBytes, logger: Logger
    ) {
        // A write to a killed helper must come back as an error, not kill docflow.
        signal(SIGPIPE, SIG_IGN)
        self.size = max(size, 1)
        self.maxTimeout = maxTimeout
        workers = (0..<2 * self.size).map {
            JQWorker(index: $0, executable: executable, maxReplyBytes: maxReplyBytes, logger: logger)
        }
    }

    deinit {
        shutdown()
    }

    /// `DOCFLOW_JQ_PATH`, else `docflow-jq` beside the running executable, else on the PATH.
    package static var defaultExecutable: String {
        HelperProcess.locate("docflow-jq", variable: "DOCFLOW_JQ_PATH")
    }

    /// A worker's thread to run a task on, each in turn. A task there sends its programs
    /// straight to that worker's helper, and each reply resumes it on that thread: no hop between
    /// threads per program. Such a task must not block; see `JQWorker`.
    package func executor() -> any TaskExecutor {
        workers[Int(turn.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(size))]
    }

    /// Checks that `program` compiles.
    package func compile(_ program: String, timeout: Duration = .seconds(5)) async throws(JQError) {
        _ = try await run(["program": .string(program), "compile_only": true], timeout: timeout)
    }

    /// Every output of `program` run on `input`.
    ///
    /// `timeout` counts from now, and is at most `maxTimeout`. A program that only gets to run after it has passed, queued behind a
    /// slow one, still runs for up to 250 ms (or `timeout`, if shorter) before it is killed.
    package func evaluate(_ program: String, input: JSONValue, timeout: Duration) async throws(JQError) -> [JSONValue] {
        try await run(["program": .string(program), "input": input], timeout: timeout)
    }

    /// Kills the helpers; every request not yet answered fails with `unavailable`, and so does
    /// every later one. Never blocks.
    package func shutdown() {
        for worker in workers { worker.stop() }
    }

    private func run(_ request: JSONValue, timeout: Duration) async throws(JQError) -> [JSONValue] {
        var line = request.encoded()
        line.append(UInt8(ascii: "\n"))
        let now = monotonicNanoseconds()
        return try await leastBusyWorker(now: now).submit(line, timeout: min(timeout, maxTimeout), now: now).get()
    }

    /// The worker with the fewest requests outstanding; a tie goes to the worker whose thread
    /// asks, for its request needs no hop. One whose helper has been on the same program for a
    /// while is passed over: whatever joins its queue waits for that program. Spares are asked
    /// only when every other worker is stuck so.
    private func leastBusyWorker(now: UInt64) -> JQWorker {
        var best = workers[0]
        var bestLoad = best.load(now: now)
        for (position, worker) in workers.enumerated().dropFirst() {
            if position == size, bestLoad < JQWorker.stuckPenalty { break }
            let load = worker.load(now: now)
            if load < bestLoad { (best, bestLoad) = (worker, load) }
        }
        if !best.isCurrentThread, let own = workers.prefix(size).first(where: { $0.isCurrentThread }),
            own.load(now: now) <= bestLoad
        {
            return own
        }
        return best
    }

    /// A reply line as a result, or the `JQError` it reports.
    static func decode(_ reply: ArraySlice<UInt8>) -> Result<[JSONValue], JQError> {
        guard let json = try? JSONValue.parse(reply) else { return .failure(.crashed("unreadable reply")) }
        if json["ok"] == true { return .success(json["results"]?.arrayValue ?? []) }
        let message = (json["error"]?.stringValue ?? "unknown error").trimmingCharacters(in: .whitespacesAndNewlines)
        switch json["kind"]?.stringValue {
        case "compile": return .failure(.compile(message))
        case "runtime": return .failure(.runtime(message))
        default: return .failure(.crashed(message))
        }
    }
}
