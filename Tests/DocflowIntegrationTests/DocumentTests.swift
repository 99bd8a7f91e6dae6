import AMQPClient
import DocflowCore
import Foundation
import Testing

/// The sample invoice that ships in examples/documents.
let sampleInvoicePDF = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples/documents/sample-invoice.pdf")

@Suite("Documents: parse, extract, schemas and templates")
struct DocumentTests {
    /// Copies the sample invoice into the server's document root; returns its file URL.
    static func placeSampleInvoice(_ server: TestServer) throws -> String {
        let root = URL(fileURLWithPath: server.configuration.documentRoot)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let target = root.appendingPathComponent("sample-invoice.pdf")
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: sampleInvoicePDF, to: target)
        return target.absoluteString
    }

    @Test func parseReadsInlineContentAndHTML() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([["id": "parse", "type": "parse", "config": [:]]])
        let text = try await server.finished(
            workflow, try await server.execute(workflow, ["content": "Hello\nworld", "document_id": "d-1"]))
        #expect(text["status"] == "completed")
        let output = try #require(text.step("parse")?["output"])
        #expect(output["text"] == "Hello\nworld")
        #expect(output["document_id"] == "d-1")
        #expect(output["metadata"]?["page_count"] == 1)
        #expect(output["metadata"]?["bytes"] == 11)

        let html =
            "<html><head><title>T</title><script>alert(1)</script></head><body><p>Caf&eacute; &amp; co</p></body></html>"
        let encoded = Data(html.utf8).base64EncodedString()
        let parsed = try await server.finished(
            workflow, try await server.execute(workflow, ["content_base64": .string(encoded), "file_type": "html"]))
        let page = parsed.step("parse")?["output"]?["text"]?.stringValue ?? ""
        #expect(page.contains("Café & co"))
        #expect(!page.contains("alert"))
        try await server.stop()
    }

    @Test func documentsOutsideTheRootAndUnknownSchemesAreRefused() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([["id": "parse", "type": "parse", "config": [:]]])
        for url in [
            "file:///etc/passwd", "file://\(server.configuration.documentRoot)/../../etc/passwd", "ftp://example.com/x",
        ] {
            let execution = try await server.finished(
                workflow, try await server.execute(workflow, ["document_url": .string(url)]))
            #expect(execution["status"] == "failed")
            let error = execution.step("parse")?["error"]?.stringValue ?? ""
            #expect(error.contains("cannot read document"), "\(url): \(error)")
        }
        let corrupt = try await server.finished(
            workflow,
            try await server.execute(
                workflow,
                ["content_base64": .string(Data("%PDF-1.4 broken".utf8).base64EncodedString()), "file_type": "pdf"]))
        #expect(corrupt["status"] == "failed")
        #expect(corrupt.step("parse")?["error"]?.stringValue?.contains("PDF") == true)
        try await server.stop()
    }

    @Test func theSeedsInvoiceWorkflowRunsFromATemplateOnTheSamplePDF() async throws {
        let server = try await TestServer.start()
        let slack = RecordingHTTPServer()
        try await slack.start()
        let templates = try await server.call("GET", "/api/workflows/templates", query: ["category": "invoice"])
        #expect(templates.body?["templates"]?.arrayValue?.count == 1)
        let created = try await server.call(
            "POST", "/api/workflows/templates",
            body: [
                "template_id": "tpl-invoice-processing", "name": "My Invoice Workflow",
                "description": "Custom invoice processing",
            ])
        #expect(created.status == 201)
        #expect(created.body?["enabled"] == false)
        #expect(created.body?["name"] == "My Invoice Workflow")
        let id = try #require(created.body?["id"]?.stringValue)

        // Enabling before every integration step names an integration lists those steps.
        let refused = try await server.call("PUT", "/api/workflows/\(id)", body: ["enabled": true])
        #expect(refused.status == 400)
        let fields = Set(refused.error?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(fields == ["definition.steps[3].config.integration_id", "definition.steps[4].config.integration_id"])

        let integration = try await server.call(
            "POST", "/api/workflows/integrations",
            body: [
                "workflow_id": .string(id), "name": "Slack Notifications", "integration_type": "slack",
                "config": ["webhook_url": .string(slack.url("/services/invoices")), "channel": "#invoices"],
            ])
        let integrationID = try #require(integration.body?["id"]?.stringValue)
        var steps = created.body?["definition"]?["steps"]?.arrayValue ?? []
        for index in steps.indices where steps[index]["type"] == "integration" {
            var step = steps[index].objectValue!
            var config = step["config"]!.objectValue!
            config["integration_id"] = .string(integrationID)
            step["config"] = .object(config)
            steps[index] = .object(step)
        }
        let enabled = try await server.call(
            "PUT", "/api/workflows/\(id)", body: ["enabled": true, "definition": ["steps": .array(steps)]])
        #expect(enabled.status == 200)

        let document = try Self.placeSampleInvoice(server)
        let execution = try await server.finished(
            id,
            try await server.execute(
                id, ["document_url": .string(document), "file_type": "pdf", "document_id": "doc-42"]))
        #expect(execution["status"] == "completed")
        let parsed = execution.step("parse")?["output"]
        #expect(parsed?["metadata"]?["page_count"] == 1)
        #expect(parsed?["metadata"]?["title"] == "Sample invoice INV-2024-0042")
        let fields2 = try #require(execution.step("extract")?["output"])
        #expect(fields2["invoice_number"] == "INV-2024-0042")
        #expect(fields2["invoice_date"] == "2024-01-15")
        #expect(fields2["due_date"] == "2024-02-14")
        #expect(fields2["total"] == 1339.2)
        #expect(fields2["subtotal"] == 1240)
        #expect(fields2["tax"] == 99.2)
        #expect(fields2["currency"] == "USD")
        #expect(fields2["_meta"]?["confidence"]?["total"]?.doubleValue ?? 0 > 0.5)
        #expect(execution.step("review")?["status"] == "skipped")
        let message = try #require(slack.requests.first)
        #expect(try JSONValue.parse(message.body)["text"] == "Invoice processed: INV-2024-0042 (1339.2 USD)")
        slack.stop()
        try await server.stop()
    }

    @Test func customSchemasAreManagedThroughTheAPIAndUsedByExtract() async throws {
        let server = try await TestServer.start()
        let builtIns = try await server.call("GET", "/api/schemas")
        let ids = builtIns.body?["schemas"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(Set(ids).isSuperset(of: ["invoice-schema", "contract-schema", "resume-schema"]))
        #expect(
            try await server.call("PUT", "/api/schemas/invoice-schema", body: ["name": "x", "fields": []]).status == 409
        )
        #expect(try await server.call("DELETE", "/api/schemas/invoice-schema").status == 409)

        let created = try await server.call(
            "POST", "/api/schemas",
            body: [
                "id": "shipping-notice", "name": "Shipping notice",
                "fields": [
                    [
                        "name": "tracking_number", "type": "string", "required": true,
                        "labels": ["Tracking Number", "Tracking"],
                    ],
                    ["name": "ship_date", "type": "date", "labels": ["Ship Date"]],
                ],
            ])
        #expect(created.status == 201)
        let bad = try await server.call(
            "POST", "/api/schemas", body: ["id": "bad", "name": "Bad", "fields": [["name": "x", "type": "colour"]]])
        #expect(bad.status == 400)
        #expect(bad.error?["details"]?.arrayValue?.first?["field"] == "fields[0].type")

        let workflow = try await server.createWorkflow([
            [
                "id": "extract", "type": "extract",
                "config": ["schema_id": "shipping-notice", "required_fields": ["tracking_number"]],
            ]
        ])
        let execution = try await server.finished(
            workflow,
            try await server.execute(
                workflow, ["content": "Shipping notice\nTracking Number: 1Z999AA10123456784\nShip Date: 03/04/2024\n"]))
        #expect(execution["status"] == "completed")
        #expect(execution.step("extract")?["output"]?["tracking_number"] == "1Z999AA10123456784")
        #expect(execution.step("extract")?["output"]?["ship_date"] == "2024-03-04")

        let missing = try await server.finished(
            workflow, try await server.execute(workflow, ["content": "nothing here"]))
        #expect(missing["status"] == "failed")
        #expect(missing.step("extract")?["error"]?.stringValue?.contains("tracking_number") == true)
        #expect(try await server.call("DELETE", "/api/schemas/shipping-notice").status == 204)
        #expect(try await server.call("GET", "/api/schemas/shipping-notice").status == 404)
        try await server.stop()
    }

    @Test func extractionCanBeDelegatedToAServiceOnTheBroker() async throws {
        let server = try await TestServer.start()
        let queue = "\(server.configuration.prefix).extractor"
        let channel = try await server.connection.openChannel()
        try await channel.declare(AMQPQueue(queue, durable: false, autoDelete: true))
        try await channel.enableConfirms()
        let requests = try await channel.consume(queue: queue)
        let stub = Task {
            for try await request in requests {
                let body = try JSONValue.parse(request.body)
                let reply: JSONValue = [
                    "total": 77, "seen_schema": body["schema"]?["id"] ?? .null,
                    "seen_text": body["document"]?["text"] ?? .null,
                ]
                try await channel.publish(
                    AMQPMessage(
                        routingKey: request.properties.replyTo ?? "", body: reply.encoded(),
                        properties: AMQPProperties(correlationID: request.properties.correlationID)))
                request.ack()
            }
        }
        let workflow = try await server.createWorkflow([
            ["id": "extract", "type": "extract", "config": ["schema_id": "invoice-schema", "service": .string(queue)]]
        ])
        let execution = try await server.finished(
            workflow, try await server.execute(workflow, ["content": "Total: $5"]))
        #expect(execution["status"] == "completed")
        #expect(
            execution.step("extract")?["output"] == [
                "total": 77, "seen_schema": "invoice-schema", "seen_text": "Total: $5",
            ])
        stub.cancel()
        try await server.stop()
    }

    @Test func templatesAreListedFilteredAndValidated() async throws {
        let server = try await TestServer.start()
        let all = try await server.call("GET", "/api/workflows/templates")
        let categories = Set(all.body?["templates"]?.arrayValue?.compactMap { $0["category"]?.stringValue } ?? [])
        #expect(categories == ["invoice", "contract", "resume", "general"])
        #expect(try await server.call("GET", "/api/workflows/templates", query: ["category": "poetry"]).status == 400)
        #expect(
            try await server.call("POST", "/api/workflows/templates", body: ["template_id": "no-such-template"]).status
                == 404)
        for template in all.body?["templates"]?.arrayValue ?? [] {
            let made = try await server.call(
                "POST", "/api/workflows/templates", body: ["template_id": template["id"] ?? .null])
            #expect(made.status == 201, "\(template["id"] ?? .null): \(made.envelope.encodedString())")
        }
        try await server.stop()
    }
}
