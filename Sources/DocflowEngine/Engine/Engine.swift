import DocflowCore
import DocflowStore
import Foundation
import Logging
import Synchronization

/// Runs executions: many at once up to a limit, the steps of each one after another. Every
/// transition goes through the journal, so history is durable and status events are published
/// in order. No process-wide state: several engines can live in one process (tests do).
public final class Engine: Sendable {
    public let journal: Journal
    private let store: Store
    private let executors: StepExecutors
    private let slots: AsyncSemaphore
    private let stopping = AtomicFlag()
    private let running = Mutex<[String: Running]>([:])
    private let logger: Logger
    private let executor: (@Sendable () -> (any TaskExecutor)?)?
    let metrics: EngineMetrics

    private struct Running {
        let cancelled: AtomicFlag
        let done: WakeSignal
    }

    /// - Parameter executor: where each execution's task runs; `JQPool.executor` puts it on a jq
    ///   worker's thread, so that its jq steps cost no hop between threads. nil: the global executor.
    public init(
        store: Store, journal: Journal, executors: StepExecutors, maxConcurrent: Int = 256,
        metrics: EngineMetrics = EngineMetrics(), executor: (@Sendable () -> (any TaskExecutor)?)? = nil,
        logger: Logger
    ) {
        self.executor = executor
        self.metrics = metrics
        self.store = store
        self.journal = journal
        self.executors = executors
        self.slots = AsyncSemaphore(maxConcurrent)
        self.logger = logger
    }

    /// A new execution of `workflow`, committed (with `workflow.started`) before it returns, then
    /// run in the background.
    public func start(_ workflow: Workflow, triggeredBy: TriggerType, triggerData: JSONValue) async throws -> Execution
    {
        let execution = Execution(workflow: workflow, triggeredBy: triggeredBy, triggerData: triggerData)
        try await journal.commit(.started(execution))
        launch(execution)
        return execution
    }

    /// Runs an execution that is already committed as `running`, or whose start is being
    /// committed under `start` (then it runs only steps without side effects until that is done,
    /// and drops out without a trace if the start is refused).
    public func launch(_ execution: Execution, start: CommitTicket? = nil) {
        let cancelled = AtomicFlag()
        let done = WakeSignal()
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
            executors: executors, journal: journal, metrics: metrics, cancelled: cancelled, stopping: stopping,
            logger: logger, execution: execution, start: start)
        if execution.log.isEmpty { metrics.executionStarted(execution.triggeredBy) }
        Task(executorPreference: executor?()) { [self] in
            await slots.acquire()
            let ending = await runner.run()
            slots.release()
            // It stays `running` here until its end is committed, so `cancel` and `stop` wait
            // for that; the task does not.
            let leave = { @Sendable [self] in
                running.withLock { _ = $0.removeValue(forKey: execution.id) }
                done.signal()
            }
            if let ending { ending.onResolve { _ in leave() } } else { leave() }
        }
    }

    /// Resumes every execution left `running` by an earlier process: steps that completed are
    /// kept, the one in flight runs again (at-least-once).
    @discardableResult
    public func resumeInterrupted() async throws -> Int {
        let executions = try await store.read { db in try ExecutionRepository.fetchRunning(db) }
        for execution in executions {
            logger.info(
                "resuming an interrupted execution",
                metadata: ["execution_id": "\(execution.id)", "workflow_id": "\(execution.workflowID)"])
            launch(execution)
        }
        return executions.count
    }

    /// Asks a running execution to stop at its next step boundary and waits up to `wait` for it;
    /// false when it is not running here.
    public func cancel(executionID: String, wait: Duration = .seconds(10)) async -> Bool {
        guard let entry = running.withLock({ $0[executionID] }) else { return false }
        entry.cancelled.set()
        let deadline = ContinuousClock.now.advanced(by: wait)
        while running.withLock({ $0[executionID] != nil }), ContinuousClock.now < deadline {
            await entry.done.wait(timeout: .milliseconds(50))
        }
        return true
    }

    /// Runs a failed execution again from its failed step, keeping what completed before it.
    public func retry(_ execution: Execution) async throws -> Execution {
        var reopened = execution
        reopened.status = .running
        reopened.completedAt = nil
        reopened.error = nil
        reopened.log.removeAll { $0.status != .completed }
        try await journal.commit(.retried(reopened))
        launch(reopened)
        return reopened
    }

    public func isRunning(_ executionID: String) -> Bool {
        running.withLock { $0[executionID] != nil }
    }

    /// Stops at step boundaries: each running execution finishes its current step, is left
    /// `running` in the database, and resumes when docflow starts again.
    public func stop(wait: Duration = .seconds(25)) async {
        stopping.set()
        let deadline = ContinuousClock.now.advanced(by: wait)
        while running.withLock({ !$0.isEmpty }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = running.withLock { $0.count }
        if left > 0 {
            logger.warning("stopping with executions mid-step; they resume on restart", metadata: ["count": "\(left)"])
        }
    }
}
