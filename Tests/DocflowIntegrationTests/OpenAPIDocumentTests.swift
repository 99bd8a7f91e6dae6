import DocflowCore
import DocflowService
import DocflowTestSupport
import Foundation
import Testing

/// `GET /openapi.json`: the document describes every route the port serves and nothing else,
/// its request bodies are the ones the API accepts, and every example in `examples/` fits them.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let document = try! SchemaJSON.parse(OpenAPIDocument.encoded)
    static let validator = JSONSchemaValidator(root: document)

    /// Each example body with the route it is sent to; a new example must be added here.
    static let examples: [String: (method: String, path: String)] = [
        "branching-workflow.json": ("post", "/api/workflows"),
        "create-from-template.json": ("post", "/api/workflows/templates"),
        "create-integration.json": ("post", "/api/workflows/integrations"),
        "create-schedule.json": ("post", "/api/workflows/{id}/schedule"),
        "create-workflow.json": ("post", "/api/workflows"),
        "event-workflow.json": ("post", "/api/workflows"),
        "execute.json": ("post", "/api/workflows/{id}/execute"),
        "scheduled-workflow.json": ("post", "/api/workflows"),
        "update-schedule.json": ("put", "/api/workflows/{id}/schedule"),
        "webhook-workflow.json": ("post", "/api/workflows"),
    ]

    static let examplesFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples")

    /// `METHOD /path` of every operation in the document.
    static var documented: Set<String> {
        var operations: Set<String> = []
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }

    static func operation(_ method: String, _ path: String) -> SchemaJSON? {
        document["paths"]?[path]?[method.lowercased()]
    }

    static func requestSchema(_ method: String, _ path: String) -> SchemaJSON? {
        operation(method, path)?["requestBody"]?["content"]?["application/json"]?["schema"]
    }

    @Test func everyRouteIsInTheDocumentAndEveryDocumentedRouteIsServed() async throws {
        let server = try await TestServer.start()
        let routes = server.server.routes + HTTPServer.ownRoutes
        try await server.stop()
        let served = Set(routes.map(\.description))
        #expect(served.count == routes.count, "a route is registered twice")
        for missing in served.subtracting(Self.documented).sorted() {
            Issue.record("\(missing) is served but not in OpenAPIDocument: add an operation for it")
        }
        for stale in Self.documented.subtracting(served).sorted() {
            Issue.record("\(stale) is in OpenAPIDocument but no route serves it")
        }
        // Query parameters: the document lists exactly the ones the router lets through.
        for route in routes {
            let parameters = Self.operation(route.method, route.pattern)?["parameters"]?.arrayValue ?? []
            let query = Set(
                parameters.filter { $0["in"] == .string("query") }.compactMap { $0["name"]?.stringValue })
            #expect(query == route.query, "query parameters of \(route)")
            let path = Set(parameters.filter { $0["in"] == .string("path") }.compactMap { $0["name"]?.stringValue })
            let inPattern = Set(
                route.pattern.split(separator: "/").filter { $0.hasPrefix("{") }.map {
                    String($0.dropFirst().dropLast())
                })
            #expect(path == inPattern, "path parameters of \(route)")
        }
    }

    @Test func theHTTPPortServesTheDocumentWithoutAKey() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let reply = try await http("GET", port, "/openapi.json", authorized: false)
        #expect(reply.status == 200)
        #expect(reply.headers["content-type"] == "application/json")
        #expect(reply.body == OpenAPIDocument.json)
        #expect(reply.body?["openapi"] == "3.1.0")
        // The routes it describes keep their key.
        #expect((try await http("GET", port, "/api/workflows", authorized: false)).status == 401)
        try await server.stop()
    }

    /// Checks a reply over HTTP against the document's schema for its route and status.
    static func check(
        _ reply: HTTPReply, _ method: String, _ route: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let responses = try #require(Self.operation(method, route)?["responses"], sourceLocation: sourceLocation)
        let schema =
            reply.status >= 400
            ? Self.document["components"]?["responses"]?["Error"]?["content"]?["application/json"]?["schema"]
            : responses[String(reply.status)]?["content"]?["application/json"]?["schema"]
        let expected = try #require(
            schema, "\(method) \(route) documents no \(reply.status)", sourceLocation: sourceLocation)
        let problems = Self.validator.problems(try SchemaJSON.parse(Data(reply.text.utf8)), against: expected)
        #expect(problems.isEmpty, "\(method) \(route) \(reply.status): \(problems)", sourceLocation: sourceLocation)
    }

    @Test func theAPIsRepliesMatchTheDocumentsResponseSchemas() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let example = try Data(contentsOf: Self.examplesFolder.appendingPathComponent("branching-workflow.json"))
        let created = try await http("POST", port, "/api/workflows", body: example)
        #expect(created.status == 201)
        try Self.check(created, "POST", "/api/workflows")
        let id = try #require(created.body?["id"]?.stringValue)
        try Self.check(try await http("GET", port, "/api/workflows?limit=1"), "GET", "/api/workflows")
        try Self.check(try await http("GET", port, "/api/workflows/\(id)"), "GET", "/api/workflows/{id}")
        let started = try await http(
            "POST", port, "/api/workflows/\(id)/execute", json: ["trigger_data": ["lines": [["amount": 1500]]]])
        try Self.check(started, "POST", "/api/workflows/{id}/execute")
        let execution = try #require(started.body?["execution_id"]?.stringValue)
        _ = try await server.finished(id, execution)
        try Self.check(
            try await http("GET", port, "/api/workflows/\(id)/executions"), "GET", "/api/workflows/{id}/executions")
        try Self.check(try await http("GET", port, "/api/executions?status=completed"), "GET", "/api/executions")
        let schedule = try await http(
            "POST", port, "/api/workflows/\(id)/schedule", json: ["cron_expression": "0 9 * * 1-5"])
        try Self.check(schedule, "POST", "/api/workflows/{id}/schedule")
        try Self.check(
            try await http("GET", port, "/api/workflows/\(id)/schedule"), "GET", "/api/workflows/{id}/schedule")
        let integration = try await http(
            "POST", port, "/api/workflows/integrations",
            body: try Data(contentsOf: Self.examplesFolder.appendingPathComponent("create-integration.json")))
        #expect(integration.status == 404)  // the example names a workflow that does not exist
        try Self.check(integration, "POST", "/api/workflows/integrations")
        let slack = try await http(
            "POST", port, "/api/workflows/integrations",
            json: ["name": "s", "integration_type": "slack", "config": ["webhook_url": "https://hooks.example.com/a"]])
        try Self.check(slack, "POST", "/api/workflows/integrations")
        try Self.check(try await http("GET", port, "/api/workflows/integrations"), "GET", "/api/workflows/integrations")
        try Self.check(try await http("GET", port, "/api/workflows/templates"), "GET", "/api/workflows/templates")
        try Self.check(try await http("GET", port, "/api/schemas"), "GET", "/api/schemas")
        try Self.check(try await http("GET", port, "/api/schemas/invoice-schema"), "GET", "/api/schemas/{id}")
        try Self.check(try await http("GET", port, "/api/audit"), "GET", "/api/audit")
        try Self.check(try await http("GET", port, "/readyz"), "GET", "/readyz")
        try Self.check(try await http("GET", port, "/healthz"), "GET", "/healthz")
        let refused = try await http("GET", port, "/api/workflows?enabled=true")
        #expect(refused.status == 400)
        try Self.check(refused, "GET", "/api/workflows")
        try await server.stop()
    }

    @Test func everyExampleValidatesAgainstTheRequestSchemaOfItsRoute() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.examplesFolder.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        #expect(!files.isEmpty)
        for file in files {
            guard let route = Self.examples[file] else {
                Issue.record("examples/\(file) has no route in OpenAPIDocumentTests.examples")
                continue
            }
            let schema = try #require(Self.requestSchema(route.method, route.path), "\(route) has no request body")
            let body = try SchemaJSON.parse(Data(contentsOf: Self.examplesFolder.appendingPathComponent(file)))
            let problems = Self.validator.problems(body, against: schema)
            #expect(problems.isEmpty, "examples/\(file): \(problems)")
        }
        // examples/documents holds raw documents for parse steps, not API bodies.
        let documents = try FileManager.default.contentsOfDirectory(
            atPath: Self.examplesFolder.appendingPathComponent("documents").path)
        #expect(documents.allSatisfy { !$0.hasSuffix(".json") })
    }

    @Test func theValidatorRejectsAMisspeltFilterAndAnUnknownStepConfigKey() throws {
        let schema = try #require(Self.requestSchema("POST", "/api/workflows"))
        var body = try SchemaJSON.parse(
            Data(contentsOf: Self.examplesFolder.appendingPathComponent("create-workflow.json")))
        #expect(Self.validator.problems(body, against: schema).isEmpty)
        guard case .object(var fields) = body, case .object(var config)? = fields["trigger_config"] else {
            Issue.record("create-workflow.json is not a workflow")
            return
        }
        config["filter"] = config.removeValue(forKey: "filters")
        fields["trigger_config"] = .object(config)
        body = .object(fields)
        let problems = Self.validator.problems(body, against: schema)
        #expect(problems.contains { $0.hasPrefix("trigger_config:") && $0.contains("filter: is not allowed") })

        let colour = try SchemaJSON.parse(
            Data(
                #"{"name": "w", "trigger_type": "manual", "colour": "red", "definition": {"steps": [{"id": "p", "type": "parse", "config": {"mode": "fast"}}]}}"#
                    .utf8))
        let found = Self.validator.problems(colour, against: schema)
        #expect(found.contains("colour: is not allowed"))
        #expect(found.contains { $0.hasPrefix("definition.steps[0]:") && $0.contains("config.mode: is not allowed") })
        #expect(!Self.validator.problems(.string("x"), against: schema).isEmpty)
    }

    @Test func theDocumentsRequestBodiesListExactlyTheFieldsTheAPIAccepts() throws {
        for (name, fields) in OpenAPIDocument.closedBodies {
            let schema = try #require(Self.document["components"]?["schemas"]?[name], "no schema \(name)")
            let properties = Set((schema["properties"]?.objectValue ?? [:]).keys)
            #expect(properties == fields, "\(name) against APIFields")
            #expect(schema["additionalProperties"] == .bool(false), "\(name) must be closed")
        }
        // Every $ref resolves.
        func references(_ node: SchemaJSON) -> [String] {
            switch node {
            case .object(let members):
                members.flatMap { key, value in key == "$ref" ? [value.stringValue ?? ""] : references(value) }
            case .array(let items): items.flatMap(references)
            default: []
            }
        }
        for reference in Set(references(Self.document)) {
            #expect(Self.validator.resolve(reference) != nil, "\(reference) does not resolve")
        }
    }
}
