import DocflowCore
import DocflowStore
import Foundation
import Logging
import Synchronization

/// Runs one execution from wherever its log says it is: steps that completed before (a restart,
/// a retry) are replayed from the log, not run again.
struct ExecutionRunner {
    private enum Outcome {
        case next(StepTarget)
        case failed(String)
        /// The worker is stopping: leave the step to run again after the restart.
        case checkpoint
        /// The execution's start was refused (a duplicate trigger): stop without a trace.
        case abandoned
    }

    let executors: StepExecutors
    let journal: Journal
    /// Its workflow's execution and step metrics.
    let metrics: WorkflowMetrics
    let cancelled: AtomicFlag
    let stopping: AtomicFlag
    var logger: Logger
    var execution: Execution
    /// The commit of the execution's start, while it is not known to be written: the runner goes
    /// ahead with steps that have no side effects, and waits for it before anything else.
    var start: CommitTicket?
    /// Resumed too often, each time followed by a crash: fail it where it is instead of running on.
    var crashLooped = false
    /// The largest output a step may produce, in bytes of JSON.
    var maxStepOutputBytes = MessageLimits().maxStepOutputBytes
    /// Sends the steps of some types to workers; nil: every step runs here.
    var dispatch: (any TaskDispatch)?
    /// Steps that ended while the start was not known to be written: counted once it is, never
    /// if it is refused (a duplicate's steps are no steps of docflow's).
    var uncounted: [(type: StepType, status: StepStatus, duration: Duration)] = []

    /// Returns once the execution's end is queued for the journal, with the ticket of its commit;
    /// nil when it was left `running` because the worker is stopping, or dropped as a duplicate.
    mutating func run() async -> CommitTicket? {
        let steps = execution.definition.steps
        var index: Int? = steps.isEmpty ? nil : 0
        var visited: Set<String> = []
        while let position = index {
            let step = steps[position]
            visited.insert(step.id)
            if let run = execution.run(of: step.id),
                run.status == .completed || (run.status == .failed && step.onError == .continue)
            {
                index = successor(of: position, run.next ?? step.next)
                continue
            }
            if cancelled.isSet {
                return await finish(.cancelled, error: "cancelled", visited: visited.subtracting([step.id]))
            }
            if stopping.isSet {
                logger.info("leaving the execution to resume after restart", metadata: ["step_id": "\(step.id)"])
                leaveForRestart()
                return nil
            }
            if crashLooped { return await failCrashLoop(at: step, visited: visited) }
            switch await runStep(step, at: position) {
            case .next(let target):
                index = successor(of: position, target)
            case .failed(let message):
                // A cancel stops the running step (a jq program is killed): that is no failure.
                if cancelled.isSet { return await finish(.cancelled, error: "cancelled", visited: visited) }
                return await finish(.failed, error: "step \(step.id) failed: \(message)", visited: visited)
            case .checkpoint:
                logger.info("leaving a step to retry after restart", metadata: ["step_id": "\(step.id)"])
                leaveForRestart()
                return nil
            case .abandoned:
                logger.debug("the trigger had started this workflow before; dropping the duplicate execution")
                journal.abandon(execution.id)
                return nil
            }
        }
        if cancelled.isSet, visited.count < steps.count {
            return await finish(.cancelled, error: "cancelled", visited: visited)
        }
        return await finish(.completed, error: nil, visited: visited)
    }

    /// The worker stops mid-execution. A start still pending commits later (its trigger is not
    /// acked before): if it is refused, the journal must still be told that nothing more comes.
    private mutating func leaveForRestart() {
        guard let start else { return }
        self.start = nil
        let (journal, id) = (self.journal, execution.id)
        start.onResolve { result in
            if case .success(true) = result { return }
            journal.abandon(id)
        }
    }

    /// Fails the execution at the step it was running (or would run next) when the worker stopped,
    /// without running it: its log entry and the execution's error say why.
    private mutating func failCrashLoop(at step: StepDefinition, visited: Set<String>) async -> CommitTicket {
        let message =
            "the worker stopped while running step \(step.id) twice; the execution was failed so it cannot stop the worker again"
        logger.error("failing an execution that stopped the worker twice", metadata: ["step_id": "\(step.id)"])
        let now = Date()
        var run =
            execution.run(of: step.id) ?? StepRun(stepID: step.id, type: step.type, status: .failed, startedAt: now)
        run.status = .failed
        run.completedAt = now
        run.error = message
        run.next = nil
        await record(run)
        count(step.type, .failed, .zero)
        return await finish(.failed, error: message, visited: visited)
    }

