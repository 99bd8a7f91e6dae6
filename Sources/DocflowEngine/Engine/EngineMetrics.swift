import CoreMetrics
import DocflowCore

/// What the engine counts, made through a factory the caller owns (no global metrics system,
/// so several engines in one process keep their own numbers).
package struct EngineMetrics: Sendable {
    private let factory: any MetricsFactory

    package init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
    }

    func executionStarted(_ trigger: TriggerType) {
        Counter(
            label: "docflow_executions_started_total", dimensions: [("trigger", trigger.rawValue)], factory: factory
        )
        .increment()
    }

    func executionFinished(_ status: ExecutionStatus, _ trigger: TriggerType) {
        Counter(
            label: "docflow_executions_\(status.rawValue)_total", dimensions: [("trigger", trigger.rawValue)],
            factory: factory
        ).increment()
    }

    func stepFinished(_ type: StepType, status: StepStatus, duration: Duration) {
        Timer(label: "docflow_step_duration_seconds", dimensions: [("type", type.rawValue)], factory: factory)
            .recordNanoseconds(
                duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        Counter(
            label: "docflow_steps_total", dimensions: [("type", type.rawValue), ("status", status.rawValue)],
            factory: factory
        ).increment()
    }
}
