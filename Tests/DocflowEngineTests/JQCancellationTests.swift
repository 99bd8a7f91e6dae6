import DocflowCore
import Foundation
import Synchronization
import Logging
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// Cancelling the task that waits for a jq program answers it at once and stops the program:
/// a running one has its helper killed (and started again for the next), a queued one is dropped.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct JQCancellationTests {
    @Test func cancellingTheTaskKillsTheRunningProgramAndTheNextOneRuns() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let task = Task {
            await outcome { () async throws(JQError) in
                try await pool.evaluate("last(range(1e18))", input: nil, timeout: .seconds(3600))
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        task.cancel()
        #expect(await task.value == .failure(.cancelled))
        // The program runs for hours unless stopped: a minute tells "at once" from "never" on a loaded machine
        // (ten seconds did not, in a full run on two cores).
        #expect(ContinuousClock.now - cancelled < .seconds(60))
        #expect(try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(10)) == [42])
    }

    @Test func aCancelledTaskOnTheWorkersThreadStopsItsProgram() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        // The hot path: a task on the worker's thread writes straight into the helper's input.
        let task = Task(executorPreference: pool.executor()) {
            await outcome { () async throws(JQError) in
                try await pool.evaluate("last(range(1e18))", input: nil, timeout: .seconds(3600))
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        task.cancel()
        #expect(await task.value == .failure(.cancelled))
        // The program runs for hours unless stopped: a minute tells "at once" from "never" on a loaded machine
        // (ten seconds did not, in a full run on two cores).
        #expect(ContinuousClock.now - cancelled < .seconds(60))
        #expect(try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(10)) == [42])
    }

    @Test func aCancelledRequestBehindARunningOneIsAnsweredAtOnceAndTheRunningOneGoesOn() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        // The worker stuck on one, its spare on the other: the next request waits in a helper's
        // input behind a runaway.
        let slowEnded = EndCount()
        var slow: [Task<Outcome, Never>] = []
        for _ in 0..<2 {
            slow.append(
                Task { @Sendable () async -> Outcome in
                    let result = await outcome { () async throws(JQError) in
                        try await pool.evaluate("last(range(1e18))", input: nil, timeout: .seconds(6))
                    }
                    slowEnded.count.add(1, ordering: .sequentiallyConsistent)
                    return result
                })
            try await Task.sleep(for: .milliseconds(100))
        }
        let queued = Task {
            await outcome { () async throws(JQError) in
                try await pool.evaluate(".", input: 1, timeout: .seconds(3600))
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let cancelled = ContinuousClock.now
        queued.cancel()
        #expect(await queued.value == .failure(.cancelled))
        // Answered before the runaways ahead of it reached their deadline, not after.
        #expect(slowEnded.count.load(ordering: .sequentiallyConsistent) == 0)
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        for task in slow { #expect(await task.value == .failure(.timeout(milliseconds: 6000))) }
        #expect(try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(10)) == [42])
    }

    @Test func cancellingAnExecutionKillsItsRunningJQProgram() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-jqcancel-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
        let store = try Store(path: path)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let journal = Journal(store: store, logger: logger, didCommit: { _ in })
        let writer = Task { await journal.run() }
        var executors = StepExecutors()
        executors.register(.transform, TransformStep(jq: pool))
        let engine = Engine(
            store: store, journal: journal, executors: executors, executor: { pool.executor() }, logger: logger)
        let workflow = Workflow(
            id: UUID().uuidString.lowercased(), name: "Spins", description: nil,
            definition: WorkflowDefinition(steps: [
                StepDefinition(
                    id: "spin", type: .transform, config: ["expression": "last(range(1e18))"], timeoutMs: 3_600_000),
                StepDefinition(id: "after", type: .transform, config: ["expression": "."]),
            ]),
            triggerType: .manual, triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        try await store.write { db in try WorkflowRepository.insert(db, workflow) }
        let execution = try #require(try await engine.start(.manual(workflow, triggerData: [:])).execution)
        try await Task.sleep(for: .milliseconds(500))

        let cancelled = ContinuousClock.now
        #expect(await engine.cancel(executionID: execution.id, wait: .seconds(5)))
        // The program runs for hours unless stopped: a minute tells "at once" from "never" on a loaded machine
        // (ten seconds did not, in a full run on two cores).
        #expect(ContinuousClock.now - cancelled < .seconds(60))
        let ended = try #require(try await store.read { db in try ExecutionRepository.fetch(db, id: execution.id) })
        #expect(ended.status == .cancelled)
        #expect(ended.run(of: "spin")?.error == "cancelled")
        #expect(ended.run(of: "after")?.status == .skipped)
        // The helper is started again for the next program.
        #expect(try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(10)) == [42])
        await engine.stop(wait: .seconds(1))
        journal.stop()
        await writer.value
    }
}

private final class EndCount: Sendable {
    let count = Atomic<Int>(0)
}
