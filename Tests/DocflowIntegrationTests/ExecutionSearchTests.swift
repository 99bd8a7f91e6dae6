import DocflowCore
import Foundation
import Testing

/// `GET /api/executions` finds executions across workflows by status, workflow, trigger type
/// and start time, newest first, a page at a time (issue 16); a workflow's list takes the same
/// filters and cursor, the workflows list a cursor, and all three name what they refuse.
@Suite("Execution search")
struct ExecutionSearchTests {
    /// What the lists reply, in order.
    static func ids(_ reply: JSONValue?, _ key: String = "executions") -> [String] {
        reply?[key]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    /// Every page of a list, following `next_cursor` from the first; the ids in order.
    static func pages(
        _ server: TestServer, _ path: String, _ query: [String: String], key: String = "executions"
    ) async throws -> (ids: [String], pages: Int) {
        var ids: [String] = []
        var query = query
        for page in 1...50 {
            let reply = try await server.call("GET", path, query: query)
            #expect(reply.status == 200, "\(reply.envelope.encodedString())")
            ids += Self.ids(reply.body, key)
            guard let cursor = reply.body?["next_cursor"]?.stringValue else {
                #expect(reply.body?["next_cursor"] == .null)
                return (ids, page)
            }
            query["cursor"] = cursor
        }
        throw TestFailure("\(path) did not end in 50 pages")
    }

    /// Two manual executions of one workflow and two failed ones of another, alternating, then a
    /// webhook's; `between` is an instant after the first two and before the rest. Oldest first.
    struct History {
        var passing: String
        var failing: String
        var hook: String
        var executions: [String]
        var between: Date
    }

    static func history(_ server: TestServer, port: Int) async throws -> History {
        let passing = try await server.createWorkflow([transform("ok", ".trigger")], name: "passing")
        let failing = try await server.createWorkflow([transform("boom", #"error("boom")"#)], name: "failing")
        let hook = try await HTTPPortTests.webhookWorkflow(port, secret: nil)
        var executions: [String] = []
        var between = Date()
        for (index, workflow) in [passing, failing, passing, failing].enumerated() {
            if index == 2 {
                // Times are kept to the millisecond: make sure none shares the boundary's.
                try await Task.sleep(for: .milliseconds(5))
                between = Date()
                try await Task.sleep(for: .milliseconds(5))
            }
            let id = try await server.execute(workflow, ["n": .number(Double(index))])
            _ = try await server.finished(workflow, id)
            executions.append(id)
        }
        let hooked = try await http("POST", port, "/hooks/\(hook)", body: Data(#"{"invoice": "INV-7"}"#.utf8))
        let hookID = try #require(hooked.body?["execution_id"]?.stringValue)
        _ = try await server.finished(hook, hookID)
        executions.append(hookID)
        return History(passing: passing, failing: failing, hook: hook, executions: executions, between: between)
    }

    @Test func filtersFindExecutionsAcrossWorkflowsNewestFirst() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let history = try await Self.history(server, port: port)
        let e = history.executions
        let newestFirst = Array(e.reversed())

        let all = try await server.call("GET", "/api/executions")
        #expect(all.status == 200)
        #expect(Self.ids(all.body) == newestFirst)
        #expect(all.body?["next_cursor"] == .null)
        let shown = try #require(all.body?["executions"]?.arrayValue?.first)
        #expect(shown["workflow_id"] == .string(history.hook))
        #expect(shown["triggered_by"] == "webhook")
        #expect(shown["execution_log"]?.arrayValue?.count == 1)

        func search(_ query: [String: String]) async throws -> [String] {
            let reply = try await server.call("GET", "/api/executions", query: query)
            #expect(reply.status == 200, "\(query): \(reply.envelope.encodedString())")
            return Self.ids(reply.body)
        }
        #expect(try await search(["status": "failed"]) == [e[3], e[1]])
        #expect(try await search(["status": "completed"]) == [e[4], e[2], e[0]])
        #expect(try await search(["workflow_id": history.passing]) == [e[2], e[0]])
        #expect(try await search(["trigger_type": "webhook"]) == [e[4]])
        #expect(try await search(["trigger_type": "manual", "status": "failed"]) == [e[3], e[1]])
        #expect(try await search(["trigger_type": "event"]) == [])
        #expect(try await search(["workflow_id": "no-such-workflow"]) == [])
        let boundary = RFC3339.string(from: history.between, milliseconds: true)
        #expect(try await search(["started_after": boundary]) == [e[4], e[3], e[2]])
        #expect(try await search(["started_before": boundary]) == [e[1], e[0]])
        #expect(try await search(["started_after": boundary, "status": "failed"]) == [e[3]])
        #expect(try await search(["started_after": "2999-01-01T00:00:00Z"]) == [])

        // "What failed in the last hour", over HTTP as an operator would ask it.
        let hourAgo = RFC3339.string(from: Date().addingTimeInterval(-3600))
        let failed = try await http("GET", port, "/api/executions?status=failed&started_after=\(hourAgo)")
        #expect(failed.status == 200, "\(failed.text)")
        #expect(Self.ids(failed.body) == [e[3], e[1]])
        try await server.stop()
    }

    @Test func pagingThroughWithNextCursorVisitsEveryExecutionOnce() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let history = try await Self.history(server, port: port)
        let newestFirst = Array(history.executions.reversed())

        let byTwo = try await Self.pages(server, "/api/executions", ["limit": "2"])
        #expect(byTwo.ids == newestFirst)
        #expect(byTwo.pages == 3)
        let byOne = try await Self.pages(server, "/api/executions", ["limit": "1", "status": "completed"])
        #expect(byOne.ids == [history.executions[4], history.executions[2], history.executions[0]])
        // A page that ends exactly at the end says so: no empty page after it.
        let exact = try await Self.pages(server, "/api/executions", ["limit": "5"])
        #expect(exact.ids == newestFirst)
        #expect(exact.pages == 1)

        // The workflow's own list pages the same way, and keeps the seed's parameters.
        let path = "/api/workflows/\(history.failing)/executions"
        let own = try await Self.pages(server, path, ["limit": "1"])
        #expect(own.ids == [history.executions[3], history.executions[1]])
        #expect(own.pages == 2)
        let filtered = try await Self.pages(server, path, ["status": "failed", "trigger_type": "manual"])
        #expect(filtered.ids == [history.executions[3], history.executions[1]])
        let one = try await server.call("GET", path, query: ["execution_id": history.executions[1]])
        #expect(Self.ids(one.body) == [history.executions[1]])
        #expect(one.body?["next_cursor"] == .null)
        let elsewhere = try await server.call("GET", path, query: ["execution_id": history.executions[0]])
        #expect(Self.ids(elsewhere.body) == [])
        let missing = try await server.call("GET", "/api/workflows/no-such-workflow/executions")
        #expect(missing.status == 404)

        // The workflows list pages too, oldest first, and still lists them all when not asked to page.
        let workflows = [history.passing, history.failing, history.hook]
        let listed = try await server.call("GET", "/api/workflows")
        #expect(Self.ids(listed.body, "workflows") == workflows)
        #expect(listed.body?["next_cursor"] == .null)
        let paged = try await Self.pages(server, "/api/workflows", ["limit": "2"], key: "workflows")
        #expect(paged.ids == workflows)
        #expect(paged.pages == 2)
        try await server.stop()
    }

    @Test func badParametersAreA400NamingThem() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let workflow = try await server.createWorkflow([transform("ok", ".")])
        let executionsOfWorkflow = "/api/workflows/\(workflow)/executions"
        // One workflow in pages of one: a single page, no cursor.
        let onlyOne = try await server.call("GET", "/api/workflows", query: ["limit": "1"])
        #expect(onlyOne.body?["next_cursor"] == .null)

        let cases: [(String, [String: String], [String])] = [
            ("/api/executions", ["status": "done"], ["status"]),
            ("/api/executions", ["trigger_type": "cron"], ["trigger_type"]),
            ("/api/executions", ["started_after": "yesterday"], ["started_after"]),
            ("/api/executions", ["started_before": "2026-02-30T00:00:00"], ["started_before"]),
            ("/api/executions", ["cursor": "not-a-cursor"], ["cursor"]),
            ("/api/executions", ["limit": "0"], ["limit"]),
            ("/api/executions", ["limit": "10000"], ["limit"]),
            ("/api/executions", ["sort": "asc", "status": "done"], ["sort", "status"]),
            ("/api/executions", ["execution_id": "x"], ["execution_id"]),
            (executionsOfWorkflow, ["status": "done"], ["status"]),
            (executionsOfWorkflow, ["limit": "1000"], ["limit"]),
            (executionsOfWorkflow, ["workflow_id": workflow], ["workflow_id"]),
            (executionsOfWorkflow, ["cursor": "Zm9v"], ["cursor"]),
            ("/api/workflows", ["enabled": "true", "limit": "1"], ["enabled"]),
            ("/api/workflows", ["limit": "0"], ["limit"]),
            ("/api/workflows", ["cursor": "not-a-cursor"], ["cursor"]),
        ]
        for (path, query, fields) in cases {
            let reply = try await server.call("GET", path, query: query)
            #expect(reply.status == 400, "\(path) \(query)")
            #expect(reply.error?["code"] == "validation_failed", "\(path) \(query)")
            let named = reply.error?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
            #expect(named == fields, "\(path) \(query): \(reply.envelope.encodedString())")
        }

        // A cursor of one list is not one of another.
        _ = try await server.createWorkflow([transform("ok", ".")])
        let cursor = try #require(
            try await server.call("GET", "/api/workflows", query: ["limit": "1"]).body?["next_cursor"]?.stringValue)
        let crossed = try await server.call("GET", "/api/executions", query: ["cursor": cursor])
        #expect(crossed.error?["details"]?.arrayValue?.first?["field"] == "cursor")

        // Over HTTP: the same error, in the HTTP shape.
        let overHTTP = try await http("GET", port, "/api/executions?status=done&bogus=1")
        #expect(overHTTP.status == 400)
        let details = overHTTP.body?["error"]?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue }
        #expect(details == ["bogus", "status"])
        try await server.stop()
    }
}
