import DocflowClient
import DocflowCore
import DocflowEngine
import Testing

@testable import DocflowService

/// `/metrics` as Prometheus reads it: every family described and typed, the execution and step
/// families labelled by workflow. No broker: the counters are driven directly.
struct ServiceMetricsTests {
    /// Each family's `# HELP` text and `# TYPE`, and the families that have samples.
    struct Exposition {
        var help: [String: String] = [:]
        var type: [String: String] = [:]
        var sampled: Set<String> = []
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
                    var name = String(line.prefix { $0 != "{" && $0 != " " })
                    for suffix in ["_bucket", "_sum", "_count"] where type[name] == nil && name.hasSuffix(suffix) {
                        name = String(name.dropLast(suffix.count))
                    }
                    sampled.insert(name)
                }
            }
        }
    }

    /// Metrics with something in every family.
    private static func exercised() -> ServiceMetrics {
        let names = Names(prefix: "t")
        let metrics = ServiceMetrics(names: names, workflowLabels: 1)
        metrics.consumed(names.apiQueue)
        metrics.deadLettered(names.platformEventsQueue)
        metrics.published(names.statusExchange, count: 3)
        metrics.parked(names.statusExchange)
        _ = metrics.factory.makeCounter(
            label: ServiceMetrics.Family.reconnects, dimensions: [("connection", "t consume")])
        for workflow in ["wf-1", "wf-2"] {
            let counts = metrics.engine.workflow(workflow)
            counts.started(.event)
            counts.duplicate(.event)
            counts.stepFinished(.transform, status: .completed, duration: .milliseconds(3))
            counts.stepFinished(.integration, status: .failed, duration: .milliseconds(30))
            counts.executionFinished(.completed, .event)
            counts.executionFinished(.failed, .manual)
            counts.executionFinished(.cancelled, .webhook)
        }
        return metrics
    }

    @Test func everyFamilyHasAHelpTextAndAType() {
        let exposition = Exposition(Self.exercised().registry.emitToString())
        let families = Set(ServiceMetrics.help.keys).union(EngineMetrics.help.keys)
        #expect(exposition.sampled == families)
        for family in exposition.sampled {
            let help = exposition.help[family] ?? ""
            #expect(help.count > 20, "\(family) has no help text of its own: \(help)")
            #expect(exposition.type[family] != nil, "\(family) has no TYPE")
        }
        #expect(exposition.type[EngineMetrics.Family.stepDuration] == "histogram")
        #expect(exposition.type[ServiceMetrics.Family.inFlight] == "gauge")
        #expect(exposition.type[EngineMetrics.Family.duplicates] == "counter")
    }

    @Test func executionAndStepMetricsCarryABoundedWorkflowLabel() {
        let exposition = Exposition(Self.exercised().registry.emitToString())
        let started = exposition.samples.filter { $0.hasPrefix(EngineMetrics.Family.started + "{") }
        #expect(
            Set(started) == [
                #"docflow_executions_started_total{trigger="event",workflow="wf-1"} 1"#,
                #"docflow_executions_started_total{trigger="event",workflow="other"} 1"#,
            ])
        #expect(
            exposition.samples.contains(
                #"docflow_steps_total{type="transform",status="completed",workflow="wf-1"} 1"#))
        #expect(
            exposition.samples.contains {
                $0.hasPrefix(#"docflow_step_duration_seconds_count{type="integration",workflow="other"}"#)
            })
    }
}
