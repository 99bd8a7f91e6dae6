import DocflowCore
import Foundation
import Testing

/// `GET /metrics` of a running server, read as Prometheus reads it.
@Suite("Metrics endpoint")
struct MetricsEndpointTests {
    /// The families of a Prometheus text: help text and type by name, and the sample lines.
    struct Exposition {
        var help: [String: String] = [:]
        var type: [String: String] = [:]
        var samples: [String] = []

        init(_ text: String) {
            for line in text.split(separator: "\n").map(String.init) {
                if line.hasPrefix("# HELP ") {
                    let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                    help[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
                } else if line.hasPrefix("# TYPE ") {
                    let parts = line.dropFirst(7).split(separator: " ")
                    type[String(parts[0])] = String(parts[1])
                } else if !line.isEmpty {
                    samples.append(line)
                }
            }
        }

        /// The family a sample line belongs to (a histogram's `_bucket`, `_sum`, `_count` lines
        /// belong to the histogram).
        func family(of sample: String) -> String {
            let name = String(sample.prefix { $0 != "{" && $0 != " " })
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if type[base] == "histogram" { return base }
            }
            return name
        }

        /// The value of the sample whose name and labels are `series`, if there is one.
        func value(_ series: String) -> Double? {
            samples.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
        }
    }

    private static func scrape(_ port: Int) async throws -> Exposition {
        let reply = try await http("GET", port, "/metrics")
        #expect(reply.status == 200)
        return Exposition(reply.text)
    }

    @Test func everyFamilyHasHelpAndTypeAndExecutionsCarryTheirWorkflow() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let workflow = try await server.createWorkflow([transform("t", "{ok: true}")])
        let execution = try await server.execute(workflow)
        #expect(try await server.finished(workflow, execution)["status"] == "completed")
        let metrics = try await Self.scrape(port)
        #expect(!metrics.samples.isEmpty)
        for sample in metrics.samples {
            let family = metrics.family(of: sample)
            #expect((metrics.help[family] ?? "").count > 10, "no help text for \(family)")
            #expect(metrics.type[family] != nil, "no type for \(family)")
        }
        // Every family described is typed and the other way round.
        #expect(Set(metrics.help.keys) == Set(metrics.type.keys))
        #expect(metrics.value(#"docflow_executions_started_total{trigger="manual",workflow="\#(workflow)"}"#) == 1)
        #expect(metrics.value(#"docflow_executions_completed_total{trigger="manual",workflow="\#(workflow)"}"#) == 1)
        #expect(
            metrics.value(#"docflow_steps_total{type="transform",status="completed",workflow="\#(workflow)"}"#) == 1)
        #expect(
            metrics.value(#"docflow_step_duration_seconds_count{type="transform",workflow="\#(workflow)"}"#) == 1)
        for gauge in [
            "docflow_executions_in_flight", "docflow_executions_waiting", "docflow_outbox_messages",
            "docflow_outbox_parked_messages", "docflow_tasks_awaiting_result",
        ] {
            #expect(metrics.type[gauge] == "gauge", "\(gauge)")
            #expect(metrics.value(gauge) != nil, "\(gauge)")
        }
        #expect(metrics.value("docflow_metrics_workflow_labels") == 1)
        #expect(metrics.type["docflow_step_duration_seconds"] == "histogram")
        try await server.stop()
    }

    @Test func copiesOfAnEventAreCountedAsDuplicatesAndNotAsStarts() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let workflow = try await EventTriggerTests.eventWorkflow(server, filters: [:])
        for _ in 0..<2 {
            try await EventTriggerTests.emit(server, "document.uploaded", id: "evt-twice", data: ["document_id": "d"])
        }
        let executions = try await EventTriggerTests.settle(server, workflow, count: 1)
        #expect(executions.count == 1)
        let duplicates = #"docflow_trigger_duplicates_total{trigger="event",workflow="\#(workflow)"}"#
        // The copy is counted once its claim is refused, which the execution's end need not wait for.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        var metrics = try await Self.scrape(port)
        while metrics.value(duplicates) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            metrics = try await Self.scrape(port)
        }
        #expect(metrics.value(duplicates) == 1)
        #expect(metrics.value(#"docflow_executions_started_total{trigger="event",workflow="\#(workflow)"}"#) == 1)
        #expect(metrics.value(#"docflow_messages_consumed_total{queue="\#(server.names.platformEventsQueue)"}"#) == 2)
        // The copy ran its step speculatively; only the started execution's step is counted.
        #expect(
            metrics.value(#"docflow_steps_total{type="transform",status="completed",workflow="\#(workflow)"}"#) == 1)
        try await server.stop()
    }

    @Test func workflowsBeyondTheLabelLimitShareOther() async throws {
        let (server, port) = try await TestServer.startWithHTTP { $0.metricsWorkflowLabels = 1 }
        let first = try await server.createWorkflow([transform("t", "{ok: true}")])
        let second = try await server.createWorkflow([transform("t", "{ok: true}")])
        for workflow in [first, second] {
            let execution = try await server.execute(workflow)
            _ = try await server.finished(workflow, execution)
        }
        let metrics = try await Self.scrape(port)
        #expect(metrics.value(#"docflow_executions_started_total{trigger="manual",workflow="\#(first)"}"#) == 1)
        #expect(metrics.value(#"docflow_executions_started_total{trigger="manual",workflow="other"}"#) == 1)
        #expect(!metrics.samples.contains { $0.contains(second) })
        try await server.stop()
    }
}
