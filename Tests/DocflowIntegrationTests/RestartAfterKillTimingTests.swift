import DocflowCore
import Foundation
import Testing

/// kill -9 while a jq helper runs an endless program, then an immediate restart on the same
/// database and HTTP port: the new process serves at once and stops on SIGTERM, every time.
/// Timing (the type's name): it holds the helpers' exit and the restart to deadlines, so it runs alone after the
/// parallel tests.
@Suite("Restart after kill -9")
struct RestartAfterKillTimingTests {
    @Test(.timeLimit(.minutes(3))) func aRestartRightAfterKill9WithABusyHelperServesEveryTime() async throws {
        let port = try freePort()
        // The server's default cap on a jq program's time, which SIGTERM waits for.
        let server = try await ExternalServer(httpPort: port, environment: [:])
        let created = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "spins", "trigger_type": "manual",
                "definition": ["steps": [transform("spin", "last(range(1e18))", ["timeout_ms": 3_600_000])]],
            ])
        let workflow = try #require(created.body?["id"]?.stringValue)
        for round in 1...3 {
            let started = try await server.call("POST", "/api/workflows/\(workflow)/execute", body: [:])
            #expect(started.status == 202, "round \(round)")
            let pid = try #require(server.pid)
            let helpers = try await busyHelpers(of: pid)

            // The helpers die with docflow, not a second later.
            let killed = ContinuousClock.now
            await server.kill9()
            while helpers.contains(where: ProcessTable.isAlive), ContinuousClock.now - killed < .seconds(2) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let helpersGone = ContinuousClock.now - killed
            #expect(helpersGone < .milliseconds(300), "round \(round): the helpers outlived docflow by \(helpersGone)")

            let restarted = ContinuousClock.now
            try await server.launch()
            while (try? await http("GET", port, "/healthz"))?.status != 200 {
                guard ContinuousClock.now - restarted < .seconds(10) else {
                    throw TestFailure("round \(round): /healthz unanswered 10 s after the restart")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let took = ContinuousClock.now - restarted
            #expect(took < .seconds(5), "round \(round): API and /healthz answered after \(took)")
        }
        // A jq step runs at most --max-jq-timeout-ms (10 s), well within the drain time.
        let pid = try #require(server.pid)
        let signalled = ContinuousClock.now
        kill(pid, SIGTERM)
        while ProcessTable.isAlive(pid), ContinuousClock.now - signalled < .seconds(20) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!ProcessTable.isAlive(pid), "docflow still runs 20 s after SIGTERM")
        await server.stop()
    }

    /// The docflow-jq children of `pid`, once one runs (the helpers start with their first program).
    private func busyHelpers(of pid: pid_t) async throws -> [pid_t] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            let helpers = ProcessTable.children(of: pid, named: "docflow-jq")
            if !helpers.isEmpty {
                // Long enough for the program to be under way.
                try await Task.sleep(for: .milliseconds(200))
                return ProcessTable.children(of: pid, named: "docflow-jq")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no jq helper started within 10 s")
    }
}