    private func successor(of position: Int, _ target: StepTarget?) -> Int? {
        let steps = execution.definition.steps
        switch target {
        case .end?: return nil
        case .step(let id)?: return steps.firstIndex { $0.id == id }
        case nil: return position + 1 < steps.count ? position + 1 : nil
        }
    }

    private mutating func runStep(_ step: StepDefinition, at position: Int) async -> Outcome {
        var logger = self.logger
        logger[metadataKey: "step_id"] = "\(step.id)"
        guard let executor = executors[step.type] else {
            var run = StepRun(stepID: step.id, type: step.type, status: .failed, attempts: 0, startedAt: Date())
            run.error = "no executor for \(step.type.rawValue) steps"
            run.completedAt = run.startedAt
            await record(run)
            return step.onError == .continue ? .next(step.next ?? following(position)) : .failed(run.error!)
        }
        let capabilities = step.type.capabilities
        if capabilities.effects == .external, await !startIsWritten() { return .abandoned }
        let policy = step.retry ?? executor.defaultRetry
        let timeout = Duration.milliseconds(step.timeoutMs ?? StepDefinition.defaultTimeoutMs)
        let startedAt = Date()
        var attempt = 0
        var transientRetries = 0
        while true {
            attempt += 1
            var run = StepRun(
                stepID: step.id, type: step.type, status: .running, attempts: attempt, startedAt: startedAt)
            let begin = ContinuousClock.now
            let context = StepContext(
                json: ExecutionContext.build(for: execution), executionID: execution.id,
                workflowID: execution.workflowID,
                stepID: step.id, attempt: attempt, timeout: timeout, deadline: begin.advanced(by: timeout),
                latestOutput: execution.log.last { $0.status == .completed }?.output,
                parsedDocument: execution.log.last { $0.status == .completed && $0.type == .parse }?.output)
            var result: Result<StepResult, StepError>
            /// A worker's result message, acked once what it did is committed.
            var settle: (@Sendable () -> Void)?
            var workerRunMs: Int?
            if let dispatch, dispatch.dispatches(step.type) {
                let sent = await self.dispatch(step, run: run, context: context, through: dispatch)
                result = sent.result
                settle = sent.settle
                workerRunMs = sent.runMs
            } else {
                await record(run)
                result =
                    switch capabilities.placement {
                    case .executionThread:
                        await Self.execute(step, on: executor, deadline: capabilities.deadline, context: context)
                    case .sharedExecutor:
                        await withTaskExecutorPreference(globalConcurrentExecutor) {
                            await Self.execute(step, on: executor, deadline: capabilities.deadline, context: context)
                        }
                    }
            }
            if case .success(let stepResult) = result, stepResult.output.encodesLarger(than: maxStepOutputBytes) {
                result = .failure(
                    StepError(
                        "the step's output is larger than \(maxStepOutputBytes) bytes of JSON, the most a step may "
                            + "produce (--max-step-output-bytes)", retryable: false))
            }
            var elapsed = ContinuousClock.now - begin
            run.durationMs = Int(elapsed.milliseconds)
            if let workerRunMs {
                // The worker's run time; the rest, from the commit of the task to the result, waited.
                run.queuedMs = max(0, Int(elapsed.milliseconds) - workerRunMs)
                run.durationMs = workerRunMs
                elapsed = .milliseconds(workerRunMs)
            }
            run.completedAt = Date()
            switch result {
            case .success(let stepResult):
                run.status = .completed
                run.output = stepResult.output
                run.next = stepResult.next ?? step.next ?? following(position)
                count(step.type, .completed, elapsed)
                await record(run, then: settle)
                return .next(run.next!)
            case .failure(var error):
                error.message = MessageLimits.errorText(error.message)
                if let output = error.output, output.encodesLarger(than: maxStepOutputBytes) {
                    error.output = nil
                }
                // A failure that leads to another attempt has nothing to commit first.
                if error.transient || (error.retryable && attempt < policy.maxAttempts) { settle?() }
                if error.transient, transientRetries < Self.transientRetries, !cancelled.isSet {
                    if stopping.isSet { return .checkpoint }
                    transientRetries += 1
                    logger.warning(
                        "step failed for want of a resource; retrying",
                        metadata: ["attempt": "\(attempt)", "error": "\(error.message)"])
                    try? await Task.sleep(for: Self.transientDelay * (1 << (transientRetries - 1)))
                    continue
                }
                let canRetry = error.retryable && attempt < policy.maxAttempts && !cancelled.isSet
                if canRetry, stopping.isSet { return .checkpoint }
                if canRetry {
                    logger.info(
                        "step failed; retrying",
                        metadata: ["attempt": "\(attempt)", "error": "\(error.message)"])
                    var delay = Duration.milliseconds(policy.delayMs(afterAttempt: attempt))
                    if let asked = error.retryAfter { delay = max(delay, min(asked, .seconds(300))) }
                    try? await Task.sleep(for: delay)
                    continue
                }
                run.status = .failed
                count(step.type, .failed, elapsed)
                run.error = error.message
                run.output = error.output
                if step.onError == .continue { run.next = step.next ?? following(position) }
                await record(run, then: settle)
                logger.warning("step failed", metadata: ["attempts": "\(attempt)", "error": "\(error.message)"])
                return step.onError == .continue ? .next(run.next!) : .failed(error.message)
            }
        }
    }

