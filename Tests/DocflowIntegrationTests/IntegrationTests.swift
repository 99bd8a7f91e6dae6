import DocflowCore
import DocflowEngine
import Foundation
import Testing

@Suite("Integrations send real messages")
struct IntegrationTests {
    /// A workflow that makes an invoice number, then runs one integration step.
    static func notifyWorkflow(
        _ server: TestServer, integration: String, template: String? = nil, options: [String: JSONValue] = [:]
    ) async throws -> String {
        var config: [String: JSONValue] = ["integration_id": .string(integration)]
        if let template { config["template"] = .string(template) }
        var notify: [String: JSONValue] = ["id": "notify", "type": "integration", "config": .object(config)]
        notify.merge(options) { _, new in new }
        return try await server.createWorkflow([
            transform("extract", #"{invoice_number: "INV-42", total: 99.5}"#), .object(notify),
        ])
    }

    static func integration(_ server: TestServer, _ body: JSONValue) async throws -> String {
        let reply = try await server.call("POST", "/api/workflows/integrations", body: body)
        guard reply.status == 201, let id = reply.body?["id"]?.stringValue else {
            throw TestFailure(reply.envelope.encodedString())
        }
        return id
    }

    @Test func slackGetsTheRenderedTextAndChannel() async throws {
        let server = try await TestServer.start()
        let slack = RecordingHTTPServer()
        try await slack.start()
        let integration = try await Self.integration(
            server,
            [
                "name": "Slack Notifications", "integration_type": "slack",
                "config": ["webhook_url": .string(slack.url("/services/T000/B000")), "channel": "#invoices"],
            ])
        let workflow = try await Self.notifyWorkflow(
            server, integration: integration, template: "Invoice processed: {{invoice_number}} & more")
        let execution = try await server.finished(workflow, try await server.execute(workflow))

        #expect(execution["status"] == "completed")
        #expect(execution.step("notify")?["output"]?["status"] == 200)
        let request = try #require(slack.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/services/T000/B000")
        #expect(
            try JSONValue.parse(request.body) == ["text": "Invoice processed: INV-42 & more", "channel": "#invoices"])
        slack.stop()
        try await server.stop()
    }

