import DocflowCore
import Foundation
import Logging
import Testing

@testable import DocflowEngine

/// A pool over the `docflow-jq` that was built with the tests (or `DOCFLOW_JQ_PATH`).
func makePool(size: Int, maxTimeout: Duration = JQPool.defaultMaxTimeout) throws -> JQPool {
    let executable = JQPool.defaultExecutable
    try #require(
        FileManager.default.isExecutableFile(atPath: executable),
        "docflow-jq not found: build it with the tests or set DOCFLOW_JQ_PATH")
    return JQPool(executable: executable, size: size, maxTimeout: maxTimeout, logger: Logger(label: "docflow.jq.tests"))
}

typealias Outcome = Result<[JSONValue], JQError>

func outcome(_ body: () async throws(JQError) -> [JSONValue]) async -> Outcome {
    do throws(JQError) {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

/// Runs `.x * 2` on `{"x": i}` for every `i`, all at once.
private func doubleAll(_ pool: JQPool, _ range: Range<Int>, timeout: Duration) async -> [Int: Outcome] {
    await withTaskGroup(of: (Int, Outcome).self) { group in
        for i in range {
            group.addTask {
                (
                    i,
                    await outcome { () async throws(JQError) in
                        try await pool.evaluate(".x * 2", input: ["x": .number(Double(i))], timeout: timeout)
                    }
                )
            }
        }
        var results: [Int: Outcome] = [:]
        for await (i, result) in group { results[i] = result }
        return results
    }
}

/// Busy for as long as the helper is let to run it.
let runaway = "last(range(1e13))"

/// Doubles a string until libjq cannot allocate it under the helper's 1 GiB address space; libjq
/// then aborts.
private let memoryBomb = "reduce range(40) as $i (\"x\"; . + .) | length"

@Suite(.serialized, .timeLimit(.minutes(2)))
struct JQPoolTests {
    @Test func everyConcurrentEvaluationGetsItsOwnResult() async throws {
        let pool = try makePool(size: 2)
        defer { pool.shutdown() }
        let results = await doubleAll(pool, 0..<2000, timeout: .seconds(60))
        #expect(results.count == 2000)
        for (i, result) in results {
            #expect(result == .success([.number(Double(i * 2))]), "input \(i)")
        }
    }

    @Test func largeRequestsAndRepliesPassEachOtherInThePipes() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        // Each one is several times a pipe's buffer, and together past the bytes written ahead.
        let inputs = (0..<20).map { i in JSONValue.string(String(repeating: "\(i % 10)", count: 300_000 + i)) }
        let results = await withTaskGroup(of: (Int, Outcome).self) { group in
            for (i, input) in inputs.enumerated() {
                group.addTask {
                    (
                        i,
                        await outcome { () async throws(JQError) in
                            try await pool.evaluate("[., .]", input: input, timeout: .seconds(60))
                        }
                    )
                }
            }
            var results: [Int: Outcome] = [:]
            for await (i, result) in group { results[i] = result }
            return results
        }
        for (i, input) in inputs.enumerated() {
            #expect(results[i] == .success([[input, input]]), "input \(i)")
        }
    }

    @Test func aProgramThatDoesNotCompileFailsWithJQsMessage() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let compiled = await outcome { () async throws(JQError) in
            try await pool.compile(".x |")
            return []
        }
        let evaluated = await outcome { () async throws(JQError) in
            try await pool.evaluate(".x |", input: [:], timeout: .seconds(10))
        }
        for result in [compiled, evaluated] {
            guard case .failure(.compile(let message)) = result else {
                Issue.record("expected a compile error, got \(result)")
                continue
            }
            #expect(message.contains("syntax error"), "\(message)")
        }
    }

    @Test func anErrorRaisedByTheProgramIsARuntimeError() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let result = await outcome { () async throws(JQError) in
            try await pool.evaluate(#"error("boom")"#, input: nil, timeout: .seconds(10))
        }
        #expect(result == .failure(.runtime("boom")))
    }

    @Test func aCrashFailsOnlyTheRequestThatCausedIt() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        async let bomb = outcome { () async throws(JQError) in
            try await pool.evaluate(memoryBomb, input: nil, timeout: .seconds(30))
        }
        let others = await doubleAll(pool, 0..<50, timeout: .seconds(30))
        guard case .failure(.crashed(let reason)) = await bomb else {
            Issue.record("expected a crash, got \(await bomb)")
            return
        }
        #expect(reason.contains("signal"), "\(reason)")
        for (i, result) in others {
            #expect(result == .success([.number(Double(i * 2))]), "input \(i)")
        }
        let after = try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(10))
        #expect(after == [42])
    }

    @Test func resultsOverTheReplyCapFailOnlyTheirProgramAndAreNotReadIntoDocflow() async throws {
        let executable = JQPool.defaultExecutable
        let pool = JQPool(
            executable: executable, size: 1, maxReplyBytes: 1 << 20, logger: Logger(label: "docflow.jq.tests"))
        defer { pool.shutdown() }
        // 2 MiB of one string, and results that only together pass the cap.
        let big = await outcome { () async throws(JQError) in
            try await pool.evaluate(#"{s: ("x" * 2097152)}"#, input: nil, timeout: .seconds(30))
        }
        #expect(big == .failure(.outputTooLarge(limit: 1 << 20)))
        let many = await outcome { () async throws(JQError) in
            try await pool.evaluate(#"range(3000) | "x" * 1000"#, input: nil, timeout: .seconds(30))
        }
        #expect(many == .failure(.outputTooLarge(limit: 1 << 20)))
        // Just under the cap passes, and the helper started again answers the next program.
        let fits = try await pool.evaluate(#""x" * 1000000"#, input: nil, timeout: .seconds(30))
        #expect(fits.first?.stringValue?.utf8.count == 1_000_000)
        #expect(try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(10)) == [42])
    }

    @Test func tasksOnAWorkersThreadRunThereAndEvaluateThroughIt() async throws {
        let pool = try makePool(size: 2)
        defer { pool.shutdown() }
        let (thread, results) = try await Task(executorPreference: pool.executor()) {
            let thread = try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            var results: [Int] = []
            for i in 0..<20 {
                let output = try await pool.evaluate(".x * 2", input: ["x": .number(Double(i))], timeout: .seconds(10))
                // Still on the worker's thread after each reply.
                #expect(try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) == thread)
                results.append(output.first?.intValue ?? -1)
            }
            // Child tasks keep the preference, and many requests from one thread pipeline.
            let concurrent = await doubleAll(pool, 0..<100, timeout: .seconds(10))
            for (i, result) in concurrent {
                #expect(result == .success([.number(Double(i * 2))]), "input \(i)")
            }
            return (thread, results)
        }.value
        #expect(thread.hasPrefix("jq "))
        #expect(results == (0..<20).map { $0 * 2 })
    }

    @Test func aTaskBoundForAStoppedWorkerStillRuns() async throws {
        let pool = try makePool(size: 1)
        pool.shutdown()
        try await Task.sleep(for: .milliseconds(50))
        let answer = await Task(executorPreference: pool.executor()) { () async -> Int in
            await Task.yield()
            return 42
        }.value
        #expect(answer == 42)
    }

    @Test func shutdownFailsEveryRequestInFlight() async throws {
        let pool = try makePool(size: 1)
        async let stuck = outcome { () async throws(JQError) in
            try await pool.evaluate(runaway, input: nil, timeout: .seconds(60))
        }
        try await Task.sleep(for: .milliseconds(100))
        // The spare helper gets stuck too: then the rest queue.
        async let spare = outcome { () async throws(JQError) in
            try await pool.evaluate(runaway, input: nil, timeout: .seconds(60))
        }
        try await Task.sleep(for: .milliseconds(100))
        async let queued = doubleAll(pool, 0..<50, timeout: .seconds(60))
        try await Task.sleep(for: .milliseconds(100))
        pool.shutdown()
        guard case .failure(.unavailable) = await stuck, case .failure(.unavailable) = await spare else {
            Issue.record("expected unavailable, got \(await stuck) and \(await spare)")
            return
        }
        for (i, result) in await queued {
            guard case .failure(.unavailable) = result else {
                Issue.record("input \(i): expected unavailable, got \(result)")
                continue
            }
        }
        let later = await outcome { () async throws(JQError) in
            try await pool.evaluate(".", input: 1, timeout: .seconds(10))
        }
        guard case .failure(.unavailable) = later else {
            Issue.record("after shutdown: expected unavailable, got \(later)")
            return
        }
    }
}

/// Deadlines measured against the clock: they run in `make test`'s second, serial phase (their
/// suite name has `Timing` in it), where 300 other tests do not compete for the two cores.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct JQPoolTimingTests {
    @Test func aRunawayProgramTimesOutWhileTheOthersSucceed() async throws {
        let pool = try makePool(size: 2)
        defer { pool.shutdown() }
        let started = ContinuousClock.now
        async let stuck = outcome { () async throws(JQError) in
            try await pool.evaluate(runaway, input: nil, timeout: .milliseconds(200))
        }
        // Shorter than the runaway's timeout: the ones queued behind it pass their deadline before
        // they start, and must still get to run.
        let others = await doubleAll(pool, 0..<200, timeout: .milliseconds(150))
        #expect(await stuck == .failure(.timeout(milliseconds: 200)))
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        for (i, result) in others {
            #expect(result == .success([.number(Double(i * 2))]), "input \(i)")
        }
        let after = try await pool.evaluate(".x * 2", input: ["x": 21], timeout: .seconds(10))
        #expect(after == [42])
    }

    @Test func aRunawayProgramDoesNotHoldUpTheOtherTasksOnItsWorkersThread() async throws {
        let pool = try makePool(size: 2)
        defer { pool.shutdown() }
        let started = ContinuousClock.now
        let (quick, quickTook, stuck) = await Task(executorPreference: pool.executor()) {
            async let stuck = outcome { () async throws(JQError) in
                try await pool.evaluate(runaway, input: nil, timeout: .seconds(3))
            }
            try? await Task.sleep(for: .milliseconds(50))
            // This thread's helper is busy: these go to the other one, and the thread keeps
            // reading their replies while its own helper runs away.
            var quick: [Outcome] = []
            for i in 0..<50 {
                quick.append(
                    await outcome { () async throws(JQError) in
                        try await pool.evaluate(".x * 2", input: ["x": .number(Double(i))], timeout: .seconds(10))
                    })
            }
            let quickTook = ContinuousClock.now - started
            return (quick, quickTook, await stuck)
        }.value
        #expect(quick == (0..<50).map { .success([.number(Double($0 * 2))]) })
        #expect(quickTook < .seconds(2), "the quick programs waited for the runaway: \(quickTook)")
        #expect(stuck == .failure(.timeout(milliseconds: 3000)))
    }

    @Test func requestsQueuedBehindARunawayProgramRunOnTheNextHelper() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        async let stuck = outcome { () async throws(JQError) in
            try await pool.evaluate(runaway, input: nil, timeout: .milliseconds(300))
        }
        try await Task.sleep(for: .milliseconds(50))
        let queued = await doubleAll(pool, 0..<50, timeout: .milliseconds(100))
        #expect(await stuck == .failure(.timeout(milliseconds: 300)))
        for (i, result) in queued {
            #expect(result == .success([.number(Double(i * 2))]), "input \(i)")
        }
    }
}
