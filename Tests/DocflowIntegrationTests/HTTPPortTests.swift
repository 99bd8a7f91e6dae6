import DocflowCore
import DocflowEngine
import DocflowService
import Foundation
import Testing

@Suite("HTTP port")
struct HTTPPortTests {
    static func start() async throws -> (TestServer, Int) {
        try await TestServer.startWithHTTP()
    }

    @Test func theAPIIsServedAtTheSeedsPaths() async throws {
        let (server, port) = try await Self.start()
        let created = try await http("POST", port, "/api/workflows", json: seedCreateWorkflow)
        #expect(created.status == 201)
        let id = try #require(created.body?["id"]?.stringValue)
        #expect(created.body?["name"] == "Invoice Processing")

        let fetched = try await http("GET", port, "/api/workflows/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.body == created.body)
        // The same router as AMQP: what one transport created, the other reads.
        let overAMQP = try await server.call("GET", "/api/workflows/\(id)")
        #expect(overAMQP.body == created.body)

        let list = try await http("GET", port, "/api/workflows")
        #expect(list.body?["workflows"]?.arrayValue?.count == 1)
        let updated = try await http("PUT", port, "/api/workflows/\(id)", json: ["enabled": false])
        #expect(updated.body?["enabled"] == false)
        let invalid = try await http("POST", port, "/api/workflows", json: ["name": ""])
        #expect(invalid.status == 400)
        #expect(invalid.body?["error"]?["code"] == "validation_failed")
        let notJSON = try await http("POST", port, "/api/workflows", body: Data("{nope".utf8))
        #expect(notJSON.status == 400)
        #expect(notJSON.body?["error"]?["code"] == "bad_request")
        let wrongMethod = try await http("PATCH", port, "/api/workflows")
        #expect(wrongMethod.status == 405)
        let unknown = try await http("GET", port, "/api/nothing")
        #expect(unknown.status == 404)
        let deleted = try await http("DELETE", port, "/api/workflows/\(id)")
        #expect(deleted.status == 204)
        #expect(deleted.text.isEmpty)
        try await server.stop()
    }

    @Test func executeOverHTTPAndMetricsCountIt() async throws {
        let (server, port) = try await Self.start()
        let workflow = try await server.createWorkflow([transform("t", "{ok: true}")])
        let started = try await http(
            "POST", port, "/api/workflows/\(workflow)/execute", json: ["trigger_data": ["x": 1]])
        #expect(started.status == 202)
        let id = try #require(started.body?["execution_id"]?.stringValue)
        #expect(try await server.finished(workflow, id)["status"] == "completed")
        let metrics = try await http("GET", port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains(#"docflow_executions_started_total{trigger="manual",workflow="\#(workflow)"} 1"#))
        #expect(
            metrics.text.contains(#"docflow_executions_completed_total{trigger="manual",workflow="\#(workflow)"} 1"#))
        #expect(metrics.text.contains("docflow_step_duration_seconds_bucket"))
        #expect(metrics.text.contains("docflow_messages_consumed_total"))
        let ready = try await http("GET", port, "/readyz")
        #expect(ready.status == 200)
        #expect(ready.body?["broker"] == true)
        try await server.stop()
    }

    static func webhookWorkflow(_ port: Int, secret: String?) async throws -> String {
        var config: [String: JSONValue] = [:]
        if let secret { config["secret"] = .string(secret) }
        let created = try await http(
            "POST", port, "/api/workflows",
            json: [
                "name": "hook", "trigger_type": "webhook", "trigger_config": .object(config),
                "definition": ["steps": [transform("echo", ".trigger")]],
            ])
        guard let id = created.body?["id"]?.stringValue else { throw TestFailure(created.text) }
        if secret != nil { #expect(created.body?["trigger_config"]?["secret"] == "********") }
        return id
    }

    @Test func aSignedWebhookStartsTheWorkflow() async throws {
        let (server, port) = try await Self.start()
        let workflow = try await Self.webhookWorkflow(port, secret: "whsec-test")
        let body = Data(#"{"invoice": "INV-7", "amount": 12.5}"#.utf8)
        let signature = WebhookSignature.sign(body, secret: "whsec-test", timestamp: Int(Date().timeIntervalSince1970))
        let reply = try await http(
            "POST", port, "/hooks/\(workflow)", body: body, headers: ["X-Docflow-Signature": signature])
        #expect(reply.status == 202)
        #expect(reply.body?["status"] == "running")
        let id = try #require(reply.body?["execution_id"]?.stringValue)
        let execution = try await server.finished(workflow, id)
        #expect(execution["triggered_by"] == "webhook")
        #expect(execution.step("echo")?["output"] == ["invoice": "INV-7", "amount": 12.5])
        try await server.stop()
    }

    @Test func badOrExpiredSignaturesAreRefusedAndStartNothing() async throws {
        let (server, port) = try await Self.start()
        let workflow = try await Self.webhookWorkflow(port, secret: "whsec-test")
        let body = Data(#"{"a": 1}"#.utf8)
        let now = Int(Date().timeIntervalSince1970)
        let wrongSecret = WebhookSignature.sign(body, secret: "guess", timestamp: now)
        let expired = WebhookSignature.sign(body, secret: "whsec-test", timestamp: now - 600)
        let otherBody = WebhookSignature.sign(Data(#"{"a": 2}"#.utf8), secret: "whsec-test", timestamp: now)
        for header in [wrongSecret, expired, otherBody, "garbage"] {
            let reply = try await http(
                "POST", port, "/hooks/\(workflow)", body: body, headers: ["X-Docflow-Signature": header])
            #expect(reply.status == 401, "\(header)")
        }
        let unsigned = try await http("POST", port, "/hooks/\(workflow)", body: body)
        #expect(unsigned.status == 401)
        #expect(unsigned.body?["error"]?["message"]?.stringValue?.contains("missing") == true)
        let executions = try await server.call("GET", "/api/workflows/\(workflow)/executions")
        #expect(executions.body?["executions"]?.arrayValue?.isEmpty == true)
        try await server.stop()
    }

    @Test func webhooksOnlyStartWebhookWorkflows() async throws {
        let (server, port) = try await Self.start()
        let manual = try await server.createWorkflow([transform("t", ".")])
        #expect(try await http("POST", port, "/hooks/\(manual)", json: [:]).status == 409)
        #expect(try await http("POST", port, "/hooks/\(UUID().uuidString.lowercased())", json: [:]).status == 404)
        let open = try await Self.webhookWorkflow(port, secret: nil)
        let first = try await http("POST", port, "/hooks/\(open)", json: ["n": 1], headers: ["Idempotency-Key": "k-1"])
        let second = try await http("POST", port, "/hooks/\(open)", json: ["n": 1], headers: ["Idempotency-Key": "k-1"])
        #expect(first.status == 202)
        #expect(second.body?["execution_id"] == first.body?["execution_id"])
        try await server.stop()
    }
}
