import DocflowCore
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// `Engine.start`, the one way an execution starts, and the engine's cancel and stop, on a real
/// SQLite file with step executors that count what they are asked to do. No broker.
@Suite struct EngineStartTests {
    /// Counts the steps it runs, by step id; waits `delay` first.
    final class CountingStep: StepExecutor {
        let runs = Mutex<[String: Int]>([:])
        let delay: Duration

        init(delay: Duration = .zero) {
            self.delay = delay
        }

        func count(_ stepID: String) -> Int { runs.withLock { $0[stepID] ?? 0 } }

        func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
            runs.withLock { $0[step.id, default: 0] += 1 }
            if delay > .zero {
                // Ignores cancellation on purpose: a step may not stop when asked.
                let until = ContinuousClock.now.advanced(by: delay)
                while ContinuousClock.now < until {
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            return StepResult(output: ["ok": true])
        }
    }

    /// An engine over a fresh database, its journal running; `body` gets it, then it is stopped.
    private static func withEngine(
        steps: CountingStep, enabled: Bool = true, definition: [StepDefinition]? = nil,
        _ body: (Engine, Workflow) async throws -> Void
    ) async throws {
        let (store, journal, engine) = try freshEngine("start", steps: steps)
        let workflow = Workflow(
            id: UUID().uuidString.lowercased(), name: "Invoices", description: nil,
            definition: WorkflowDefinition(
                steps: definition ?? [
                    StepDefinition(id: "shape", type: .transform, config: ["expression": "."]),
                    StepDefinition(id: "send", type: .integration, config: ["integration_id": "x"]),
                ]),
            triggerType: .event, triggerConfig: ["event": "document.uploaded"], enabled: enabled,
            createdAt: Date(), updatedAt: Date())
        try await store.write { db in try WorkflowRepository.insert(db, workflow) }
        try await whileJournalRuns(journal, engine: engine) { try await body(engine, workflow) }
    }

    /// Waits until the execution has ended in the database.
    private static func ended(_ engine: Engine, _ id: String) async throws -> Execution? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            let execution = try await engine.store.read { db in try ExecutionRepository.fetch(db, id: id) }
            if let execution, execution.status != .running, !engine.isRunning(id) { return execution }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    private static func executions(_ engine: Engine, of workflow: Workflow) async throws -> Int {
        try await engine.store.read { db in
            try ExecutionRepository.list(db, workflowID: workflow.id, limit: 100).count
        }
    }

