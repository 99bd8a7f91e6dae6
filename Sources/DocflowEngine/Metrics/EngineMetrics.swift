import CoreMetrics
import DocflowCore
import Synchronization

/// What the engine counts, made through a factory the caller owns (no global metrics system,
/// so several engines in one process keep their own numbers). Execution and step metrics carry a
/// `workflow` label whose values are bounded (`BoundedLabels`); each workflow's handles are made
/// once and kept (`WorkflowMetrics`), so a step costs an increment, never a registry lookup.
package struct EngineMetrics: Sendable {
    package enum Family {
        package static let started = "docflow_executions_started_total"
        package static let completed = "docflow_executions_completed_total"
        package static let failed = "docflow_executions_failed_total"
        package static let cancelled = "docflow_executions_cancelled_total"
        package static let duplicates = "docflow_trigger_duplicates_total"
        package static let steps = "docflow_steps_total"
        package static let stepDuration = "docflow_step_duration_seconds"
    }

    /// The help text of each family the engine makes, for the exporter's `# HELP` lines.
    package static let help: [String: String] = [
        Family.started: "Executions started (committed), by trigger and workflow; duplicates are not counted here.",
        Family.completed: "Executions that completed, by trigger and workflow.",
        Family.failed: "Executions that failed, by trigger and workflow.",
        Family.cancelled: "Executions that were cancelled, by trigger and workflow.",
        Family.duplicates:
            "Trigger deliveries that started nothing: the event id, cron slot, webhook Idempotency-Key or "
            + "signature had started the workflow before (or the workflow was disabled meanwhile).",
        Family.steps: "Steps ended after their last attempt, by type, status (completed, failed) and workflow.",
        Family.stepDuration: "Duration of the last attempt of each step, by type and workflow.",
    ]

    private let factory: any MetricsFactory
    private let workflows: Workflows

    /// - Parameter workflowLabels: how many workflows get a `workflow` label value of their own;
    ///   the rest share `other`.
    package init(factory: any MetricsFactory = NOOPMetricsHandler.instance, workflowLabels: Int = 100) {
        self.factory = factory
        self.workflows = Workflows(limit: workflowLabels)
    }

    /// The handles of one workflow's executions and steps: a lock and a dictionary lookup, so
    /// fetch it once per execution.
    package func workflow(_ workflowID: String) -> WorkflowMetrics {
        workflows.metrics(for: workflowID, factory: factory)
    }

    /// How many workflows have a `workflow` label value of their own so far.
    package var labelledWorkflows: Int { workflows.count }

    private final class Workflows: Sendable {
        private let labels: Mutex<BoundedLabels<WorkflowMetrics>>

        init(limit: Int) {
            labels = Mutex(BoundedLabels(limit: limit))
        }

        var count: Int { labels.withLock { $0.count } }

        func metrics(for workflowID: String, factory: any MetricsFactory) -> WorkflowMetrics {
            labels.withLock { labels in
                labels.value(for: workflowID) { WorkflowMetrics(label: $0, factory: factory) }
            }
        }
    }
}