    /// How often a step that failed for want of a resource of docflow's (`StepError.transient`) is
    /// tried again beyond its retry policy, the first time after `transientDelay`, then doubling:
    /// 6.3 s in all, time for descriptors to come free.
    static let transientRetries = 6
    static let transientDelay = Duration.milliseconds(100)

    /// Runs a step, under a deadline of the engine's unless the executor keeps its own.
    private static func execute(
        _ step: StepDefinition, on executor: any StepExecutor, deadline: StepCapabilities.Deadline,
        context: StepContext
    ) async -> Result<StepResult, StepError> {
        guard deadline == .executor else {
            return await withDeadline(context.timeout) { () async throws(StepError) -> StepResult in
                try await executor.execute(step, context: context)
            }
        }
        do throws(StepError) {
            return .success(try await executor.execute(step, context: context))
        } catch {
            return .failure(error)
        }
    }

    private func following(_ position: Int) -> StepTarget {
        let steps = execution.definition.steps
        return position + 1 < steps.count ? .step(steps[position + 1].id) : .end
    }

    /// Sends an attempt to a worker: its task is written with the attempt's start, and the result
    /// awaited until the attempt's deadline.
    private mutating func dispatch(
        _ step: StepDefinition, run: StepRun, context: StepContext, through dispatch: any TaskDispatch
    ) async -> (result: Result<StepResult, StepError>, settle: (@Sendable () -> Void)?, runMs: Int?) {
        let task: StepTask
        let message: OutboxMessage
        do throws(StepError) {
            (task, message) = try await dispatch.task(for: step, context: context)
        } catch {
            await record(run)
            return (.failure(error), nil, nil)
        }
        // Pending before the task can reach a worker, so that no result comes too early.
        dispatch.pending.register(task.id)
        await record(run, task: message)
        guard let arrival = await dispatch.pending.wait(for: task.id, until: context.deadline) else {
            if cancelled.isSet { return (.failure(StepError("cancelled", retryable: false)), nil, nil) }
            if stopping.isSet || Task.isCancelled {
                // docflow is stopping: the step is left to run again after the restart, under the
                // same task id, so a result that comes meanwhile is still used then.
                return (.failure(StepError("docflow is stopping", transient: true)), nil, nil)
            }
            return (
                .failure(
                    StepError(
                        "step timed out after \(context.timeout.milliseconds) ms: no worker returned task \(task.id) "
                            + "in time (is a `docflow worker --types \(step.type.rawValue)` running?)")),
                nil, nil
            )
        }
        let result = arrival.result.outcome.map { StepResult(output: $0) }
        return (result, arrival.settle, arrival.result.runMs)
    }

    /// Updates the log in memory and queues the transition for the journal; `then` runs once it
    /// is committed.
    private mutating func record(_ run: StepRun, then: (@Sendable () -> Void)?) async {
        guard let then else { return await record(run) }
        let seq = remember(run)
        journal.enqueue(.step(run, seq: seq, of: execution, task: nil), urgent: false).onResolve { result in
            // Not written (shutdown): unacked, the result comes again after the restart.
            if case .success = result { then() }
        }
    }

    /// Updates the log in memory and queues the transition for the journal, with the message of
    /// a task when the step goes to a worker.
    private mutating func record(_ run: StepRun, task: OutboxMessage? = nil) async {
        let seq = remember(run)
        await journal.append(.step(run, seq: seq, of: execution, task: task))
    }

