import AMQPClient
import DocflowCore
import Foundation
import Testing

@Suite("Crash recovery")
struct CrashRecoveryTests {
    @Test func executionKilledMidwayCompletesAfterRestart() async throws {
        let server = try await ExternalServer()
        let created = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "survives kill -9", "trigger_type": "manual",
                "definition": [
                    "steps": [
                        transform("first", "{stage: 1}"),
                        transform("slow", busy(seconds: 2)),
                        transform("last", "{stage: 3}"),
                    ]
                ],
            ])
        let workflow = try #require(created.body?["id"]?.stringValue)
        let monitor = try await server.monitor(binding: "#.\(workflow)")
        let started = try await server.call("POST", "/api/workflows/\(workflow)/execute", body: [:])
        let execution = try #require(started.body?["execution_id"]?.stringValue)

        // Kill the worker once the slow step is under way.
        for try await delivery in monitor {
            let body = try JSONValue.parse(delivery.body)
            if body["event"] == "workflow.step.started", body["data"]?["step_id"] == "slow" { break }
        }
        server.kill9()
        try await server.launch()

        var finished: JSONValue?
        for _ in 0..<600 {
            let reply = try await server.call(
                "GET", "/api/workflows/\(workflow)/executions", query: ["execution_id": execution])
            let current = reply.body?["executions"]?.arrayValue?.first
            if let current, current["status"] != "running" {
                finished = current
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let result = try #require(finished)
        #expect(result["status"] == "completed")
        for step in ["first", "slow", "last"] {
            #expect(result.step(step)?["status"] == "completed", "step \(step)")
        }
        #expect(result.step("last")?["output"] == ["stage": 3])
        await server.stop()
    }
}
