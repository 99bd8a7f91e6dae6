import DocflowCore
import Foundation
import Testing

/// History that keeps its failures (issue 16), over the API on the real broker: a retry shows the
/// run it ended in `previous_runs`, a rerun is a new execution (with new `trigger_data` if asked)
/// that names the one it reruns, and a bulk retry retries exactly the failed executions its
/// filters match.
@Suite("Execution history")
struct ExecutionHistoryAPITests {
    /// Just the ids of a bulk retry's reply.
    static func retried(_ reply: JSONValue?) -> Set<String> {
        Set(reply?["retried"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// The fields every problem of a 400 names.
    static func fields(_ error: JSONValue?) -> Set<String> {
        Set(error?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
    }

    @Test func aRetryThatSucceedsStillShowsTheFailedRunWithItsError() async throws {
        let server = try await TestServer.start()
        // The document is not there yet: `read` fails until the test puts it in place.
        let root = URL(fileURLWithPath: server.configuration.documentRoot)
        let document = root.appendingPathComponent("late-\(UUID().uuidString).txt")
        let workflow = try await server.createWorkflow([
            transform("first", "{shaped: true}"), ["id": "read", "type": "parse", "config": [:]],
        ])
        let id = try await server.execute(workflow, ["document_url": .string(document.absoluteString)])
        let failed = try await server.finished(workflow, id)
        #expect(failed["status"] == "failed")
        let error = try #require(failed["error"]?.stringValue)
        #expect(error.hasPrefix("step read failed"))
        #expect(failed["run"] == 1)
        #expect(failed["previous_runs"] == [])

        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("Invoice INV-7".utf8).write(to: document)
        let retry = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(id)/retry")
        #expect(retry.status == 202, "\(retry.envelope.encodedString())")
        #expect(retry.body?["execution_id"] == .string(id))
        let completed = try await server.finished(workflow, id)

        // The seed's fields tell of the run that is now the latest...
        #expect(completed["status"] == "completed")
        #expect(completed["error"] == .null)
        #expect(completed.step("first")?["output"] == failed.step("first")?["output"])
        #expect(completed.step("read")?["output"]?["text"] == "Invoice INV-7")
        // ...and the failed run is still there, as it ended.
        #expect(completed["run"] == 2)
        let runs = try #require(completed["previous_runs"]?.arrayValue)
        #expect(runs.count == 1)
        #expect(runs.first?["run"] == 1)
        #expect(runs.first?["status"] == "failed")
        #expect(runs.first?["error"] == .string(error))
        #expect(runs.first?["started_at"] == failed["started_at"])
        #expect(runs.first?["completed_at"] == failed["completed_at"])
        #expect(runs.first?["execution_log"] == failed["execution_log"])
        #expect(runs.first?.step("read")?["status"] == "failed")

        // The search shows the same history.
        let found = try await server.call("GET", "/api/executions", query: ["workflow_id": workflow])
        #expect(found.body?["executions"]?.arrayValue?.first?["previous_runs"] == .array(runs))

        let again = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(id)/retry")
        #expect(again.status == 409)
        let unknown = try await server.call(
            "POST", "/api/workflows/\(workflow)/executions/\(id)/retry", body: ["force": true])
        #expect(unknown.status == 400)
        #expect(Self.fields(unknown.error) == ["force"])
        try await server.stop()
    }

    @Test func aRerunWithNewTriggerDataRunsWithThatData() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([transform("echo", ".trigger.n")])
        let original = try await server.execute(workflow, ["n": 1])
        _ = try await server.finished(workflow, original)

        let rerun = try await server.call(
            "POST", "/api/workflows/\(workflow)/executions/\(original)/rerun", body: ["trigger_data": ["n": 2]])
        #expect(rerun.status == 202, "\(rerun.envelope.encodedString())")
        #expect(rerun.body?["status"] == "running")
        #expect(rerun.body?["rerun_of"] == .string(original))
        let rerunID = try #require(rerun.body?["execution_id"]?.stringValue)
        #expect(rerunID != original)
        let ran = try await server.finished(workflow, rerunID)
        #expect(ran["status"] == "completed")
        #expect(ran["trigger_data"] == ["n": 2])
        #expect(ran.step("echo")?["output"] == 2)
        #expect(ran["rerun_of"] == .string(original))
        #expect(ran["triggered_by"] == "manual")

        // Without trigger_data, a rerun runs with the original's; a rerun can be rerun.
        let same = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(rerunID)/rerun")
        #expect(same.status == 202)
        let sameID = try #require(same.body?["execution_id"]?.stringValue)
        let sameRan = try await server.finished(workflow, sameID)
        #expect(sameRan.step("echo")?["output"] == 2)
        #expect(sameRan["rerun_of"] == .string(rerunID))
        // The original is untouched.
        let untouched = try await server.execution(workflow, original)
        #expect(untouched["rerun_of"] == .null)
        #expect(untouched.step("echo")?["output"] == 1)

        let misspelt = try await server.call(
            "POST", "/api/workflows/\(workflow)/executions/\(original)/rerun",
            body: ["trigger_dat": ["n": 3], "trigger_data": "n=3"])
        #expect(misspelt.status == 400)
        #expect(misspelt.error?["code"] == "validation_failed")
        #expect(Self.fields(misspelt.error) == ["trigger_dat", "trigger_data"])
        let missing = try await server.call(
            "POST", "/api/workflows/\(workflow)/executions/\(UUID().uuidString.lowercased())/rerun")
        #expect(missing.status == 404)
        let disabled = try await server.call("PUT", "/api/workflows/\(workflow)", body: ["enabled": false])
        #expect(disabled.status == 200)
        let refused = try await server.call("POST", "/api/workflows/\(workflow)/executions/\(original)/rerun")
        #expect(refused.status == 409)
        try await server.stop()
    }

    @Test func bulkRetryRetriesExactlyTheFailedExecutionsItsFiltersMatch() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let failing = try await server.createWorkflow([transform("boom", #"error("boom")"#)], name: "failing")
        let other = try await server.createWorkflow([transform("boom", #"error("boom")"#)], name: "other")
        let passing = try await server.createWorkflow([transform("ok", ".")], name: "passing")
        func run(_ workflow: String) async throws -> String {
            let id = try await server.execute(workflow)
            _ = try await server.finished(workflow, id)
            return id
        }
        let old = try await run(failing)
        // Times are kept to the millisecond: make sure none shares the boundary's.
        try await Task.sleep(for: .milliseconds(5))
        let between = Date()
        try await Task.sleep(for: .milliseconds(5))
        let recent = [try await run(failing), try await run(failing)]
        let elsewhere = try await run(other)
        let passed = try await run(passing)

        let filtered = try await http(
            "POST", port, "/api/executions/retry",
            json: [
                "workflow_id": .string(failing),
                "started_after": .string(RFC3339.string(from: between, milliseconds: true)),
            ])
        #expect(filtered.status == 202, "\(filtered.text)")
        #expect(Self.retried(filtered.body) == Set(recent))
        #expect(filtered.body?["count"] == 2)
        for id in recent {
            let again = try await server.finished(failing, id)
            #expect(again["status"] == "failed")
            #expect(again["run"] == 2)
        }
        #expect(try await server.execution(failing, old)["run"] == 1)
        #expect(try await server.execution(other, elsewhere)["run"] == 1)
        #expect(try await server.execution(passing, passed)["run"] == 1)

        // With no filter, every failed execution, a page of them at a time.
        let page = try await server.call("POST", "/api/executions/retry", body: ["limit": 2])
        #expect(page.status == 202)
        #expect(page.body?["count"] == 2)
        let retriedFirst = Self.retried(page.body)
        for id in retriedFirst {
            let workflow = id == elsewhere ? other : failing
            _ = try await server.finished(workflow, id)
        }
        let all = try await server.call("POST", "/api/executions/retry")
        #expect(all.status == 202)
        #expect(Self.retried(all.body).union(retriedFirst) == Set(recent + [old, elsewhere]))
        #expect(Self.retried(all.body).count == 4)
        #expect(try await server.execution(passing, passed)["run"] == 1)

        let wrong = try await server.call(
            "POST", "/api/executions/retry", body: ["status": "completed", "satus": "failed", "limit": 5000])
        #expect(wrong.status == 400)
        #expect(Self.fields(wrong.error) == ["status", "satus", "limit"])
        let query = try await server.call("POST", "/api/executions/retry", query: ["workflow_id": failing])
        #expect(query.status == 400)
        #expect(Self.fields(query.error) == ["workflow_id"])
        try await server.stop()
    }
}
