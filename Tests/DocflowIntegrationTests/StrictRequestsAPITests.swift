import DocflowClient
import DocflowCore
import DocflowService
import Foundation
import Testing

/// Unknown body fields and unknown query parameters are a 400 naming them, on every route: a
/// misspelt key must not be a request that silently does something else than asked.
@Suite("Strict requests through the API")
struct StrictRequestsAPITests {
    static func fields(_ reply: APIClient.Reply) -> [String] {
        reply.error?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
    }

    static func workflow(_ step: JSONValue) -> JSONValue {
        ["name": "w", "trigger_type": "manual", "enabled": false, "definition": ["steps": [step]]]
    }

    @Test func aStepConfigKeyOutsideItsTypesKeysIsRefusedNamingIt() async throws {
        let server = try await TestServer.start()
        let cases: [(JSONValue, String)] = [
            (["id": "s", "type": "parse", "config": ["format": "pdf"]], "format"),
            (["id": "s", "type": "extract", "config": ["schema_id": "invoice-schema", "schema": "x"]], "schema"),
            (["id": "s", "type": "transform", "config": ["expression": ".", "expresion": "."]], "expresion"),
            (
                [
                    "id": "s", "type": "condition",
                    "config": ["expression": "true", "then": "end", "else": "end", "otherwise": "end"],
                ], "otherwise"
            ),
            (["id": "s", "type": "integration", "config": ["integration_id": "i", "message": "hi"]], "message"),
        ]
        for (step, key) in cases {
            let reply = try await server.call("POST", "/api/workflows", body: Self.workflow(step))
            #expect(reply.status == 400)
            #expect(Self.fields(reply) == ["definition.steps[0].config.\(key)"], "\(step)")
        }
        // The documented keys of each type are accepted.
        let accepted: [JSONValue] = [
            ["id": "s", "type": "parse", "config": [:]],
            [
                "id": "s", "type": "extract",
                "config": [
                    "schema_id": "invoice-schema", "confidence_min": 0.5, "required_fields": ["total"],
                    "service": "extractor",
                ],
            ],
            ["id": "s", "type": "integration", "config": ["integration_id": "i", "template": "{{x}}"]],
        ]
        for step in accepted {
            let reply = try await server.call("POST", "/api/workflows", body: Self.workflow(step))
            #expect(reply.status == 201, "\(step): \(reply.envelope)")
        }
        #expect((try await server.call("GET", "/api/workflows")).body?["workflows"]?.arrayValue?.count == 3)
        try await server.stop()
    }

    @Test func integrationBodiesWithUnknownFieldsOrConfigKeysAreRefused() async throws {
        let server = try await TestServer.start()
        let body: JSONValue = [
            "name": "n", "integration_type": "slack", "kind": "x",
            "config": ["webhook_url": "https://hooks.example.com/a", "chanel": "#a"],
        ]
        let refused = try await server.call("POST", "/api/workflows/integrations", body: body)
        #expect(refused.status == 400)
        #expect(Self.fields(refused) == ["kind", "config.chanel"])
        let created = try await server.call(
            "POST", "/api/workflows/integrations",
            body: ["name": "n", "integration_type": "slack", "config": ["webhook_url": "https://hooks.example.com/a"]])
        #expect(created.status == 201)
        let id = try #require(created.body?["id"]?.stringValue)
        let update = try await server.call(
            "PUT", "/api/workflows/integrations", query: ["id": id], body: ["config": ["url": "https://x.example"]])
        #expect(update.status == 400)
        #expect(Self.fields(update) == ["config.url"])
        // What a client read back is accepted as it is.
        let readBack = try #require(created.body)
        let same = try await server.call("PUT", "/api/workflows/integrations", query: ["id": id], body: readBack)
        #expect(same.status == 200, "\(same.envelope)")
        try await server.stop()
    }

    @Test func schemaTemplateAndExecuteBodiesWithUnknownFieldsAreRefused() async throws {
        let server = try await TestServer.start()
        let schema = try await server.call(
            "POST", "/api/schemas",
            body: [
                "id": "po", "name": "PO", "version": 2,
                "fields": [["name": "number", "type": "string", "label": "PO number"]],
            ])
        #expect(schema.status == 400)
        #expect(Self.fields(schema) == ["version", "fields[0].label"])
        let template = try await server.call(
            "POST", "/api/workflows/templates", body: ["template_id": "tpl-invoice-processing", "enabled": true])
        #expect(template.status == 400)
        #expect(Self.fields(template) == ["enabled"])
        let id = try await server.createWorkflow([transform("t", ".")])
        let execute = try await server.call(
            "POST", "/api/workflows/\(id)/execute", body: ["trigger_data": [:], "data": ["x": 1]])
        #expect(execute.status == 400)
        #expect(Self.fields(execute) == ["data"])
        #expect((try await server.call("GET", "/api/workflows/\(id)/executions")).body?["executions"] == [])
        try await server.stop()
    }

    @Test func anUnknownQueryParameterIsRefusedOnEveryRoute() async throws {
        let server = try await TestServer.start()
        let id = try await server.createWorkflow([transform("t", ".")])
        let listed = try await server.call("GET", "/api/workflows", query: ["limit": "1", "enabled": "true"])
        #expect(listed.status == 400)
        #expect(Self.fields(listed) == ["enabled"])
        let calls: [(String, String)] = [
            ("GET", "/api/workflows/\(id)"), ("GET", "/api/schemas"), ("GET", "/api/workflows/\(id)/schedule"),
            ("GET", "/api/workflows/templates"), ("GET", "/api/workflows/integrations"),
            ("DELETE", "/api/workflows/\(id)"),
        ]
        for (method, path) in calls {
            let reply = try await server.call(method, path, query: ["verbose": "1"])
            #expect(reply.status == 400, "\(method) \(path)")
            #expect(Self.fields(reply) == ["verbose"], "\(method) \(path)")
        }
        // Refused before the handler ran: the workflow is still there.
        #expect((try await server.call("GET", "/api/workflows/\(id)")).status == 200)
        // Documented parameters pass, also written into the path.
        #expect((try await server.call("GET", "/api/workflows/templates?category=invoice")).status == 200)
        #expect((try await server.call("GET", "/api/workflows/integrations", query: ["workflow_id": id])).status == 200)
        try await server.stop()
    }
}
