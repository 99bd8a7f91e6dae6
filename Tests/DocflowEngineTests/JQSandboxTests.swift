import DocflowCore
import Foundation
import Testing

@testable import DocflowEngine

/// What a jq program can reach from inside its helper: no environment, no stdin (the protocol
/// stream), no module files, no output outside its results.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct JQSandboxTests {
    @Test func envAndDollarENVAreEmpty() async throws {
        // The test process's own environment (PATH, HOME, ...) is what must not reach the helper.
        // No setenv here: changing the environment while other tests spawn processes races with
        // Foundation's Process.run copying it (a crash in memcpy, seen in a parallel run).
        try #require(!ProcessInfo.processInfo.environment.isEmpty)
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let result = try await pool.evaluate("[$ENV, env]", input: nil, timeout: .seconds(10))
        #expect(result == [[[:], [:]]])
    }

    @Test(arguments: ["input", "[inputs]", "first(inputs)"])
    func readingInputsFailsAtOnceInsteadOfReadingTheProtocolStream(program: String) async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let started = ContinuousClock.now
        let result = await outcome { () async throws(JQError) in
            try await pool.evaluate(program, input: ["x": 1], timeout: .seconds(60))
        }
        // Reading the protocol stream would block until the 60 s deadline.
        #expect(ContinuousClock.now - started < .seconds(20))
        switch result {
        case .success(let values): #expect(values == [] || values == [[]], "\(program): \(values)")
        case .failure(.runtime): break
        case .failure(let error): Issue.record("\(program): \(error)")
        }
        // The helper still answers in step: nothing it read took a request away.
        #expect(try await pool.evaluate(".x", input: ["x": 7], timeout: .seconds(5)) == [7])
    }

    @Test func debugStderrAndLocationLeaveTheRepliesIntact() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let program = "debug | stderr | [., input_filename, $__loc__, get_search_list]"
        let result = try await pool.evaluate(program, input: ["x": 1], timeout: .seconds(5))
        #expect(result == [[["x": 1], nil, ["file": "<top-level>", "line": 1], []]])
        #expect(try await pool.evaluate(".x", input: ["x": 7], timeout: .seconds(5)) == [7])
    }

    @Test(arguments: [
        "import \"a\" as a; .", "include \"a\"; .", "import \"a\" as $data; .", "# a comment\n  include \"x\"; .",
        "module {a: 1}; .",
    ])
    func moduleDirectivesAreRefusedWithoutCrashingTheHelper(program: String) async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let result = await outcome { () async throws(JQError) in
            try await pool.evaluate(program, input: nil, timeout: .seconds(5))
        }
        #expect(result == .failure(.compile("jq modules (import/include) are not supported")))
        let compiled = await outcome { () async throws(JQError) in
            try await pool.compile(program)
            return []
        }
        #expect(compiled == .failure(.compile("jq modules (import/include) are not supported")))
    }

    @Test func modulemetaFindsNoModuleAndTheHelperLives() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let result = await outcome { () async throws(JQError) in
            try await pool.evaluate("\"a\" | modulemeta", input: nil, timeout: .seconds(5))
        }
        guard case .failure(.runtime) = result else {
            Issue.record("modulemeta: \(result)")
            return
        }
        #expect(try await pool.evaluate(".x", input: ["x": 7], timeout: .seconds(5)) == [7])
    }
}
