import DocflowCore
import Foundation
import Logging
import Synchronization

/// One helper process and the thread that talks to it.
///
/// Requests are pipelined: the thread writes several ahead of their replies, and the helper, which
/// runs one program at a time, answers them in order. The oldest unanswered request is therefore
/// the one running, and only its deadline is watched.
///
/// The thread is also a task executor: the engine runs executions on it, so that a step's request
/// goes from the task straight into the helper's input, and its reply resumes the task on the
/// thread that read it. A jq step then costs the helper's round trip and no hop between threads.
/// Jobs run between reads, so they must not block: work of any weight hops to the global executor.
///
/// A request whose task is cancelled is answered at once: dropped if still queued, its helper
/// killed if running (and started again for the requests behind it).
///
/// Callers touch only `inbox`, `outstanding`, `busySince` and `nextID`, which lock or are atomic;
/// every other property belongs to the worker's thread.
final class JQWorker: TaskExecutor, @unchecked Sendable {
    struct Request: Sendable {
        let id: UInt64
        let line: Data
        let timeout: Duration
        let deadline: UInt64
        /// nil once answered: cancelled while in the helper's input behind the running one.
        var continuation: CheckedContinuation<Result<[JSONValue], JQError>, Never>?
    }

    private struct Inbox {
        var requests: [Request] = []
        var jobs: [UnownedJob] = []
        /// The ids of requests whose tasks were cancelled.
        var cancelled: [UInt64] = []
        var stopped = false
    }

    private enum Admission {
        case queued(wake: Bool)
        case cancelled
        case stopped
    }

    /// How far the thread writes ahead of the replies.
    private static let maxInFlight = 64
    private static let maxInFlightBytes = 256 * 1024
    /// The least a request may run once the helper starts it, even when its deadline passed while
    /// it queued behind a slow program: a backlog must not time out in bulk.
    private static let minimumRun = Duration.milliseconds(250)
    /// A helper that has not answered for this long is stuck on a slow program.
    private static let stuckAfter: UInt64 = 20_000_000
    /// What `load` adds for a stuck helper.
    static let stuckPenalty = 1 << 20

    private let index: Int
    private let executable: String
    /// The longest reply line read from the helper.
    private let maxReplyBytes: Int
    private let logger: Logger
    private let inbox = Mutex(Inbox())
    private let outstanding = Atomic<Int>(0)
    /// When the running request started, 0 when idle.
    private let busySince = Atomic<UInt64>(0)
    private let nextID = Atomic<UInt64>(0)
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The worker's thread (`pthread_self`), once it runs.
    private let thread = Atomic<UInt>(0)

    // The worker's thread only.
    private var helper: HelperProcess?
    /// Written or being written to the helper, not yet answered; the first one is running.
    private var inFlight: [Request] = []
    private var inFlightBytes = 0
    private var runningDeadline: UInt64 = 0
    private var output: [UInt8] = []
    private var written = 0
    private var replies: [UInt8] = []
    private var replyStart = 0
    private var scanned = 0
    private var chunk = [UInt8](repeating: 0, count: 65536)
    private var pollFDs = [pollfd](repeating: pollfd(), count: 3)
    /// A job or request came from this thread itself, which does not wake itself: do not sleep.
    private var localWork = false
    /// Taken from the inbox by `admit`, answered by `answerCancelled`.
    private var cancelled: [UInt64] = []
    private var dropped: [Request] = []

    init(index: Int, executable: String, maxReplyBytes: Int, logger: Logger) {
        self.index = index
        self.executable = executable
        // The reply's envelope (`{"ok":true,"results":[...]}`) comes on top of the results.
        self.maxReplyBytes = maxReplyBytes + 64
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "cannot create the jq wake-up pipe")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let thread = Thread {
            nameCurrentThread("jq \(index)")
            self.thread.store(UInt(pthread_self()), ordering: .releasing)
            self.run()
        }
        thread.name = "jq \(index)"
        thread.start()
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Outstanding requests, plus a penalty when the helper is stuck.
    func load(now: UInt64) -> Int {
        let since = busySince.load(ordering: .relaxed)
        let stuck = since != 0 && now > since && now - since > Self.stuckAfter
        return outstanding.load(ordering: .relaxed) + (stuck ? Self.stuckPenalty : 0)
    }

