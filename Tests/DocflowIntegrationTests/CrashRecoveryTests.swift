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
        await server.kill9()
        try await server.launch()

        let result = try await server.finished(workflow, execution)
        #expect(result["status"] == "completed")
        for step in ["first", "slow", "last"] {
            #expect(result.step(step)?["status"] == "completed", "step \(step)")
        }
        #expect(result.step("last")?["output"] == ["stage": 3])
        await server.stop()
    }

    @Test func executionThatKeepsKillingTheWorkerIsFailedOnTheFourthStart() async throws {
        let server = try await ExternalServer()
        let created = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "crash loop", "trigger_type": "manual",
                "definition": [
                    "steps": [
                        transform("first", "{stage: 1}"),
                        transform("slow", busy(seconds: 30), ["timeout_ms": 120_000]),
                        transform("last", "{stage: 3}"),
                    ]
                ],
            ])
        let workflow = try #require(created.body?["id"]?.stringValue)
        let monitor = try await server.monitor(binding: "#.\(workflow)")
        let started = try await server.call("POST", "/api/workflows/\(workflow)/execute", body: [:])
        let execution = try #require(started.body?["execution_id"]?.stringValue)

        // The step "kills" the worker three times: once as started, then after each of two resumptions.
        var kills = 0
        for try await delivery in monitor {
            let body = try JSONValue.parse(delivery.body)
            guard body["event"] == "workflow.step.started", body["data"]?["step_id"] == "slow" else { continue }
            await server.kill9()
            kills += 1
            try await server.launch()
            if kills == 3 { break }
        }

        let result = try await server.finished(workflow, execution)
        let message =
            "the worker stopped while running step slow twice; the execution was failed so it cannot stop the worker again"
        #expect(result["status"] == "failed")
        #expect(result["error"] == .string(message))
        #expect(result.step("first")?["status"] == "completed")
        #expect(result.step("slow")?["status"] == "failed")
        #expect(result.step("slow")?["error"] == .string(message))
        #expect(result.step("last")?["status"] == "skipped")
        await server.stop()
    }
}

extension ExternalServer {
    /// Polls for up to 30 s until the execution is no longer running.
    fileprivate func finished(_ workflowID: String, _ executionID: String) async throws -> JSONValue {
        for _ in 0..<600 {
            let reply = try await call(
                "GET", "/api/workflows/\(workflowID)/executions", query: ["execution_id": executionID])
            if let current = reply.body?["executions"]?.arrayValue?.first, current["status"] != "running" {
                return current
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("execution \(executionID) still running after 30 s")
    }
}
