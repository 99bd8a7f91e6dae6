import DocflowCore
import Foundation
import Testing

/// The API's cancel of an execution whose jq step runs an endless program: the program's
/// helper is killed at once, the execution ends `cancelled`, and the next jq step runs.
@Suite("Cancel a running jq program")
struct CancelRunningJQTests {
    @Test(.timeLimit(.minutes(2))) func cancellingAnExecutionKillsItsHelperAtOnce() async throws {
        let server = try await ExternalServer()
        let created = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "spins", "trigger_type": "manual",
                "definition": [
                    "steps": [
                        transform("spin", "last(range(1e18))", ["timeout_ms": 3_600_000]),
                        transform("after", "{done: true}"),
                    ]
                ],
            ])
        let workflow = try #require(created.body?["id"]?.stringValue)
        let started = try await server.call("POST", "/api/workflows/\(workflow)/execute", body: [:])
        let execution = try #require(started.body?["execution_id"]?.stringValue)
        let pid = try #require(server.pid)
        var helpers: [pid_t] = []
        let spawned = ContinuousClock.now.advanced(by: .seconds(10))
        while helpers.isEmpty, ContinuousClock.now < spawned {
            try await Task.sleep(for: .milliseconds(50))
            helpers = ProcessTable.children(of: pid, named: "docflow-jq")
        }
        try #require(helpers.count == 1, "helpers: \(helpers)")
        try await Task.sleep(for: .milliseconds(300))

        let cancelling = ContinuousClock.now
        let cancelled = try await server.call(
            "POST", "/api/workflows/\(workflow)/executions/\(execution)/cancel", body: [:])
        let took = ContinuousClock.now - cancelling
        #expect(cancelled.status == 200, "\(String(describing: cancelled.body))")
        #expect(cancelled.body?["status"] == "cancelled")
        #expect(cancelled.body?.step("spin")?["error"] == "cancelled")
        #expect(cancelled.body?.step("after")?["status"] == "skipped")
        // The program runs for an hour unless stopped.
        #expect(took < .seconds(10), "cancel answered after \(took)")
        #expect(!ProcessTable.isAlive(helpers[0]), "the helper still runs the program")

        let quick = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "quick", "trigger_type": "manual",
                "definition": ["steps": [transform("double", ".trigger.x * 2")]],
            ])
        let quickID = try #require(quick.body?["id"]?.stringValue)
        let next = try await server.call(
            "POST", "/api/workflows/\(quickID)/execute", body: ["trigger_data": ["x": 21]])
        let nextID = try #require(next.body?["execution_id"]?.stringValue)
        var result: JSONValue?
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while ContinuousClock.now < deadline {
            let reply = try await server.call(
                "GET", "/api/workflows/\(quickID)/executions", query: ["execution_id": nextID])
            result = reply.body?["executions"]?.arrayValue?.first
            if result?["status"] != "running" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(result?["status"] == "completed")
        #expect(result?.step("double")?["output"] == 42)
        await server.stop()
    }
}
