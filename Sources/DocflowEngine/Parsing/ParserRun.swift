import DocflowCore
import DocflowDocuments
import Foundation
import Logging
import Synchronization

/// One document parsed by one `docflow-parse` process, driven by a thread of its own.
///
/// The thread starts the helper, writes the request, reads the reply and reaps the helper, so no
/// concurrency thread ever blocks on the pipes; it kills the helper at the deadline or when the
/// reply grows past its cap; cancelling the task that asked kills it from any thread. The thread
/// outlives its helper, which therefore never outlives the thread (`PR_SET_PDEATHSIG`).
final class ParserRun: Sendable {
    /// What the helper was started with and what it may take.
    struct Limits: Sendable {
        let executable: String
        /// The helper's address space (`RLIMIT_AS`), in bytes.
        let memoryBytes: Int
        /// The largest document, in bytes of JSON; past it (and the reply's envelope) the helper
        /// is killed.
        let maxOutputBytes: Int

        /// `{"ok":true,"document":…}` around the document.
        var maxReplyBytes: Int { maxOutputBytes + 64 }
    }

    /// Why the run stopped its helper, if it did.
    private enum Stop: Sendable, Equatable {
        case cancelled
        case deadline
        case tooLarge
    }

    private struct State {
        var pid: pid_t?
        /// Set before the helper is reaped: its pid is no longer ours to signal.
        var reaping = false
        var stop: Stop?
    }

    private let state = Mutex(State())
    private let logger: Logger

    private init(logger: Logger) {
        self.logger = logger
    }

    /// Parses `request` in a new helper; cancelling the calling task kills it.
    static func parse(
        _ request: ParseRequest, limits: Limits, deadline: ContinuousClock.Instant, logger: Logger
    ) async -> Result<ParsedDocument, ParserError> {
        let run = ParserRun(logger: logger)
        let bytes = request.encoded()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    nameCurrentThread("parse")
                    continuation.resume(returning: run.run(bytes, limits: limits, deadline: deadline))
                }
                thread.name = "parse"
                thread.start()
            }
        } onCancel: {
            run.stop(.cancelled)
        }
    }

    /// Kills the helper if one runs; a run not started yet starts none.
    private func stop(_ reason: Stop) {
        state.withLock { state in
            if state.stop == nil { state.stop = reason }
            if let pid = state.pid, !state.reaping { kill(pid, SIGKILL) }
        }
    }

    // MARK: - The run's thread

    private func run(_ request: Data, limits: Limits, deadline: ContinuousClock.Instant) -> Result<
        ParsedDocument, ParserError
    > {
        guard state.withLock({ $0.stop }) == nil else { return .failure(.cancelled) }
        // Its turn came too late: no helper to start and kill at once.
        guard ContinuousClock.now < deadline else { return .failure(.timeout(waiting: true)) }
        // The helper's CPU cap backs up the deadline, should docflow be too busy to kill it.
        let cpuSeconds = max(Int((deadline - ContinuousClock.now).components.seconds) + 2, 2)
        var helper: HelperProcess
        do throws(HelperProcess.SpawnError) {
            helper = try HelperProcess.spawn(
                limits.executable, arguments: ["\(limits.memoryBytes)", "\(cpuSeconds)"])
        } catch {
            return .failure(.unavailable(error.message))
        }
        state.withLock { state in
            state.pid = helper.pid
            if state.stop != nil { kill(helper.pid, SIGKILL) }
        }
        logger.debug("started a parser helper", metadata: ["pid": "\(helper.pid)"])
        let reply = exchange(request, with: &helper, maxReplyBytes: limits.maxReplyBytes, deadline: deadline)
        let stopped = state.withLock { state -> Stop? in
            state.reaping = true
            return state.stop
        }
        let ending = helper.end()
        let metadata: Logger.Metadata = ["pid": "\(helper.pid)", "reason": "the parser \(ending)"]
        switch stopped {
        case .cancelled:
            logger.info("killed a parser whose task was cancelled", metadata: metadata)
            return .failure(.cancelled)
        case .deadline:
            logger.warning("killed a parser at its deadline", metadata: metadata)
            return .failure(.timeout(waiting: false))
        case .tooLarge:
            logger.warning("killed a parser whose reply passed the step output limit", metadata: metadata)
            return .failure(.outputTooLarge(limit: limits.maxOutputBytes))
        case nil:
            break
        }
        let failure: String
        switch ending {
        case .exited(status: 0):
            switch ParseReply.decode(reply) {
            case .document(let document): return .success(document)
            case .failure(let error): return .failure(.document(error.message))
            case nil: failure = "the parser's reply is unreadable"
            }
        case .exited(let status):
            failure = "the parser exited with status \(status) without a reply"
        case .killed(signal: SIGXCPU):
            failure = "the parser used up its \(cpuSeconds) s of CPU time"
        case .killed(let signal):
            // A failed allocation under the address-space cap ends in abort, a trap or a bad
            // access, which look like any other crash.
            failure =
                "the parser stopped (signal \(signal)); documents are parsed with at most \(limits.memoryBytes >> 20) MiB of memory (--parse-memory-mb)"
        case .unknown:
            failure = "the parser ended without a reply"
        }
        logger.warning("a parser helper failed", metadata: metadata.merging(["error": "\(failure)"]) { $1 })
        return .failure(.crashed(failure))
    }

    /// Writes `request` to the helper, then closes its input, and reads its reply until it closes
    /// its output, the reply passes `maxReplyBytes` or the deadline passes; the last two kill the
    /// helper.
    private func exchange(
        _ request: Data, with helper: inout HelperProcess, maxReplyBytes: Int, deadline: ContinuousClock.Instant
    ) -> [UInt8] {
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var written = 0
        var fds = [pollfd(fd: helper.output, events: Int16(POLLIN), revents: 0), pollfd()]
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                stop(.deadline)
                return reply
            }
            fds[1] = pollfd(fd: written < request.count ? helper.input : -1, events: Int16(POLLOUT), revents: 0)
            let waitMs = Int32(min(max((left.clampedNanoseconds + 999_999) / 1_000_000, 1), UInt64(Int32.max)))
            if poll(&fds, 2, waitMs) < 0 {
                guard errno == EINTR else { return reply }
                continue
            }
            if fds[1].revents != 0 {
                let n = request.withUnsafeBytes { write(helper.input, $0.baseAddress! + written, $0.count - written) }
                // A helper that died (EPIPE) shows up as the end of its output.
                if n > 0 { written += n } else if n < 0, errno != EAGAIN, errno != EINTR { written = request.count }
                if written == request.count { helper.closeInput() }
            }
            guard fds[0].revents != 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { read(helper.output, $0.baseAddress, $0.count) }
            if n > 0 {
                guard reply.count + n <= maxReplyBytes else {
                    stop(.tooLarge)
                    return reply
                }
                reply.append(contentsOf: chunk[..<n])
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                return reply
            }
        }
    }
}
