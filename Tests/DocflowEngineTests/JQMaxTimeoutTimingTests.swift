import DocflowCore
import Foundation
import Testing

@testable import DocflowEngine

/// The server-wide cap on a jq program's time, against the clock: run alone (`Timing`).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct JQMaxTimeoutTimingTests {
    @Test func twoEndlessProgramsStopAtTheCapWhileAThirdCompletesAtOnce() async throws {
        let pool = try makePool(size: 2, maxTimeout: .seconds(5))
        defer { pool.shutdown() }
        let started = ContinuousClock.now
        async let first = outcome { () async throws(JQError) in
            try await pool.evaluate("last(range(1e18))", input: nil, timeout: .seconds(3600))
        }
        async let second = outcome { () async throws(JQError) in
            try await pool.evaluate("last(range(1e18))", input: nil, timeout: .seconds(3600))
        }
        // Both helpers are stuck by now: the third goes to a spare.
        try await Task.sleep(for: .milliseconds(300))
        let third = ContinuousClock.now
        let quick = try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(3600))
        let quickTook = ContinuousClock.now - third
        #expect(quick == [42])
        // Behind a stuck helper it would wait the cap out, about 4.7 s more.
        #expect(quickTook < .milliseconds(2500), "the third program waited \(quickTook)")
        #expect(await first == .failure(.timeout(milliseconds: 5000)))
        #expect(await second == .failure(.timeout(milliseconds: 5000)))
        let took = ContinuousClock.now - started
        #expect(took >= .seconds(5) && took < .seconds(8), "\(took)")
    }

    @Test func aStepOverTheCapFailsNamingTheCapAndItsOwnTimeout() async throws {
        let pool = try makePool(size: 1, maxTimeout: .milliseconds(300))
        defer { pool.shutdown() }
        let step = StepDefinition(
            id: "spin", type: .transform, config: ["expression": "last(range(1e18))"], timeoutMs: 3_600_000)
        let context = StepContext(
            json: [:], executionID: "e", workflowID: "w", stepID: "spin", attempt: 1, timeout: .seconds(3600),
            deadline: .now.advanced(by: .seconds(3600)))
        let started = ContinuousClock.now
        do {
            _ = try await TransformStep(jq: pool).execute(step, context: context)
            Issue.record("an endless program completed")
        } catch {
            #expect(
                error.message
                    == "step timed out after 300 ms, the longest a jq step runs on this server (--max-jq-timeout-ms; its timeout_ms is 3600000); the jq program was stopped"
            )
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}
