import DocflowCore
import DocflowStore
import Foundation
import Logging
import Synchronization

/// Runs executions: many at once up to a limit, the steps of each one after another. Every
/// transition goes through the journal, so history is durable and status events are published
/// in order. No process-wide state: several engines can live in one process (tests do).
package final class Engine: Sendable {
    package let journal: Journal
    let store: Store
    private let executors: StepExecutors
    private let slots: AsyncSemaphore
    private let stopping = AtomicFlag()
    private let running = Mutex<[String: Running]>([:])
    let logger: Logger
    private let executor: (@Sendable () -> (any TaskExecutor)?)?
    package let metrics: EngineMetrics
    private let maxStepOutputBytes: Int
    /// Sends the steps of some types to workers; nil: every step runs here.
    private let dispatch: (any TaskDispatch)?

    /// How many times an execution left `running` by a crash is resumed: found `running` again
    /// after that many resumptions, each followed by a crash, it is failed instead (the
    /// crash-loop breaker). A graceful stop does not count.
    package static let maxResumptions = 2

    private struct Running {
        let cancelled: AtomicFlag
        /// Opens once the execution's end is committed (or it was left for a restart).
        let done: Latch
        /// Cancelled with the execution, so that a step that waits (a jq program) stops at once.
        var task: Task<Void, Never>?
    }

    /// - Parameter executor: where each execution's task runs; `JQPool.executor` puts it on a jq
    ///   worker's thread, so that its jq steps cost no hop between threads. nil: the global executor.
    package init(
        store: Store, journal: Journal, executors: StepExecutors, maxConcurrent: Int = 256,
        metrics: EngineMetrics = EngineMetrics(), executor: (@Sendable () -> (any TaskExecutor)?)? = nil,
        maxStepOutputBytes: Int = MessageLimits().maxStepOutputBytes, dispatch: (any TaskDispatch)? = nil,
        logger: Logger
    ) {
        self.dispatch = dispatch
        self.maxStepOutputBytes = maxStepOutputBytes
        self.executor = executor
        self.metrics = metrics
        self.store = store
        self.journal = journal
        self.executors = executors
        self.slots = AsyncSemaphore(maxConcurrent)
        self.logger = logger
    }

    /// Runs an execution that is already committed as `running`, or whose start is being
    /// committed under `start` (then it runs only steps without side effects until that is done,
    /// and drops out without a trace if the start is refused). Only the start paths
    /// (`Engine+Start.swift`) call it. With `crashLooped`, the execution is failed at the step it is
    /// at instead of running it. `workflowMetrics`: its workflow's, when the caller has them.
    func launch(
        _ execution: Execution, start: CommitTicket? = nil, crashLooped: Bool = false,
        workflowMetrics: WorkflowMetrics? = nil
    ) {
        let cancelled = AtomicFlag()
        let done = Latch()
        let accepted = running.withLock { running -> Bool in
            guard running[execution.id] == nil else { return false }
            running[execution.id] = Running(cancelled: cancelled, done: done)
            return true
        }
        guard accepted else { return }
        var logger = self.logger
        logger[metadataKey: "execution_id"] = "\(execution.id)"
        logger[metadataKey: "workflow_id"] = "\(execution.workflowID)"
        var runner = ExecutionRunner(
            executors: executors, journal: journal, metrics: workflowMetrics ?? metrics.workflow(execution.workflowID),
            cancelled: cancelled, stopping: stopping,
            logger: logger, execution: execution, start: start, crashLooped: crashLooped,
            maxStepOutputBytes: maxStepOutputBytes, dispatch: dispatch)
        let task = Task(executorPreference: executor?()) { [self] in
            await slots.acquire()
            let ending = await runner.run()
            slots.release()
            // It stays `running` here until its end is committed, so `cancel` and `stop` wait
            // for that; the task does not.
            let leave = { @Sendable [self] in
                running.withLock { _ = $0.removeValue(forKey: execution.id) }
                done.open()
            }
            if let ending { ending.onResolve { _ in leave() } } else { leave() }
        }
        running.withLock { $0[execution.id]?.task = task }
        if cancelled.isSet { task.cancel() }
    }

    /// Launches an execution that a retry reopened. Its end was committed before, but the runner
    /// of that run may not have left yet (it leaves just after): then it launches once that one
    /// has, rather than not at all.
    func relaunch(_ execution: Execution) {
        guard let previous = running.withLock({ $0[execution.id] }) else { return launch(execution) }
        Task { [self] in
            _ = await previous.done.wait(timeout: .seconds(60))
            launch(execution)
        }
    }

    /// Asks a running execution to stop at its next step boundary and waits up to `wait` for it;
    /// false when it is not running here.
    package func cancel(executionID: String, wait: Duration = .seconds(10)) async -> Bool {
        guard let entry = running.withLock({ $0[executionID] }) else { return false }
        entry.cancelled.set()
        // nil while `launch` has yet to store it: then `launch` sees the flag.
        running.withLock { $0[executionID]?.task }?.cancel()
        _ = await entry.done.wait(timeout: wait)
        return true
    }

    /// Cancels a `running` execution: at its next step boundary when it runs here, else (an
    /// orphan, say of a process that was replaced) by writing its end at once.
    package func cancel(_ execution: Execution) async throws {
        guard await !cancel(executionID: execution.id) else { return }
        var cancelled = execution
        cancelled.status = .cancelled
        cancelled.completedAt = Date()
        cancelled.error = "cancelled"
        try await journal.commit(.finished(cancelled))
    }

    package func isRunning(_ executionID: String) -> Bool {
        running.withLock { $0[executionID] != nil }
    }

    /// Executions running steps now (each holds one of the `maxConcurrent` slots), and executions
    /// started but waiting for a slot. Read at each scrape, not kept up per execution.
    package var load: (running: Int, waiting: Int) {
        let slots = slots.usage
        return (slots.held, slots.waiting)
    }

    /// Stops at step boundaries: each running execution finishes its current step, is left
    /// `running` in the database, and resumes when docflow starts again. Waits up to `wait`, or
    /// until the calling task is cancelled; then records the stop as graceful, so the executions
    /// left `running` (even mid-step) are not counted as having crashed the worker.
    package func stop(wait: Duration = .seconds(25)) async {
        stopping.set()
        let deadline = ContinuousClock.now.advanced(by: wait)
        while running.withLock({ !$0.isEmpty }), ContinuousClock.now < deadline {
            // Throws once the task is cancelled: then nobody waits any longer.
            do { try await Task.sleep(for: .milliseconds(20)) } catch { break }
        }
        let left = running.withLock { $0.count }
        if left > 0 {
            logger.warning("stopping with executions mid-step; they resume on restart", metadata: ["count": "\(left)"])
        }
        // A task of its own: a cancelled shutdown still records that it was one.
        let store = self.store
        do {
            try await Task { try await store.write { db in try Resumptions.markCleanShutdown(db) } }.value
        } catch {
            logger.error("could not record the graceful stop", metadata: ["error": "\(error)"])
        }
    }
}
