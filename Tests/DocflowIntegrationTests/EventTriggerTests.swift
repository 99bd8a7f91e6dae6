import AMQPClient
import DocflowCore
import Foundation
import Testing

@Suite("Platform events start workflows")
struct EventTriggerTests {
    static func eventWorkflow(_ server: TestServer, filters: JSONValue, enabled: Bool = true) async throws -> String {
        let reply = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "on upload", "trigger_type": "event", "enabled": .bool(enabled),
                "trigger_config": ["event": "document.uploaded", "filters": filters],
                "definition": ["steps": [transform("echo", "{document: .trigger.document_id}")]],
            ])
        guard let id = reply.body?["id"]?.stringValue else { throw TestFailure(reply.envelope.encodedString()) }
        return id
    }

    /// Publishes a platform event to the server's events exchange, confirmed.
    static func emit(
        _ server: TestServer, _ event: String, id: String = UUID().uuidString, data: JSONValue
    ) async throws {
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        let body: JSONValue = [
            "id": .string(id), "event": .string(event), "timestamp": "2031-01-15T10:00:00Z", "data": data,
        ]
        try await channel.publish(
            AMQPMessage(exchange: server.names.eventsExchange, routingKey: event, body: body.encoded(), mandatory: true)
        )
    }

    static func executions(_ server: TestServer, _ workflow: String) async throws -> [JSONValue] {
        let reply = try await server.call("GET", "/api/workflows/\(workflow)/executions")
        return reply.body?["executions"]?.arrayValue ?? []
    }

    /// Waits until `workflow` has `count` executions, then a little longer to see no more come.
    static func settle(_ server: TestServer, _ workflow: String, count: Int) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while try await executions(server, workflow).count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(25))
        }
        try await Task.sleep(for: .milliseconds(300))
        return try await executions(server, workflow)
    }

    @Test func filtersDecideWhichWorkflowsAnEventStarts() async throws {
        let server = try await TestServer.start()
        let pdfOnly = try await Self.eventWorkflow(server, filters: ["file_type": "pdf", "knowledge_base_id": "kb-1"])
        let anyOffice = try await Self.eventWorkflow(server, filters: ["file_type": ["docx", "pdf"]])
        let unfiltered = try await Self.eventWorkflow(server, filters: [:])

        try await Self.emit(
            server, "document.uploaded", id: "evt-1",
            data: ["document_id": "doc-1", "file_type": "pdf", "knowledge_base_id": "kb-1"])
        try await Self.emit(
            server, "document.uploaded", id: "evt-2", data: ["document_id": "doc-2", "file_type": "docx"])
        try await Self.emit(server, "document.uploaded", id: "evt-3", data: ["document_id": "doc-3"])
        try await Self.emit(
            server, "document.processed", id: "evt-4", data: ["document_id": "doc-4", "file_type": "pdf"])

        let pdf = try await Self.settle(server, pdfOnly, count: 1)
        #expect(pdf.count == 1)
        #expect(pdf.first?["triggered_by"] == "event")
        #expect(pdf.first?["trigger_data"]?["event_id"] == "evt-1")
        #expect(pdf.first?["trigger_data"]?["document_id"] == "doc-1")
        let office = try await Self.settle(server, anyOffice, count: 2)
        #expect(Set(office.compactMap { $0["trigger_data"]?["event_id"]?.stringValue }) == ["evt-1", "evt-2"])
        let all = try await Self.settle(server, unfiltered, count: 3)
        #expect(all.count == 3)
        let finished = try await server.finished(unfiltered, try #require(all.first?["id"]?.stringValue))
        #expect(finished["status"] == "completed")
        try await server.stop()
    }

    @Test func theSameEventDeliveredTwiceStartsOneExecution() async throws {
        let server = try await TestServer.start()
        let workflow = try await Self.eventWorkflow(server, filters: [:])
        for _ in 0..<3 {
            try await Self.emit(server, "document.uploaded", id: "evt-once", data: ["document_id": "doc-1"])
        }
        let executions = try await Self.settle(server, workflow, count: 1)
        #expect(executions.count == 1)
        try await server.stop()
    }

    @Test func aDisabledWorkflowIsNotTriggered() async throws {
        let server = try await TestServer.start()
        let disabled = try await Self.eventWorkflow(server, filters: [:], enabled: false)
        let enabled = try await Self.eventWorkflow(server, filters: [:])
        let disabledLater = try await Self.eventWorkflow(server, filters: [:])
        _ = try await server.call("PUT", "/api/workflows/\(disabledLater)", body: ["enabled": false])

        try await Self.emit(server, "document.uploaded", data: ["document_id": "doc-1"])
        #expect(try await Self.settle(server, enabled, count: 1).count == 1)
        #expect(try await Self.executions(server, disabled).isEmpty)
        #expect(try await Self.executions(server, disabledLater).isEmpty)
        try await server.stop()
    }

    @Test func garbageIsDeadLetteredAndTheNextEventStillRuns() async throws {
        let server = try await TestServer.start()
        let workflow = try await Self.eventWorkflow(server, filters: [:])
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        let deadLetters = try await channel.consume(queue: server.names.deadLetterQueue)
        try await channel.publish(
            AMQPMessage(exchange: server.names.eventsExchange, routingKey: "document.uploaded", body: Data("%%%".utf8)))
        try await channel.publish(
            AMQPMessage(
                exchange: server.names.eventsExchange, routingKey: "document.uploaded",
                body: Data(#"{"id": "x", "data": {}}"#.utf8)))

        var reasons: [String] = []
        for try await dead in deadLetters {
            reasons.append(dead.properties.headers["x-docflow-error"]?.stringValue ?? "")
            dead.ack()
            if reasons.count == 2 { break }
        }
        #expect(reasons.contains { $0.contains("not valid JSON") })
        #expect(reasons.contains { $0.contains("no event name") })

        try await Self.emit(server, "document.uploaded", data: ["document_id": "doc-after"])
        let executions = try await Self.settle(server, workflow, count: 1)
        #expect(executions.first?["trigger_data"]?["document_id"] == "doc-after")
        try await server.stop()
    }
}
