import DocflowCore
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// The crash-loop breaker: an execution whose resumption was followed by an abnormal exit twice
/// is failed at the next start instead of resumed, so it cannot stop the worker a fourth time.
/// A crash is simulated by abandoning an engine without `stop()` (its journal writes what it
/// had queued and takes nothing more), then starting another over the same database file.
@Suite struct CrashLoopTests {
    /// Hangs in step `hang` until released; counts the steps it runs, by step id.
    final class HangingStep: StepExecutor {
        let runs = Mutex<[String: Int]>([:])
        let released = AtomicFlag()

        func count(_ stepID: String) -> Int { runs.withLock { $0[stepID] ?? 0 } }

        func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
            runs.withLock { $0[step.id, default: 0] += 1 }
            while step.id == "hang", !released.isSet {
                try? await Task.sleep(for: .milliseconds(10))
            }
            return StepResult(output: ["ok": true])
        }

        /// Waits until step `id` has been run `count` times.
        func waitFor(_ id: String, count: Int) async throws {
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while self.count(id) < count {
                guard ContinuousClock.now < deadline else {
                    Issue.record("step \(id) ran \(self.count(id)) times, not \(count)")
                    return
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// The status events a journal committed, in order.
    final class EventLog: Sendable {
        let messages = Mutex<[OutboxMessage]>([])
    }

    /// One process's engine over the database at `path`.
    final class Worker: Sendable {
        let store: Store
        let journal: Journal
        let engine: Engine
        let events: EventLog
        private let writer: Task<Void, Never>

        init(path: String, steps: HangingStep) throws {
            let store = try Store(path: path)
            var logger = Logger(label: "test")
            // Quiet: the abandoned engines' runners log their lost ends once the test releases them.
            logger.logLevel = .critical
            let events = EventLog()
            let journal = Journal(
                store: store, logger: logger,
                didCommit: { batch in events.messages.withLock { $0.append(contentsOf: batch?.messages ?? []) } })
            var executors = StepExecutors()
            for type in StepType.allCases { executors.register(type, steps) }
            self.store = store
            self.journal = journal
            self.events = events
            engine = Engine(store: store, journal: journal, executors: executors, logger: logger)
            writer = Task { await journal.run() }
        }

        /// The process dies: no `Engine.stop`, nothing more is written.
        func crash() async {
            journal.stop()
            await writer.value
        }

        /// A graceful shutdown, as `EngineService` and `JournalService` do it.
        func stop(wait: Duration) async {
            await engine.stop(wait: wait)
            journal.stop()
            await writer.value
        }

        func execution(_ id: String) async throws -> Execution? {
            try await store.read { db in try ExecutionRepository.fetch(db, id: id) }
        }

        /// Waits until the execution has ended in the database.
        func ended(_ id: String) async throws -> Execution? {
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while ContinuousClock.now < deadline {
                if let execution = try await execution(id), execution.status != .running, !engine.isRunning(id) {
                    return execution
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }
    }

    private static func databasePath() -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-crash-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
    }

    private static let definition = WorkflowDefinition(steps: [
        StepDefinition(id: "first", type: .transform, config: ["expression": "."]),
        StepDefinition(id: "hang", type: .transform, config: ["expression": "."]),
        StepDefinition(id: "last", type: .transform, config: ["expression": "."]),
    ])

    /// A workflow whose step `hang` hangs, and one of its executions, started and crashed in it.
    private static func startAndCrash(path: String, steps: HangingStep) async throws -> (Workflow, String) {
        let worker = try Worker(path: path, steps: steps)
        let workflow = Workflow(
            id: UUID().uuidString.lowercased(), name: "Hostile", description: nil, definition: definition,
            triggerType: .manual, triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        try await worker.store.write { db in try WorkflowRepository.insert(db, workflow) }
        let execution = try #require(try await worker.engine.start(.manual(workflow, triggerData: [:])).execution)
        try await steps.waitFor("hang", count: 1)
        await worker.crash()
        return (workflow, execution.id)
    }

    /// An execution started and crashed in `hang`, then resumed and crashed there twice more: the
    /// next start is the one the breaker stops.
    private static func crashThreeTimes(path: String, steps: HangingStep) async throws -> String {
        let (_, id) = try await startAndCrash(path: path, steps: steps)
        try await resumeAndCrash(path: path, steps: steps, count: 2)
        try await resumeAndCrash(path: path, steps: steps, count: 3)
        return id
    }

    /// Starts a worker that resumes what was left `running`, waits until `hang` ran `count` times
    /// in all, and crashes it.
    private static func resumeAndCrash(path: String, steps: HangingStep, count: Int) async throws {
        let worker = try Worker(path: path, steps: steps)
        try await worker.engine.resumeInterrupted()
        try await steps.waitFor("hang", count: count)
        await worker.crash()
    }

    private static func message(_ step: String) -> String {
        "the worker stopped while running step \(step) twice; the execution was failed so it cannot stop the worker again"
    }

    @Test func anExecutionWhoseResumptionCrashedTheWorkerTwiceIsFailedNotResumed() async throws {
        let path = Self.databasePath()
        let steps = HangingStep()
        defer { steps.released.set() }
        let id = try await Self.crashThreeTimes(path: path, steps: steps)

        let worker = try Worker(path: path, steps: steps)
        try await worker.engine.resumeInterrupted()
        let failed = try #require(try await worker.ended(id))
        #expect(failed.status == .failed)
        #expect(failed.error == Self.message("hang"))
        #expect(failed.run(of: "first")?.status == .completed)
        #expect(failed.run(of: "hang")?.status == .failed)
        #expect(failed.run(of: "hang")?.error == Self.message("hang"))
        #expect(failed.run(of: "last")?.status == .skipped)
        #expect(steps.count("hang") == 3)
        #expect(steps.count("first") == 1)
        let events = worker.events.messages.withLock { $0 }.filter { $0.executionID == id }.map(\.event)
        #expect(events.last == "workflow.failed")
        #expect(events.contains("workflow.step.failed"))
        await worker.stop(wait: .seconds(1))
    }

    @Test func everyResumptionIsCountedBeforeAnyExecutionIsLaunched() async throws {
        let path = Self.databasePath()
        let steps = HangingStep()
        defer { steps.released.set() }
        let (_, id) = try await Self.startAndCrash(path: path, steps: steps)
        let worker = try Worker(path: path, steps: steps)
        #expect(try await worker.engine.resumeInterrupted() == 1)
        let resumptions = try await worker.store.read { db in
            try Int.fetchOne(db, sql: "SELECT resumptions FROM executions WHERE id = ?", arguments: [id])
        }
        #expect(resumptions == 1)
        await worker.crash()
    }

    @Test func aGracefulStopBetweenCrashesIsNotCounted() async throws {
        let path = Self.databasePath()
        let steps = HangingStep()
        defer { steps.released.set() }
        let (_, id) = try await Self.startAndCrash(path: path, steps: steps)
        try await Self.resumeAndCrash(path: path, steps: steps, count: 2)

        // Resumed a second time, then stopped gracefully: even with the step still in flight when
        // the engine stops waiting, this is no crash.
        let stopped = try Worker(path: path, steps: steps)
        try await stopped.engine.resumeInterrupted()
        try await steps.waitFor("hang", count: 3)
        await stopped.stop(wait: .milliseconds(100))

        let worker = try Worker(path: path, steps: steps)
        try await worker.engine.resumeInterrupted()
        try await steps.waitFor("hang", count: 4)
        #expect(try await worker.execution(id)?.status == .running)
        await worker.crash()

        // Counting starts again after the graceful stop: one crash is not yet two.
        try await Self.resumeAndCrash(path: path, steps: steps, count: 5)
        let last = try Worker(path: path, steps: steps)
        try await last.engine.resumeInterrupted()
        let failed = try #require(try await last.ended(id))
        #expect(failed.status == .failed)
        #expect(steps.count("hang") == 5)
        await last.stop(wait: .seconds(1))
    }

    @Test func aRetryStartsCountingAgain() async throws {
        let path = Self.databasePath()
        let steps = HangingStep()
        defer { steps.released.set() }
        let id = try await Self.crashThreeTimes(path: path, steps: steps)

        let retrying = try Worker(path: path, steps: steps)
        try await retrying.engine.resumeInterrupted()
        let failed = try #require(try await retrying.ended(id))
        #expect(failed.status == .failed)
        _ = try await retrying.store.write { db in try retrying.engine.retry(failed, in: db) }
        try await steps.waitFor("hang", count: 4)
        await retrying.crash()

        let worker = try Worker(path: path, steps: steps)
        try await worker.engine.resumeInterrupted()
        try await steps.waitFor("hang", count: 5)
        #expect(try await worker.execution(id)?.status == .running)
        await worker.crash()
    }

    @Test func withoutARunningEntryTheNextStepToRunIsNamed() async throws {
        let path = Self.databasePath()
        let steps = HangingStep()
        defer { steps.released.set() }
        let worker = try Worker(path: path, steps: steps)
        let workflow = Workflow(
            id: UUID().uuidString.lowercased(), name: "Hostile", description: nil, definition: Self.definition,
            triggerType: .manual, triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        var execution = Execution(workflow: workflow, triggeredBy: .manual, triggerData: [:])
        execution.log = [
            StepRun(
                stepID: "first", type: .transform, status: .completed, attempts: 1, startedAt: Date(),
                completedAt: Date(), output: ["ok": true], next: .step("hang"))
        ]
        try await worker.store.write { [execution] db in
            try WorkflowRepository.insert(db, workflow)
            try ExecutionRepository.insert(db, execution)
            try db.execute(sql: "UPDATE executions SET resumptions = 2 WHERE id = ?", arguments: [execution.id])
        }
        try await worker.engine.resumeInterrupted()
        let failed = try #require(try await worker.ended(execution.id))
        #expect(failed.status == .failed)
        #expect(failed.error == Self.message("hang"))
        #expect(failed.run(of: "hang")?.status == .failed)
        #expect(steps.count("hang") == 0)
        await worker.stop(wait: .seconds(1))
    }
}