    /// Whether the caller runs on this worker's thread.
    var isCurrentThread: Bool {
        thread.load(ordering: .acquiring) == UInt(pthread_self())
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let onThread = isCurrentThread
        let wake = inbox.withLock { inbox -> Bool? in
            guard !inbox.stopped else { return nil }
            inbox.jobs.append(job)
            return inbox.jobs.count == 1 && inbox.requests.isEmpty
        }
        guard let wake else {
            // The thread is gone: the task carries on elsewhere.
            return globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
        if onThread {
            localWork = true
        } else if wake {
            self.wake()
        }
    }

    /// `line` is one request with its newline; `now` is when the timeout started counting.
    /// Cancelling the calling task answers `.cancelled` at once and stops the program.
    func submit(_ line: Data, timeout: Duration, now: UInt64) async -> Result<[JSONValue], JQError> {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let request = Request(
                    id: id, line: line, timeout: timeout, deadline: now + timeout.clampedNanoseconds,
                    continuation: continuation)
                // From a task on this thread, straight into the helper's input. A cancellation
                // after this check is seen at the thread's next turn, when the request is in flight.
                if isCurrentThread, inFlight.count < Self.maxInFlight, inFlightBytes < Self.maxInFlightBytes {
                    guard !Task.isCancelled else { return continuation.resume(returning: .failure(.cancelled)) }
                    outstanding.add(1, ordering: .relaxed)
                    send(request)
                    startHelperIfNeeded()
                    writeRequests()
                    localWork = true
                    return
                }
                // Only the request that finds the inbox empty wakes the thread: the thread takes from
                // the inbox on every turn of its loop, so later ones ride on that wake-up. Checked
                // under the lock `cancel` takes: a cancellation is seen here or finds the request.
                let admission = inbox.withLock { inbox -> Admission in
                    guard !inbox.stopped else { return .stopped }
                    guard !Task.isCancelled else { return .cancelled }
                    inbox.requests.append(request)
                    outstanding.add(1, ordering: .relaxed)
                    return .queued(wake: inbox.requests.count == 1 && inbox.jobs.isEmpty && inbox.cancelled.isEmpty)
                }
                switch admission {
                case .queued(let wake): if wake { self.wake() }
                case .cancelled: continuation.resume(returning: .failure(.cancelled))
                case .stopped: continuation.resume(returning: .failure(.unavailable("the jq pool is shut down")))
                }
            }
        } onCancel: {
            cancel(id)
        }
    }

    /// Asks the thread to answer request `id` as cancelled, wherever it is.
    private func cancel(_ id: UInt64) {
        let wake = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.cancelled.append(id)
            return inbox.cancelled.count == 1 && inbox.requests.isEmpty && inbox.jobs.isEmpty
        }
        if wake { self.wake() }
    }

    func stop() {
        inbox.withLock { $0.stopped = true }
        wake()
    }

    private func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)  // a full pipe already means "wake up"
    }

    // MARK: - The worker's thread

    private func run() {
        let executor = asUnownedTaskExecutor()
        while let jobs = admit() {
            localWork = false
            answerCancelled()
            for job in jobs { job.runSynchronously(on: executor) }
            startHelperIfNeeded()
            writeRequests()
            poll()
            if pollFDs[0].revents != 0 {
                while read(wakeRead, &chunk, chunk.count) > 0 {}
            }
            if pollFDs[1].revents != 0 {
                switch readReplies() {
                case .open:
                    break
                case .ended:
                    let reason = endHelper()
                    logger.warning("jq helper ended", metadata: ["worker": "\(index)", "reason": "\(reason)"])
                    if !inFlight.isEmpty { finishRunning(.failure(.crashed(reason))) }
                case .tooLarge:
                    let reason = endHelper()
                    logger.warning(
                        "killed a jq program whose results are too large",
                        metadata: ["worker": "\(index)", "max_bytes": "\(maxReplyBytes)", "reason": "\(reason)"])
                    if !inFlight.isEmpty { finishRunning(.failure(.outputTooLarge(limit: maxReplyBytes - 64))) }
                }
            }
            if !inFlight.isEmpty, monotonicNanoseconds() >= runningDeadline {
                let reason = endHelper()
                let timeout = inFlight[0].timeout.milliseconds
                if inFlight[0].continuation == nil {
                    logger.info(
                        "killed a cancelled jq program", metadata: ["worker": "\(index)", "reason": "\(reason)"])
                } else {
                    logger.warning(
                        "killed a jq program at its deadline",
                        metadata: ["worker": "\(index)", "timeout_ms": "\(timeout)", "reason": "\(reason)"])
                }
                finishRunning(.failure(.timeout(milliseconds: timeout)))
            }
        }
        _ = endHelper()
        let (waiting, jobs) = inbox.withLock { inbox in
            defer {
                inbox.requests.removeAll()
                inbox.jobs.removeAll()
            }
            return (inbox.requests, inbox.jobs)
        }
        for request in inFlight + waiting { finish(request, .failure(.unavailable("the jq pool is shut down"))) }
        inFlight.removeAll()
        for job in jobs { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Moves requests from the inbox to the helper's input as far as the pipelining bounds allow,
    /// and takes the jobs to run; nil once the pool is shut down.
    private func admit() -> [UnownedJob]? {
        let taken = inbox.withLock { inbox -> ([Request], [UnownedJob])? in
            guard !inbox.stopped else { return nil }
            let jobs = inbox.jobs
            inbox.jobs.removeAll(keepingCapacity: true)
            if !inbox.cancelled.isEmpty {
                swap(&cancelled, &inbox.cancelled)
                // A cancelled request still queued never reaches the helper.
                let ids = cancelled
                dropped = inbox.requests.filter { ids.contains($0.id) }
                if !dropped.isEmpty { inbox.requests.removeAll { ids.contains($0.id) } }
            }
            var count = 0
            var bytes = inFlightBytes
            while count < inbox.requests.count, inFlight.count + count < Self.maxInFlight,
                bytes < Self.maxInFlightBytes
            {
                bytes += inbox.requests[count].line.count
                count += 1
            }
            guard count > 0 else { return ([], jobs) }
            defer { inbox.requests.removeFirst(count) }
            return (Array(inbox.requests.prefix(count)), jobs)
        }
        guard let (admitted, jobs) = taken else { return nil }
        for request in admitted { send(request) }
        return jobs
    }

    /// Answers the requests `admit` found cancelled. Not in `admit`: a task resumed here may
    /// enqueue its next job on this thread, which must then not sleep.
    private func answerCancelled() {
        guard !cancelled.isEmpty || !dropped.isEmpty else { return }
        for request in dropped { finish(request, .failure(.cancelled)) }
        dropped.removeAll()
        defer { cancelled.removeAll() }
        for id in cancelled {
            guard let position = inFlight.firstIndex(where: { $0.id == id }) else { continue }
            if position == 0 {
                let reason = endHelper()
                logger.info(
                    "killed a jq program whose task was cancelled",
                    metadata: ["worker": "\(index)", "reason": "\(reason)"])
                finishRunning(.failure(.cancelled))
            } else if let continuation = inFlight[position].continuation {
                // Already in the helper's input: answered now, killed when it comes to run.
                inFlight[position].continuation = nil
                outstanding.subtract(1, ordering: .relaxed)
                continuation.resume(returning: .failure(.cancelled))
            }
        }
    }

    /// Queues a request for the helper's input.
    private func send(_ request: Request) {
        inFlight.append(request)
        inFlightBytes += request.line.count
        output.append(contentsOf: request.line)
        if inFlight.count == 1 { startRunning() }
    }

    /// The first request in flight is now the one the helper runs: its deadline starts counting.
    private func startRunning() {
        guard let running = inFlight.first else { return busySince.store(0, ordering: .relaxed) }
        let now = monotonicNanoseconds()
        let minimum = min(running.timeout, Self.minimumRun).clampedNanoseconds
        // One answered already was cancelled: stop it as soon as it starts.
        runningDeadline = running.continuation == nil ? now : max(running.deadline, now + minimum)
        busySince.store(now, ordering: .relaxed)
    }

    /// Starts a helper when there is work and none runs, and sends it every request in flight
    /// again: the one before it died never ran them.
    private func startHelperIfNeeded() {
        guard helper == nil else { return }
        // Requests cancelled while in the old helper's input are answered: the new one skips them.
        if inFlight.contains(where: { $0.continuation == nil }) {
            inFlight.removeAll { $0.continuation == nil }
            inFlightBytes = inFlight.reduce(0) { $0 + $1.line.count }
            startRunning()
        }
        guard !inFlight.isEmpty else { return }
        do throws(HelperProcess.SpawnError) {
            let started = try HelperProcess.spawn(executable)
            helper = started
            logger.debug("started a jq helper", metadata: ["pid": "\(started.pid)", "worker": "\(index)"])
        } catch {
            let error = JQError.unavailable(error.message)
            logger.error("cannot start a jq helper", metadata: ["worker": "\(index)", "error": "\(error)"])
            for request in inFlight { finish(request, .failure(error)) }
            inFlight.removeAll()
            inFlightBytes = 0
            return startRunning()
        }
        output.removeAll(keepingCapacity: true)
        written = 0
        for request in inFlight { output.append(contentsOf: request.line) }
        startRunning()
    }

    /// Writes what the pipe takes without blocking.
    private func writeRequests() {
        guard let helper else { return }
        while written < output.count {
            let n = output.withUnsafeBytes { write(helper.input, $0.baseAddress! + written, $0.count - written) }
            if n > 0 {
                written += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                // A dead helper (EPIPE) shows up as the end of its output; drop what it won't read.
                if errno != EAGAIN { written = output.count }
                break
            }
        }
        if written == output.count {
            output.removeAll(keepingCapacity: true)
            written = 0
        } else if written >= 65536 {
            output.removeSubrange(..<written)
            written = 0
        }
    }

    /// Waits for a wake-up, a reply, room in the helper's input, or the running request's deadline.
    private func poll() {
        let waitMs: Int32
        if localWork {
            waitMs = 0
        } else if inFlight.isEmpty {
            waitMs = -1
        } else {
            let now = monotonicNanoseconds()
            let left = runningDeadline > now ? runningDeadline - now : 0
            waitMs = Int32(min((left + 999_999) / 1_000_000, UInt64(Int32.max)))
        }
        pollFDs[0] = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        pollFDs[1] = pollfd(fd: helper?.output ?? -1, events: Int16(POLLIN), revents: 0)
        pollFDs[2] = pollfd(fd: written < output.count ? helper?.input ?? -1 : -1, events: Int16(POLLOUT), revents: 0)
        if Glibc.poll(&pollFDs, 3, waitMs) < 0 {
            for i in pollFDs.indices { pollFDs[i].revents = 0 }
        }
    }

    private enum ReadOutcome {
        case open
        /// The helper closed its output: it died.
        case ended
        /// The reply being read is longer than `maxReplyBytes`.
        case tooLarge
    }

    /// Reads what the helper wrote and answers a request per whole line, reading no more than
    /// `maxReplyBytes` of a reply.
    private func readReplies() -> ReadOutcome {
        guard let helper else { return .open }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(helper.output, $0.baseAddress, $0.count) }
            if n > 0 {
                replies.append(contentsOf: chunk[..<n])
                answerWholeLines()
                if replies.count - replyStart > maxReplyBytes { return .tooLarge }
                if n < chunk.count { return .open }
            } else if n < 0, errno == EINTR {
                continue
            } else {
                return n < 0 && errno == EAGAIN ? .open : .ended
            }
        }
    }

    private func answerWholeLines() {
        while let newline = replies[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
            let reply = JQPool.decode(replies[replyStart..<newline])
            replyStart = newline + 1
            scanned = replyStart
            if inFlight.isEmpty {
                logger.error("a jq helper answered a request it was not sent", metadata: ["worker": "\(index)"])
            } else {
                finishRunning(reply)
            }
        }
        scanned = replies.count
        if replyStart == replies.count {
            // A large reply's buffer is given back rather than kept for the next.
            replies.removeAll(keepingCapacity: replies.capacity <= 1 << 20)
            (replyStart, scanned) = (0, 0)
        } else if replyStart >= 65536 {
            replies.removeSubrange(..<replyStart)
            scanned -= replyStart
            replyStart = 0
        }
    }

    private func finishRunning(_ result: Result<[JSONValue], JQError>) {
        let request = inFlight.removeFirst()
        inFlightBytes -= request.line.count
        finish(request, result)
        startRunning()
    }

    private func finish(_ request: Request, _ result: Result<[JSONValue], JQError>) {
        guard let continuation = request.continuation else { return }
        outstanding.subtract(1, ordering: .relaxed)
        continuation.resume(returning: result)
    }

    /// Kills the helper, if any, and forgets its unread output; says how it ended.
    private func endHelper() -> String {
        guard let helper else { return "not running" }
        self.helper = nil
        output.removeAll(keepingCapacity: true)
        replies.removeAll(keepingCapacity: true)
        (written, replyStart, scanned) = (0, 0, 0)
        return "the jq process \(helper.end())"
    }
}