    @Test func webhookGetsMethodHeadersIdempotencyKeyAndAValidSignature() async throws {
        let server = try await TestServer.start()
        let endpoint = RecordingHTTPServer()
        try await endpoint.start()
        let integration = try await Self.integration(
            server,
            [
                "name": "ERP", "integration_type": "webhook",
                "config": [
                    "url": .string(endpoint.url("/erp/invoices")), "method": "PUT",
                    "headers": ["Authorization": "Bearer token-1"], "secret": "whsec-out",
                ],
            ])
        let workflow = try await Self.notifyWorkflow(server, integration: integration)
        let executionID = try await server.execute(workflow)
        let execution = try await server.finished(workflow, executionID)

        #expect(execution["status"] == "completed")
        let request = try #require(endpoint.requests.first)
        #expect(request.method == "PUT")
        #expect(request.headers["authorization"] == "Bearer token-1")
        #expect(request.headers["x-docflow-execution"] == executionID)
        #expect(request.headers["x-docflow-step"] == "notify")
        #expect(request.headers["idempotency-key"] == "\(executionID):notify")
        // No template: the body is the latest output.
        #expect(try JSONValue.parse(request.body) == ["invoice_number": "INV-42", "total": 99.5])
        #expect(throws: Never.self) {
            try WebhookSignature.verify(request.headers["x-docflow-signature"], body: request.body, secret: "whsec-out")
        }
        endpoint.stop()
        try await server.stop()
    }

    @Test func twoServiceUnavailableAnswersAreRetriedThenTheStepCompletes() async throws {
        let server = try await TestServer.start()
        let endpoint = RecordingHTTPServer()
        try await endpoint.start()
        endpoint.script([.init(status: 503, body: "busy"), .init(status: 503, body: "still busy")])
        let integration = try await Self.integration(
            server, ["name": "flaky", "integration_type": "webhook", "config": ["url": .string(endpoint.url("/x"))]])
        let workflow = try await Self.notifyWorkflow(
            server, integration: integration, options: ["retry": ["max_attempts": 3, "initial_interval_ms": 50]])
        let execution = try await server.finished(workflow, try await server.execute(workflow))

        #expect(execution["status"] == "completed")
        #expect(execution.step("notify")?["attempts"] == 3)
        #expect(endpoint.requests.count == 3)
        endpoint.stop()
        try await server.stop()
    }

    @Test func integrationStepsRetryThreeTimesByDefaultAndHonourRetryAfter() async throws {
        let server = try await TestServer.start()
        let endpoint = RecordingHTTPServer()
        try await endpoint.start()
        endpoint.script([
            .init(status: 429, headers: ["Retry-After": "1"]), .init(status: 500), .init(status: 500),
        ])
        let integration = try await Self.integration(
            server, ["name": "limited", "integration_type": "webhook", "config": ["url": .string(endpoint.url("/x"))]])
        let workflow = try await Self.notifyWorkflow(server, integration: integration)
        let execution = try await server.finished(workflow, try await server.execute(workflow), timeout: .seconds(60))

        #expect(execution["status"] == "failed")
        #expect(execution.step("notify")?["attempts"] == 3)
        #expect(execution.step("notify")?["output"]?["status"] == 500)
        let times = endpoint.requests.map(\.receivedAt)
        #expect(times.count == 3)
        if times.count == 3 { #expect(times[1] - times[0] >= .milliseconds(950)) }
        endpoint.stop()
        try await server.stop()
    }

    @Test func aClientErrorFailsAtOnce() async throws {
        let server = try await TestServer.start()
        let endpoint = RecordingHTTPServer()
        try await endpoint.start()
        endpoint.script([.init(status: 400, body: #"{"error": "bad invoice"}"#)])
        let integration = try await Self.integration(
            server, ["name": "strict", "integration_type": "webhook", "config": ["url": .string(endpoint.url("/x"))]])
        let workflow = try await Self.notifyWorkflow(server, integration: integration)
        let execution = try await server.finished(workflow, try await server.execute(workflow))

        #expect(execution["status"] == "failed")
        #expect(execution.step("notify")?["attempts"] == 1)
        #expect(execution.step("notify")?["error"]?.stringValue?.contains("400") == true)
        #expect(execution.step("notify")?["output"]?["body"]?.stringValue?.contains("bad invoice") == true)
        #expect(endpoint.requests.count == 1)
        endpoint.stop()
        try await server.stop()
    }

    @Test func emailGoesOutOverSMTPWithTheRenderedSubjectAndBody() async throws {
        let smtp = SMTPListener()
        try smtp.start()
        let server = try await TestServer.start { $0.smtpURL = "smtp://127.0.0.1:\(smtp.port)" }
        let integration = try await Self.integration(
            server,
            [
                "name": "Finance", "integration_type": "email",
                "config": [
                    "to": ["ap@example.com", "cfo@example.com"], "subject": "Invoice {{invoice_number}} ✓ prêt",
                    "template": "Total: {{total}}",
                ],
            ])
        let workflow = try await Self.notifyWorkflow(server, integration: integration)
        let execution = try await server.finished(workflow, try await server.execute(workflow))

        #expect(execution["status"] == "completed")
        let message = try #require(smtp.messages.first)
        #expect(message.recipients == ["ap@example.com", "cfo@example.com"])
        #expect(message.from == "docflow@localhost")
        let (headers, body) = Self.split(message.data)
        let subject = try #require(headers["subject"])
        #expect(Self.decodeWord(subject) == "Invoice INV-42 ✓ prêt")
        #expect(headers["to"] == "ap@example.com, cfo@example.com")
        #expect(headers["content-type"] == "text/plain; charset=UTF-8")
        #expect(headers["date"] != nil && headers["message-id"] != nil)
        let text = Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: ""))
            .map { String(decoding: $0, as: UTF8.self) }
        #expect(text == "Total: 99.5")
        smtp.stop()
        try await server.stop()
    }

    @Test func missingIntegrationAndMissingSMTPFailWithASentenceThatNamesThem() async throws {
        let server = try await TestServer.start()
        let missing = try await Self.notifyWorkflow(server, integration: "no-such-integration")
        let first = try await server.finished(missing, try await server.execute(missing))
        #expect(first["status"] == "failed")
        #expect(first.step("notify")?["error"] == "integration no-such-integration does not exist")
        #expect(first.step("notify")?["attempts"] == 1)

        let email = try await Self.integration(
            server, ["name": "mail", "integration_type": "email", "config": ["to": "ops@example.com"]])
        let noSMTP = try await Self.notifyWorkflow(server, integration: email)
        let second = try await server.finished(noSMTP, try await server.execute(noSMTP))
        #expect(second.step("notify")?["error"]?.stringValue?.contains("no SMTP server (--smtp-url)") == true)
        try await server.stop()
    }

    @Test func secretsAreMaskedAndAMaskedValueSentBackKeepsTheStoredOne() async throws {
        let server = try await TestServer.start()
        let slack = RecordingHTTPServer()
        try await slack.start()
        let created = try await server.call(
            "POST", "/api/workflows/integrations",
            body: [
                "name": "Slack", "integration_type": "slack",
                "config": ["webhook_url": .string(slack.url("/hook/secret-path")), "channel": "#a"],
            ])
        #expect(created.body?["config"]?["webhook_url"] == "********")
        #expect(created.body?["config"]?["channel"] == "#a")
        let id = try #require(created.body?["id"]?.stringValue)
        let list = try await server.call("GET", "/api/workflows/integrations")
        #expect(list.body?["integrations"]?.arrayValue?.first?["config"]?["webhook_url"] == "********")

        let updated = try await server.call(
            "PUT", "/api/workflows/integrations", query: ["id": id],
            body: ["name": "Slack v2", "config": ["webhook_url": "********", "channel": "#b"]])
        #expect(updated.status == 200)
        #expect(updated.body?["name"] == "Slack v2")
        let workflow = try await Self.notifyWorkflow(server, integration: id, template: "hi")
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        #expect(execution["status"] == "completed")
        #expect(slack.requests.first?.path == "/hook/secret-path")
        #expect(try slack.requests.first.map { try JSONValue.parse($0.body)["channel"] } == "#b")

        let webhook = try await server.call(
            "POST", "/api/workflows/integrations",
            body: [
                "name": "hook", "integration_type": "webhook",
                "config": ["url": "https://example.com/x", "headers": ["X-Api-Key": "k"], "secret": "s"],
            ])
        #expect(webhook.body?["config"]?["headers"]?["X-Api-Key"] == "********")
        #expect(webhook.body?["config"]?["secret"] == "********")
        slack.stop()
        try await server.stop()
    }

    @Test func integrationRoutesValidateFilterAndDelete() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([transform("t", ".")])
        let bad = try await server.call(
            "POST", "/api/workflows/integrations",
            body: [
                "name": "bad", "integration_type": "webhook", "config": ["url": "ftp://x", "method": "FETCH"],
            ])
        #expect(bad.status == 400)
        let fields = Set(bad.error?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(fields == ["config.url", "config.method"])
        let badMail = try await server.call(
            "POST", "/api/workflows/integrations",
            body: ["name": "m", "integration_type": "email", "config": ["to": ["ok@example.com", "not an address"]]])
        #expect(badMail.error?["details"]?.arrayValue?.first?["field"] == "config.to[1]")
        let unknownWorkflow = try await server.call(
            "POST", "/api/workflows/integrations",
            body: [
                "workflow_id": "no-such-workflow", "name": "x", "integration_type": "slack",
                "config": ["webhook_url": "https://hooks.slack.com/x"],
            ])
        #expect(unknownWorkflow.status == 404)

        let mine = try await Self.integration(
            server,
            [
                "workflow_id": .string(workflow), "name": "mine", "integration_type": "slack",
                "config": ["webhook_url": "https://hooks.slack.com/x"],
            ])
        _ = try await Self.integration(
            server,
            ["name": "other", "integration_type": "slack", "config": ["webhook_url": "https://hooks.slack.com/y"]])
        let filtered = try await server.call("GET", "/api/workflows/integrations", query: ["workflow_id": workflow])
        #expect(filtered.body?["integrations"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [mine])
        #expect(try await server.call("DELETE", "/api/workflows/integrations?id=\(mine)").status == 204)
        #expect(try await server.call("DELETE", "/api/workflows/integrations", query: ["id": mine]).status == 404)
        #expect(try await server.call("DELETE", "/api/workflows/integrations").status == 400)
        try await server.stop()
    }

    @Test func metadataAddressesAreRefusedWithoutRetrying() async throws {
        let server = try await TestServer.start()
        let integration = try await Self.integration(
            server,
            [
                "name": "metadata", "integration_type": "webhook",
                "config": ["url": "http://169.254.169.254/latest/meta-data"],
            ])
        let workflow = try await Self.notifyWorkflow(server, integration: integration)
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        #expect(execution["status"] == "failed")
        #expect(execution.step("notify")?["attempts"] == 1)
        #expect(
            execution.step("notify")?["error"]?.stringValue?.contains(
                "refused to connect to 169.254.169.254 (cloud metadata)") == true)
        try await server.stop()
    }

    /// Headers (names in lower case) and body of an RFC 5322 message.
    static func split(_ data: String) -> ([String: String], String) {
        let parts = data.components(separatedBy: "\r\n\r\n")
        var headers: [String: String] = [:]
        for line in parts[0].components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return (headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// Decodes one `=?UTF-8?B?...?=` word.
    static func decodeWord(_ word: String) -> String {
        guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?=") else { return word }
        let encoded = word.dropFirst(10).dropLast(2)
        return Data(base64Encoded: String(encoded)).map { String(decoding: $0, as: UTF8.self) } ?? word
    }
}
