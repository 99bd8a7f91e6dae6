import DocflowCore
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// A retry adds to an execution's history instead of rewriting it: the run it ends is kept, its
/// outcome and its steps as they were, in the transaction that reopens the execution; a rerun is
/// a new execution linked to the one it reruns. On a real SQLite file, no broker.
@Suite struct ExecutionHistoryTests {
    /// Fails step `gate` until `open` is set, holds step `shape` while `hold` is set; counts the
    /// steps it runs, by step id.
    final class GatedStep: StepExecutor {
        let runs = Mutex<[String: Int]>([:])
        let open = Gate()
        let hold = Gate()

        final class Gate: Sendable {
            private let value = Mutex(false)
            var isSet: Bool { value.withLock { $0 } }
            func set() { value.withLock { $0 = true } }
            func clear() { value.withLock { $0 = false } }
        }

        func count(_ stepID: String) -> Int { runs.withLock { $0[stepID] ?? 0 } }

        func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
            runs.withLock { $0[step.id, default: 0] += 1 }
            while step.id == "shape", hold.isSet { try? await Task.sleep(for: .milliseconds(5)) }
            if step.id == "gate", !open.isSet { throw StepError("gate closed", retryable: false) }
            return StepResult(output: ["step": .string(step.id)])
        }
    }

    /// An engine over a fresh database with a workflow `shape`, `gate`, `last`; `body` gets it,
    /// then it is stopped.
    private static func withEngine(steps: GatedStep, _ body: (Engine, Workflow) async throws -> Void) async throws {
        let (store, journal, engine) = try freshEngine("history", steps: steps)
        let workflow = Workflow(
            id: UUID().uuidString.lowercased(), name: "Gated", description: nil,
            definition: WorkflowDefinition(
                steps: ["shape", "gate", "last"].map {
                    StepDefinition(id: $0, type: .transform, config: ["expression": "."])
                }),
            triggerType: .manual, triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        try await store.write { db in try WorkflowRepository.insert(db, workflow) }
        try await whileJournalRuns(journal, engine: engine) { try await body(engine, workflow) }
    }

    /// Waits until the execution has ended in the database.
    private static func ended(_ engine: Engine, _ id: String) async throws -> Execution {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            let execution = try await engine.store.read { db in try ExecutionRepository.fetch(db, id: id) }
            if let execution, execution.status != .running, !engine.isRunning(id) { return execution }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ExecutionNotEnded(id: id)
    }

    struct ExecutionNotEnded: Error { let id: String }

    /// A started execution of `workflow`, once it has failed at `gate`.
    private static func failedExecution(_ engine: Engine, _ workflow: Workflow) async throws -> Execution {
        let started = try #require(try await engine.start(.manual(workflow, triggerData: ["n": 1])).execution)
        let failed = try await ended(engine, started.id)
        #expect(failed.status == .failed)
        return failed
    }

    private static func retry(_ engine: Engine, _ id: String) async throws -> Execution? {
        try await engine.store.write { db in
            try ExecutionRepository.fetch(db, id: id).flatMap { try engine.retry($0, in: db) }
        }
    }

    private static func count(_ engine: Engine, _ table: String) async throws -> Int {
        try await engine.store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    @Test func reopeningKeepsTheRunAsItEndedAndOnlyTheCompletedSteps() {
        let workflow = Workflow(
            id: "w", name: "w", description: nil, definition: WorkflowDefinition(steps: []), triggerType: .manual,
            triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        var failed = Execution(
            workflow: workflow, triggeredBy: .manual, triggerData: [:], startedAt: Date(timeIntervalSince1970: 100))
        failed.status = .failed
        failed.completedAt = Date(timeIntervalSince1970: 110)
        failed.error = "step gate failed: gate closed"
        failed.log = [
            StepRun(stepID: "shape", type: .transform, status: .completed, attempts: 1),
            StepRun(stepID: "gate", type: .transform, status: .failed, attempts: 3, error: "gate closed"),
            StepRun(stepID: "last", type: .transform, status: .skipped),
        ]
        let reopened = failed.reopened(at: Date(timeIntervalSince1970: 200))
        #expect(reopened.status == .running && reopened.error == nil && reopened.completedAt == nil)
        #expect(reopened.log.map(\.stepID) == ["shape"])
        #expect(reopened.runNumber == 2)
        #expect(reopened.runStartedAt == Date(timeIntervalSince1970: 200))
        let run = reopened.previousRuns.first
        #expect(run?.number == 1 && run?.status == .failed && run?.error == "step gate failed: gate closed")
        #expect(run?.startedAt == Date(timeIntervalSince1970: 100))
        #expect(run?.completedAt == Date(timeIntervalSince1970: 110))
        #expect(run?.log == failed.log)

        var again = reopened
        again.status = .failed
        again.completedAt = Date(timeIntervalSince1970: 210)
        let third = again.reopened(at: Date(timeIntervalSince1970: 300))
        #expect(third.runNumber == 3)
        #expect(third.previousRuns.map(\.number) == [1, 2])
        #expect(third.previousRuns[1].startedAt == Date(timeIntervalSince1970: 200))
    }

    @Test func aRetryThatSucceedsStillShowsTheFailedRunWithItsError() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let failed = try await Self.failedExecution(engine, workflow)
            steps.open.set()
            let retried = try #require(try await Self.retry(engine, failed.id))
            #expect(retried.runNumber == 2)
            let completed = try await Self.ended(engine, failed.id)

            #expect(completed.status == .completed)
            #expect(completed.error == nil)
            #expect(completed.log.map(\.status) == [.completed, .completed, .completed])
            // `shape` completed in the first run and was kept, not run again.
            #expect(steps.count("shape") == 1)
            #expect(completed.runNumber == 2)
            let run = try #require(completed.previousRuns.first)
            #expect(completed.previousRuns.count == 1)
            #expect(run.status == .failed)
            #expect(run.error == "step gate failed: gate closed")
            #expect(run.startedAt == failed.startedAt)
            #expect(run.completedAt == failed.completedAt)
            #expect(run.log == failed.log)
            #expect(run.log.first { $0.stepID == "gate" }?.error == "gate closed")

            let json = completed.json()
            #expect(json["status"] == "completed")
            #expect(json["error"] == .null)
            #expect(json["run"] == 2)
            #expect(json["rerun_of"] == .null)
            let shown = try #require(json["previous_runs"]?.arrayValue?.first)
            #expect(shown["status"] == "failed")
            #expect(shown["error"] == "step gate failed: gate closed")
            #expect(shown["run"] == 1)
            #expect(
                shown["execution_log"]?.arrayValue?.map { $0["status"]?.stringValue }
                    == ["completed", "failed", "skipped"])
        }
    }

    @Test func everyRetryAddsARunInOrder() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let failed = try await Self.failedExecution(engine, workflow)
            _ = try #require(try await Self.retry(engine, failed.id))
            let second = try await Self.ended(engine, failed.id)
            #expect(second.status == .failed)
            steps.open.set()
            _ = try #require(try await Self.retry(engine, failed.id))
            let third = try await Self.ended(engine, failed.id)
            #expect(third.status == .completed)
            #expect(third.previousRuns.map(\.number) == [1, 2])
            #expect(third.previousRuns.map(\.status) == [.failed, .failed])
            #expect(third.previousRuns[1].startedAt == third.previousRuns[0].retriedAt)
            #expect(steps.count("gate") == 3)
        }
    }

    @Test func aRetryAsSoonAsTheFailureIsCommittedRunsOnceItsRunnerHasLeft() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            for round in 1...5 {
                steps.open.clear()
                let started = try #require(try await engine.start(.manual(workflow, triggerData: [:])).execution)
                // No wait for the runner to leave: the retry may come while it still finishes.
                var failed: Execution?
                while failed == nil {
                    failed = try await engine.store.read { db in
                        try ExecutionRepository.fetch(db, id: started.id).flatMap { $0.status == .failed ? $0 : nil }
                    }
                }
                steps.open.set()
                let retried = try await engine.store.write { [failed] db in try engine.retry(failed!, in: db) }
                #expect(retried != nil, "round \(round)")
                #expect(try await Self.ended(engine, started.id).status == .completed, "round \(round)")
            }
        }
    }

    @Test func aRelaunchWhileTheRunnerIsStillThereRunsOnceItHasLeft() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            steps.hold.set()
            let started = try #require(try await engine.start(.manual(workflow, triggerData: [:])).execution)
            #expect(engine.isRunning(started.id))
            engine.relaunch(started)
            steps.hold.clear()
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while steps.count("gate") < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(steps.count("shape") == 2)
            _ = try await Self.ended(engine, started.id)
        }
    }

    @Test func onlyAFailedExecutionIsRetriedAndOnlyOnce() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let failed = try await Self.failedExecution(engine, workflow)
            steps.open.set()
            // Two retries of the same execution read before either: the second is refused.
            let (first, second) = try await engine.store.write { db in
                (try engine.retry(failed, in: db), try engine.retry(failed, in: db))
            }
            #expect(first != nil)
            #expect(second == nil)
            let completed = try await Self.ended(engine, failed.id)
            #expect(completed.previousRuns.count == 1)
            #expect(try await Self.retry(engine, failed.id) == nil)
            #expect(try await Self.count(engine, "execution_runs") == 1)
        }
    }

    @Test func aRetryRolledBackKeepsNoRunAndRunsNothing() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let failed = try await Self.failedExecution(engine, workflow)
            struct RolledBack: Error {}
            await #expect(throws: RolledBack.self) {
                try await engine.store.write { db in
                    _ = try engine.retry(failed, in: db)
                    throw RolledBack()
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(steps.count("gate") == 1)
            let unchanged = try await engine.store.read { db in try ExecutionRepository.fetch(db, id: failed.id) }
            #expect(unchanged == failed)
            #expect(try await Self.count(engine, "execution_runs") == 0)
            #expect(try await Self.count(engine, "execution_run_steps") == 0)
        }
    }

    @Test func retentionPrunesTheRunsWithTheirExecution() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let failed = try await Self.failedExecution(engine, workflow)
            _ = try #require(try await Self.retry(engine, failed.id))
            _ = try await Self.ended(engine, failed.id)
            #expect(try await Self.count(engine, "execution_runs") == 1)
            #expect(try await Self.count(engine, "execution_run_steps") == 3)
            let pruned = try await engine.store.write { db in
                try Retention.pruneExecutions(db, startedBefore: Date().addingTimeInterval(60), limit: 10)
            }
            #expect(pruned == 1)
            #expect(try await Self.count(engine, "execution_runs") == 0)
            #expect(try await Self.count(engine, "execution_run_steps") == 0)
        }
    }

    @Test func aRerunIsANewExecutionThatNamesTheOneItReruns() async throws {
        let steps = GatedStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let failed = try await Self.failedExecution(engine, workflow)
            steps.open.set()
            let outcome = try await engine.store.write { db in
                try engine.start(.rerun(workflow, of: failed.id, triggerData: ["n": 2]), in: db)
            }
            let rerun = try #require(outcome.execution)
            #expect(rerun.id != failed.id)
            let completed = try await Self.ended(engine, rerun.id)
            #expect(completed.status == .completed)
            #expect(completed.rerunOf == failed.id)
            #expect(completed.triggerData == ["n": 2])
            #expect(completed.triggeredBy == .manual)
            #expect(completed.json()["rerun_of"] == .string(failed.id))
            #expect(completed.runNumber == 1 && completed.previousRuns.isEmpty)
            // The original is left as it was.
            #expect(try await Self.ended(engine, failed.id) == failed)
        }
    }
}
