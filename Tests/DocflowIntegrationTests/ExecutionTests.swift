import AMQPClient
import DocflowCore
import DocflowTestSupport
import Foundation
import Testing

@Suite("Executing workflows")
struct ExecutionTests {
    static let branching: [JSONValue] = [
        transform("double", "{total: (.trigger.amount * 2)}"),
        condition("big", ".total > 100", then: "approve", else: "reject"),
        transform("approve", #"{decision: "approved", total}"#, ["next": "end"]),
        transform("reject", #"{decision: "rejected", total}"#),
    ]

    @Test func branchingWorkflowRunsTheTakenBranchAndSkipsTheOther() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow(Self.branching)

        let big = try await server.finished(workflow, try await server.execute(workflow, ["amount": 70]))
        #expect(big["status"] == "completed")
        #expect(big["triggered_by"] == "manual")
        #expect(big.step("double")?["output"] == ["total": 140])
        #expect(big.step("big")?["output"]?["result"] == true)
        #expect(big.step("approve")?["status"] == "completed")
        #expect(big.step("approve")?["output"] == ["decision": "approved", "total": 140])
        #expect(big.step("reject")?["status"] == "skipped")
        #expect(big.step("approve")?["attempts"] == 1)
        #expect(big.step("approve")?["type"] == "transform")

        let small = try await server.finished(workflow, try await server.execute(workflow, ["amount": 10]))
        #expect(small["status"] == "completed")
        #expect(small.step("approve")?["status"] == "skipped")
        #expect(small.step("reject")?["output"] == ["decision": "rejected", "total": 20])
        try await server.stop()
    }

    @Test func statusEventsOfAnExecutionArriveInOrder() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow(Self.branching)
        let monitor = try await server.monitor(binding: "#.\(workflow)")
        let execution = try await server.execute(workflow, ["amount": 70])

        var events: [String] = []
        for try await delivery in monitor {
            let body = try JSONValue.parse(delivery.body)
            // The definition's own workflow.created may still be on its way.
            if body["event"] == "workflow.created" { continue }
            #expect(delivery.routingKey.hasSuffix(".\(workflow)"))
            #expect(delivery.properties.headers["execution_id"]?.stringValue == execution)
            let step = body["data"]?["step_id"]?.stringValue.map { ":\($0)" } ?? ""
            events.append((body["event"]?.stringValue ?? "?") + step)
            if body["event"] == "workflow.completed" { break }
        }
        #expect(
            events == [
                "workflow.started",
                "workflow.step.started:double", "workflow.step.completed:double",
                "workflow.step.started:big", "workflow.step.completed:big",
                "workflow.step.started:approve", "workflow.step.completed:approve",
                "workflow.step.skipped:reject",
                "workflow.completed",
            ])
        try await server.stop()
    }

    @Test func failingStepFailsTheExecutionAndPublishesWorkflowFailed() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([
            transform("first", "{a: 1}"), transform("explode", #"error("boom")"#), transform("never", "."),
        ])
        let failures = try await server.monitor(binding: "workflow.failed.*")
        let execution = try await server.finished(workflow, try await server.execute(workflow))

        #expect(execution["status"] == "failed")
        #expect(execution["error"]?.stringValue?.contains("boom") == true)
        #expect(execution.step("explode")?["status"] == "failed")
        #expect(execution.step("explode")?["error"] == "boom")
        #expect(execution.step("never")?["status"] == "skipped")
        let event = try #require(try await failures.first(within: .seconds(10)))
        #expect(event.routingKey == "workflow.failed.\(workflow)")
        #expect(try JSONValue.parse(event.body)["data"]?["status"] == "failed")
        try await server.stop()
    }

    @Test func retryPolicyMakesEveryAttemptWithBackoff() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([
            transform(
                "flaky", #"error("still down")"#,
                ["retry": ["max_attempts": 3, "initial_interval_ms": 100, "backoff": "exponential"]])
        ])
        let started = ContinuousClock.now
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        let elapsed = ContinuousClock.now - started

        #expect(execution["status"] == "failed")
        #expect(execution.step("flaky")?["attempts"] == 3)
        #expect(execution.step("flaky")?["error"] == "still down")
        // Waits of 100 ms and 200 ms between the three attempts.
        #expect(elapsed >= .milliseconds(300))
        try await server.stop()
    }

    @Test func onErrorContinueLogsTheFailureAndGoesOn() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([
            transform("optional", #"error("no luck")"#, ["on_error": "continue"]),
            transform("after", #"{done: true}"#),
        ])
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        #expect(execution["status"] == "completed")
        #expect(execution.step("optional")?["status"] == "failed")
        #expect(execution.step("optional")?["error"] == "no luck")
        #expect(execution.step("after")?["output"] == ["done": true])
        try await server.stop()
    }

    @Test func runawayJQProgramFailsAtItsDeadlineWhileAnotherExecutionCompletes() async throws {
        // The jq cap raised for this server, so that the runaway runs long against the quick
        // execution: on a loaded run of the whole suite the quick one took more than 9 s.
        let server = try await TestServer.start { $0.maxJQTimeout = .seconds(60) }
        let runaway = try await server.createWorkflow([
            transform("forever", "last(range(1e13))", ["timeout_ms": 30000])
        ])
        let quick = try await server.createWorkflow([transform("quick", "{ok: true}")])

        let started = ContinuousClock.now
        let stuck = try await server.execute(runaway)
        let other = try await server.finished(quick, try await server.execute(quick))
        #expect(other["status"] == "completed")
        // The other execution finished while the runaway one was still stuck in jq.
        #expect(try await server.execution(runaway, stuck)["status"] == "running")

        let failed = try await server.finished(runaway, stuck, timeout: .seconds(90))
        #expect(failed["status"] == "failed")
        let error = failed.step("forever")?["error"]?.stringValue ?? ""
        #expect(error.contains("30000 ms"))
        #expect(ContinuousClock.now - started >= .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(90))

        // The killed helper is replaced: jq still works.
        let after = try await server.finished(quick, try await server.execute(quick))
        #expect(after["status"] == "completed")
        try await server.stop()
    }

    @Test func executingAMissingOrDisabledWorkflowIsRefused() async throws {
        let server = try await TestServer.start()
        let missing = try await server.call(
            "POST", "/api/workflows/\(UUID().uuidString.lowercased())/execute", body: [:])
        #expect(missing.status == 404)
        let workflow = try await server.createWorkflow([transform("t", ".")])
        _ = try await server.call("PUT", "/api/workflows/\(workflow)", body: ["enabled": false])
        let disabled = try await server.call("POST", "/api/workflows/\(workflow)/execute", body: [:])
        #expect(disabled.status == 409)
        #expect(disabled.error?["code"] == "conflict")
        let badData = try await server.call("PUT", "/api/workflows/\(workflow)", body: ["enabled": true])
        #expect(badData.status == 200)
        let notObject = try await server.call("POST", "/api/workflows/\(workflow)/execute", body: ["trigger_data": 5])
        #expect(notObject.status == 400)
        #expect(notObject.error?["details"]?.arrayValue?.first?["field"] == "trigger_data")
        try await server.stop()
    }

    @Test func executionsAreListedNewestFirstWithALimit() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([transform("t", ".trigger")])
        var ids: [String] = []
        for index in 0..<3 {
            let id = try await server.execute(workflow, ["n": .number(Double(index))])
            _ = try await server.finished(workflow, id)
            ids.append(id)
        }
        let list = try await server.call("GET", "/api/workflows/\(workflow)/executions", query: ["limit": "2"])
        #expect(list.body?["executions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[2], ids[1]])
        let bad = try await server.call("GET", "/api/workflows/\(workflow)/executions", query: ["limit": "1000"])
        #expect(bad.status == 400)
        try await server.stop()
    }

    @Test func syntaxErrorInAnExpressionIsA400NamingTheStep() async throws {
        let server = try await TestServer.start()
        let reply = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "bad jq", "trigger_type": "manual",
                "definition": ["steps": [transform("ok", "."), transform("broken", ".a |")]],
            ])
        #expect(reply.status == 400)
        let detail = reply.error?["details"]?.arrayValue?.first
        #expect(detail?["field"] == "definition.steps[1].config.expression")
        #expect(detail?["message"]?.stringValue?.contains("syntax error") == true)
        try await server.stop()
    }

    @Test func cancelStopsTheRunningJQStepAndSkipsTheRest() async throws {
        // Far from any timeout, so that only the cancel can end the slow step however loaded the
        // machine is (it failed with "step timed out after 10000 ms" beside three builds).
        let server = try await TestServer.start { $0.maxJQTimeout = .seconds(300) }
        let workflow = try await server.createWorkflow([
            transform("slow", busy(seconds: 120), ["timeout_ms": 240_000]), transform("next", "{never: true}"),
            transform("last", "."),
        ])
        let execution = try await server.execute(workflow)
        // Cancel once the slow step is under way, however busy the machine is.
        while try await server.execution(workflow, execution).step("slow")?["status"] != "running" {
            try await Task.sleep(for: .milliseconds(20))
        }
        let reply = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(execution)/cancel")
        #expect(reply.status == 200)
        #expect(reply.body?["status"] == "cancelled")
        #expect(reply.body?.step("slow")?["status"] == "failed")
        #expect(reply.body?.step("slow")?["error"] == "cancelled")
        #expect(reply.body?.step("next")?["status"] == "skipped")
        #expect(reply.body?.step("last")?["status"] == "skipped")
        let again = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(execution)/cancel")
        #expect(again.status == 409)
        try await server.stop()
    }

    @Test func retryRunsAFailedExecutionAgainFromItsFailedStep() async throws {
        let server = try await TestServer.start()
        // Fails until a moment in the future, then succeeds: a transient failure. Far enough that
        // the first run fails however loaded the machine is (4 s was not, in a full run on two cores).
        let until = Date().timeIntervalSince1970 + 15.0
        let workflow = try await server.createWorkflow([
            transform("first", "{stamp: now}"),
            transform("gate", "if now < \(until) then error(\"not yet\") else {passed: true} end"),
            transform("last", "{done: true}"),
        ])
        let id = try await server.execute(workflow)
        let failed = try await server.finished(workflow, id)
        #expect(failed["status"] == "failed")
        let firstOutput = failed.step("first")?["output"]

        let early = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(id)/cancel")
        #expect(early.status == 409)
        try await Task.sleep(for: .seconds(max(until - Date().timeIntervalSince1970, 0) + 0.3))
        let retry = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(id)/retry")
        #expect(retry.status == 202)
        #expect(retry.body?["execution_id"]?.stringValue == id)
        let completed = try await server.finished(workflow, id)
        #expect(completed["status"] == "completed")
        #expect(completed.step("first")?["output"] == firstOutput)
        #expect(completed.step("gate")?["output"] == ["passed": true])
        #expect(completed.step("last")?["output"] == ["done": true])
        let again = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(id)/retry")
        #expect(again.status == 409)
        try await server.stop()
    }
}
