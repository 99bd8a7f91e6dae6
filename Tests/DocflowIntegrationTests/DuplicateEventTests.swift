import AMQPClient
import DocflowCore
import Foundation
import Testing

/// An event's first delivery starts running before its claim is committed; these check that a
/// copy of the event never shows: no second execution, no status event of one, and nothing sent.
@Suite("Duplicate events leave no trace")
struct DuplicateEventTests {
    /// Collects every status event of the server for `seconds`.
    private func collect(_ consumer: AMQPConsumer, for seconds: Duration) async throws -> [AMQPDelivery] {
        try await withThrowingTaskGroup(of: [AMQPDelivery]?.self) { group in
            group.addTask {
                var deliveries: [AMQPDelivery] = []
                for try await delivery in consumer { deliveries.append(delivery) }
                return deliveries
            }
            group.addTask {
                try await Task.sleep(for: seconds)
                return nil
            }
            // The timer ends first; cancelling the consumer then ends the collector.
            _ = try await group.next()
            try await consumer.cancel()
            return try await group.next()!!
        }
    }

    @Test func copiesOfAnEventPublishNoStatusEventsOfTheirOwn() async throws {
        let server = try await TestServer.start()
        let workflow = try await EventTriggerTests.eventWorkflow(server, filters: [:])
        let monitor = try await server.monitor(binding: "#.\(workflow)")
        // Five copies at once: each is a first delivery, so each starts speculatively.
        for _ in 0..<5 {
            try await EventTriggerTests.emit(server, "document.uploaded", id: "evt-dup", data: ["document_id": "d"])
        }
        let executions = try await EventTriggerTests.settle(server, workflow, count: 1)
        #expect(executions.count == 1)
        let events = try await collect(monitor, for: .seconds(1))
        let keys = events.map { $0.routingKey.replacingOccurrences(of: ".\(workflow)", with: "") }
        #expect(keys.filter { $0 == "workflow.started" }.count == 1)
        #expect(keys.filter { $0 == "workflow.completed" }.count == 1)
        #expect(keys.filter { $0 == "workflow.step.completed" }.count == 1)
        let executionIDs = Set(events.compactMap { $0.properties.headers["execution_id"]?.stringValue })
        #expect(executionIDs == Set([executions.first?["id"]?.stringValue ?? "none"]))
        try await server.stop()
    }

    @Test func copiesOfAnEventNeverReachAnIntegration() async throws {
        let server = try await TestServer.start()
        let endpoint = RecordingHTTPServer()
        try await endpoint.start()
        let integration = try await IntegrationTests.integration(
            server,
            ["name": "ERP", "integration_type": "webhook", "config": ["url": .string(endpoint.url("/hook"))]])
        let reply = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "on upload, notify", "trigger_type": "event",
                "trigger_config": ["event": "document.uploaded"],
                "definition": [
                    "steps": [
                        transform("prepare", "{document: .trigger.document_id}"),
                        ["id": "notify", "type": "integration", "config": ["integration_id": .string(integration)]],
                    ]
                ],
            ])
        let workflow = try #require(reply.body?["id"]?.stringValue)
        for _ in 0..<5 {
            try await EventTriggerTests.emit(server, "document.uploaded", id: "evt-notify", data: ["document_id": "d"])
        }
        let executions = try await EventTriggerTests.settle(server, workflow, count: 1)
        #expect(executions.count == 1)
        #expect(executions.first?["status"] == "completed")
        #expect(endpoint.requests.count == 1)
        endpoint.stop()
        try await server.stop()
    }
}
