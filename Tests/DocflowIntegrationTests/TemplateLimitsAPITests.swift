import DocflowClient
import DocflowCore
import Foundation
import Testing

/// Mustache templates a user can save and run: refused with 400 naming the field when too large,
/// too deep or not Mustache, and stopped at the rendered-size cap when they blow up at run time.
@Suite("Template limits through the API")
struct TemplateLimitsAPITests {
    static func nested(_ depth: Int) -> String {
        String(repeating: "{{#a}}", count: depth) + "x" + String(repeating: "{{/a}}", count: depth)
    }

    static func notify(template: String) -> JSONValue {
        ["id": "notify", "type": "integration", "config": ["template": .string(template)]]
    }

    static func workflowBody(template: String) -> JSONValue {
        [
            "name": "templated", "trigger_type": "manual", "enabled": false,
            "definition": ["steps": [transform("t", "."), notify(template: template)]],
        ]
    }

    static func webhookBody(template: String) -> JSONValue {
        [
            "name": "hook", "integration_type": "webhook",
            "config": ["url": "http://127.0.0.1:9/hook", "template": .string(template)],
        ]
    }

    static func firstDetail(_ reply: APIClient.Reply) -> (field: String?, message: String?) {
        let detail = reply.error?["details"]?.arrayValue?.first
        return (detail?["field"]?.stringValue, detail?["message"]?.stringValue)
    }

    @Test func aWorkflowTemplateOf3000NestedSectionsAnswers400NamingTheField() async throws {
        let server = try await TestServer.start()
        let reply = try await server.call(
            "POST", "/api/workflows", body: Self.workflowBody(template: Self.nested(3000)))
        #expect(reply.status == 400)
        let detail = Self.firstDetail(reply)
        #expect(detail.field == "definition.steps[1].config.template")
        #expect(detail.message == "sections nest 3000 deep, more than 32")
        #expect((try await server.call("GET", "/api/workflows")).body?["workflows"] == [])
        try await server.stop()
    }

    @Test func anIntegrationTemplateOf3000NestedSectionsAnswers400NamingTheField() async throws {
        let server = try await TestServer.start()
        let reply = try await server.call(
            "POST", "/api/workflows/integrations", body: Self.webhookBody(template: Self.nested(3000)))
        #expect(reply.status == 400)
        let detail = Self.firstDetail(reply)
        #expect(detail.field == "config.template")
        #expect(detail.message == "sections nest 3000 deep, more than 32")
        try await server.stop()
    }

    @Test func templatesOverTheSizeLimitOrNotMustacheAnswer400() async throws {
        let server = try await TestServer.start()
        let large = String(repeating: "x", count: 70_000)
        let workflow = try await server.call("POST", "/api/workflows", body: Self.workflowBody(template: large))
        #expect(workflow.status == 400)
        #expect(Self.firstDetail(workflow).field == "definition.steps[1].config.template")
        #expect(Self.firstDetail(workflow).message == "the template is 70000 bytes, more than 65536")

        let created = try await server.call(
            "POST", "/api/workflows/integrations", body: Self.webhookBody(template: "{{a}}"))
        let id = try #require(created.body?["id"]?.stringValue)
        let updated = try await server.call(
            "PUT", "/api/workflows/integrations", query: ["id": id], body: ["config": ["template": .string(large)]])
        #expect(updated.status == 400)
        #expect(Self.firstDetail(updated).field == "config.template")

        let unclosed = try await server.call(
            "POST", "/api/workflows", body: Self.workflowBody(template: "Hello {{#items}}{{name}}"))
        #expect(unclosed.status == 400)
        #expect(Self.firstDetail(unclosed).field == "definition.steps[1].config.template")
        #expect(
            Self.firstDetail(unclosed).message
                == "not a valid Mustache template: the section \"items\" is never closed (line 1, column 7)")
        try await server.stop()
    }

    @Test func sectionsThatMultiplyTheOutputFailTheStepAtTheRenderedSizeCap() async throws {
        let server = try await TestServer.start()
        let endpoint = RecordingHTTPServer()
        try await endpoint.start()
        let integration = try await IntegrationTests.integration(
            server, ["name": "hook", "integration_type": "webhook", "config": ["url": .string(endpoint.url("/in"))]])
        // 100^6 repetitions of "x": a terabyte, were it rendered.
        let blowUp = String(repeating: "{{#a}}", count: 6) + "x" + String(repeating: "{{/a}}", count: 6)
        let workflow = try await server.createWorkflow([
            transform("t", "{a: [range(100)]}"),
            [
                "id": "notify", "type": "integration",
                "config": ["integration_id": .string(integration), "template": .string(blowUp)],
            ],
        ])
        let execution = try await server.finished(workflow, try await server.execute(workflow))

        #expect(execution["status"] == "failed")
        let error = execution.step("notify")?["error"]?.stringValue ?? ""
        #expect(error.contains("the rendered template is larger than 1048576 bytes"), "\(error)")
        #expect(endpoint.requests.isEmpty)
        #expect((try await server.call("GET", "/api/workflows/\(workflow)")).status == 200)
        endpoint.stop()
        try await server.stop()
    }

    @Test func theConfiguredLimitsApplyWhenSavedAndWhenRendered() async throws {
        let server = try await TestServer.start {
            $0.templateLimits.maxTemplateBytes = 100
            $0.templateLimits.maxRenderedBytes = 50
        }
        let large = try await server.call(
            "POST", "/api/workflows", body: Self.workflowBody(template: String(repeating: "x", count: 101)))
        #expect(Self.firstDetail(large).message == "the template is 101 bytes, more than 100")

        let endpoint = RecordingHTTPServer()
        try await endpoint.start()
        let integration = try await IntegrationTests.integration(
            server, ["name": "hook", "integration_type": "webhook", "config": ["url": .string(endpoint.url("/in"))]])
        let workflow = try await server.createWorkflow([
            transform("t", #"{a: [range(10) | "0123456789"]}"#),
            [
                "id": "notify", "type": "integration",
                "config": ["integration_id": .string(integration), "template": "{{#a}}{{.}}{{/a}}"],
            ],
        ])
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        #expect(execution["status"] == "failed")
        #expect(
            execution.step("notify")?["error"] == "config.template: the rendered template is larger than 50 bytes")
        #expect(endpoint.requests.isEmpty)
        endpoint.stop()
        try await server.stop()
    }
}