    /// Puts `run` in the log in memory; returns its place.
    private mutating func remember(_ run: StepRun) -> Int {
        let seq: Int
        if let index = execution.log.firstIndex(where: { $0.stepID == run.stepID }) {
            execution.log[index] = run
            seq = index
        } else {
            execution.log.append(run)
            seq = execution.log.count - 1
        }
        return seq
    }

    /// Waits for the start's commit if it is still pending; false when it was refused (or could
    /// not be written: then the trigger is not acked, and comes again).
    private mutating func startIsWritten() async -> Bool {
        guard let start else { return true }
        self.start = nil
        let written = (try? await start.wait()) ?? false
        if written { countUncounted() }
        uncounted.removeAll()
        return written
    }

    /// Counts an ended step now, or once the start is known to be written.
    private mutating func count(_ type: StepType, _ status: StepStatus, _ duration: Duration) {
        if start == nil {
            metrics.stepFinished(type, status: status, duration: duration)
        } else {
            uncounted.append((type, status, duration))
        }
    }

    private func countUncounted() {
        for step in uncounted { metrics.stepFinished(step.type, status: step.status, duration: step.duration) }
    }

    /// Logs every step off the taken path as skipped, then queues the execution's end and returns
    /// its ticket without waiting for the commit (the runner's slot is free at once). A start
    /// still pending commits in the same transaction; if it is refused, the journal drops the
    /// rest of the execution with it, and nothing is reported.
    private mutating func finish(_ status: ExecutionStatus, error: String?, visited: Set<String>) async
        -> CommitTicket
    {
        let now = Date()
        for step in execution.definition.steps where execution.run(of: step.id) == nil {
            await record(StepRun(stepID: step.id, type: step.type, status: .skipped, attempts: 0, completedAt: now))
        }
        execution.status = status
        execution.completedAt = now
        execution.error = error
        let ending = journal.enqueue(.finished(execution))
        let (journal, metrics, logger, execution) = (self.journal, self.metrics, self.logger, self.execution)
        let uncounted = self.uncounted
        self.uncounted.removeAll()
        let report = { @Sendable in
            for step in uncounted { metrics.stepFinished(step.type, status: step.status, duration: step.duration) }
            metrics.executionFinished(status, execution.triggeredBy)
            var metadata: Logger.Metadata = ["duration_ms": "\(Int(now.timeIntervalSince(execution.startedAt) * 1000))"]
            if let error { metadata["error"] = "\(error)" }
            logger.info("execution \(status.rawValue)", metadata: metadata)
        }
        ending.onResolve { result in
            if case .failure(let error) = result {
                logger.error("could not record the end of the execution", metadata: ["error": "\(error)"])
            }
        }
        if let start {
            self.start = nil
            start.onResolve { result in
                guard case .success(true) = result else {
                    logger.debug("the trigger had started this workflow before; dropping the duplicate execution")
                    return journal.abandon(execution.id)
                }
                report()
            }
        } else {
            report()
        }
        return ending
    }
}

/// Runs `operation`, giving up on it after `timeout`. An operation that ignores cancellation is
/// left to finish on its own; its result is dropped.
func withDeadline(
    _ timeout: Duration, _ operation: @escaping @Sendable () async throws(StepError) -> StepResult
) async -> Result<StepResult, StepError> {
    let race = Race()
    return await withCheckedContinuation { continuation in
        let work = Task {
            let result: Result<StepResult, StepError>
            do throws(StepError) {
                result = .success(try await operation())
            } catch {
                result = .failure(error)
            }
            if race.once.claim() {
                race.cancelTimer()
                continuation.resume(returning: result)
            }
        }
        race.setTimer(
            Task {
                guard (try? await Task.sleep(for: timeout)) != nil, race.once.claim() else { return }
                work.cancel()
                continuation.resume(returning: .failure(StepError("step timed out after \(timeout.milliseconds) ms")))
            })
    }
}

private final class Race: Sendable {
    let once = AtomicFlag()
    private let timer = Mutex<Task<Void, Never>?>(nil)

    func setTimer(_ task: Task<Void, Never>) {
        let cancelNow = timer.withLock { timer -> Bool in
            timer = task
            return once.isSet
        }
        if cancelNow { task.cancel() }
    }

    func cancelTimer() {
        timer.withLock { $0 }?.cancel()
    }
}