    @Test func aStartIsCommittedThenRunToTheEnd() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let outcome = try await engine.start(.manual(workflow, triggerData: ["n": 1]))
            let execution = try #require(outcome.execution)
            let ended = try #require(try await Self.ended(engine, execution.id))
            #expect(ended.status == .completed)
            #expect(ended.triggeredBy == .manual)
            #expect(ended.log.map(\.stepID) == ["shape", "send"])
            #expect(steps.count("shape") == 1 && steps.count("send") == 1)
        }
    }

    @Test func aSecondStartWithTheSameClaimIsRefusedAndRunsNothing() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let first = try await engine.start(
                .event(workflow, eventID: "e-1", triggerData: [:], redelivered: true))
            _ = try await Self.ended(engine, try #require(first.execution).id)
            let again = try await engine.start(
                .event(workflow, eventID: "e-1", triggerData: [:], redelivered: true))
            #expect(again.execution == nil)
            try await Task.sleep(for: .milliseconds(50))
            #expect(steps.count("shape") == 1)
            #expect(try await Self.executions(engine, of: workflow) == 1)
        }
    }

    @Test func aRefusedSpeculativeStartNeverRunsAStepWithExternalEffects() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let first = try await engine.start(
                .event(workflow, eventID: "e-2", triggerData: [:], redelivered: true))
            _ = try await Self.ended(engine, try #require(first.execution).id)
            // A first delivery of the same event id: it runs `shape` (no effects) while its start
            // commits, and must drop out before `send` (an integration).
            let outcome = await withCheckedContinuation { continuation in
                engine.start(.event(workflow, eventID: "e-2", triggerData: [:], redelivered: false)) {
                    continuation.resume(returning: $0)
                }
            }
            guard case .success(.refused) = outcome else {
                Issue.record("expected the duplicate to be refused, got \(outcome)")
                return
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(StepType.integration.capabilities.effects == .external)
            #expect(steps.count("send") == 1)
            #expect(try await Self.executions(engine, of: workflow) == 1)
        }
    }

    @Test func aFirstDeliveryRunsAndIsWrittenOnce() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            let outcome = await withCheckedContinuation { continuation in
                engine.start(.event(workflow, eventID: "e-3", triggerData: [:], redelivered: false)) {
                    continuation.resume(returning: $0)
                }
            }
            let execution = try #require(try outcome.get().execution)
            let ended = try #require(try await Self.ended(engine, execution.id))
            #expect(ended.status == .completed)
            #expect(steps.count("send") == 1)
            #expect(try await Self.executions(engine, of: workflow) == 1)
        }
    }

    @Test func aClaimedStartOfADisabledWorkflowIsRefused() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps, enabled: false) { engine, workflow in
            let outcome = try await engine.start(
                .schedule(workflow, slot: Date(timeIntervalSince1970: 0), triggerData: [:]))
            #expect(outcome.execution == nil)
            #expect(try await Self.executions(engine, of: workflow) == 0)
        }
    }

    @Test func aStartInACallersTransactionRunsOnlyOnceThatCommits() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            struct RolledBack: Error {}
            await #expect(throws: RolledBack.self) {
                try await engine.store.write { db in
                    _ = try engine.start(.manual(workflow, triggerData: [:]), in: db)
                    throw RolledBack()
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(steps.count("shape") == 0)
            #expect(try await Self.executions(engine, of: workflow) == 0)

            let outcome = try await engine.store.write { db in
                try engine.start(.manual(workflow, triggerData: [:]), in: db)
            }
            let execution = try #require(outcome.execution)
            #expect(try await Self.ended(engine, execution.id)?.status == .completed)
            #expect(steps.count("shape") == 1)
        }
    }

    @Test func aStartRolledBackToASavepointDoesNotRunThoughItsTransactionCommits() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            try await engine.store.write { db in
                try db.inSavepoint {
                    _ = try engine.start(.manual(workflow, triggerData: [:]), in: db)
                    return .rollback
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(steps.count("shape") == 0)
            #expect(try await Self.executions(engine, of: workflow) == 0)
        }
    }

    @Test func aStartOfAWorkflowDisabledSinceItWasReadIsRefused() async throws {
        let steps = CountingStep()
        try await Self.withEngine(steps: steps) { engine, workflow in
            var disabled = workflow
            disabled.enabled = false
            try await engine.store.write { [disabled] db in try WorkflowRepository.update(db, disabled) }
            let outcome = try await engine.start(.webhook(workflow, idempotencyKey: nil, triggerData: [:]))
            #expect(outcome.execution == nil)
            #expect(try await Self.executions(engine, of: workflow) == 0)
        }
    }

    @Test func twoStopsAtOnceBothReturn() async throws {
        let steps = CountingStep(delay: .milliseconds(300))
        try await Self.withEngine(steps: steps) { engine, workflow in
            _ = try await engine.start(.manual(workflow, triggerData: [:]))
            while steps.count("shape") == 0 { try await Task.sleep(for: .milliseconds(5)) }
            async let first: Void = engine.stop(wait: .seconds(10))
            async let second: Void = engine.stop(wait: .seconds(10))
            _ = await (first, second)
            let id = try await engine.store.read { db in
                try ExecutionRepository.list(db, workflowID: workflow.id, limit: 1).first?.id
            }
            #expect(engine.isRunning(try #require(id)) == false)
        }
    }

    @Test func manyConcurrentCancelsOfOneExecutionAreAllAnswered() async throws {
        let steps = CountingStep(delay: .milliseconds(300))
        try await Self.withEngine(steps: steps) { engine, workflow in
            let execution = try #require(try await engine.start(.manual(workflow, triggerData: [:])).execution)
            let answered = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<64 {
                    group.addTask { await engine.cancel(executionID: execution.id, wait: .seconds(5)) }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(answered == 64)
            #expect(!engine.isRunning(execution.id))
            #expect(try await Self.ended(engine, execution.id)?.status == .cancelled)
        }
    }

    @Test func stopReturnsWhenItsTaskIsCancelledThoughAStepHangs() async throws {
        let steps = CountingStep(delay: .seconds(5))
        try await Self.withEngine(steps: steps) { engine, workflow in
            _ = try await engine.start(.manual(workflow, triggerData: [:]))
            while steps.count("shape") == 0 { try await Task.sleep(for: .milliseconds(5)) }
            let began = ContinuousClock.now
            let stopping = Task { await engine.stop(wait: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(100))
            stopping.cancel()
            await stopping.value
            // Against the alternative (the 60 s wait), not the machine's load: a loaded run took 3.03 s.
            #expect(ContinuousClock.now - began < .seconds(30))
        }
    }

    @Test func everyStepTypeDeclaresWhereItRunsItsEffectsAndItsDeadline() {
        let declared = Dictionary(uniqueKeysWithValues: StepType.allCases.map { ($0, $0.capabilities) })
        let jq = StepCapabilities(placement: .executionThread, effects: .none, deadline: .executor)
        // A parse step kills its parser at its deadline; the document it fetches has curl's timeout.
        let reads = StepCapabilities(placement: .sharedExecutor, effects: .none, deadline: .executor)
        let sends = StepCapabilities(placement: .sharedExecutor, effects: .external, deadline: .engine)
        #expect(
            declared == [
                .transform: jq, .condition: jq, .parse: reads, .extract: sends, .integration: sends,
            ])
    }
}
