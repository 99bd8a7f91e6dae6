import CoreMetrics
import DocflowCore
import Synchronization

/// The execution and step metrics of one `workflow` label value. Each handle is made the first
/// time it is used (a workflow that never fails exports no failure series) and kept: counting
/// costs a short lock and an array index.
package final class WorkflowMetrics: Sendable {
    /// The `workflow` label value: the workflow's id, or `other`.
    package let label: String
    private let factory: any MetricsFactory
    private let handles: Mutex<Handles>

    private struct Handles {
        /// By `Outcome` then trigger.
        var executions: [(any CounterHandler)?] = Array(repeating: nil, count: Outcome.count * TriggerType.count)
        /// By step type then status (completed, failed).
        var steps: [(any CounterHandler)?] = Array(repeating: nil, count: StepType.count * 2)
        var durations: [(any TimerHandler)?] = Array(repeating: nil, count: StepType.count)
    }

    private enum Outcome: Int {
        case started, completed, failed, cancelled, duplicate
        static let count = 5

        var family: String {
            switch self {
            case .started: EngineMetrics.Family.started
            case .completed: EngineMetrics.Family.completed
            case .failed: EngineMetrics.Family.failed
            case .cancelled: EngineMetrics.Family.cancelled
            case .duplicate: EngineMetrics.Family.duplicates
            }
        }
    }

    init(label: String, factory: any MetricsFactory) {
        self.label = label
        self.factory = factory
        self.handles = Mutex(Handles())
    }

    /// An execution's start was committed.
    package func started(_ trigger: TriggerType) {
        counter(.started, trigger).increment(by: 1)
    }

    /// A trigger's start was refused: its claim was taken before (a duplicate event, cron slot or
    /// webhook), or the workflow was disabled meanwhile.
    package func duplicate(_ trigger: TriggerType) {
        counter(.duplicate, trigger).increment(by: 1)
    }

    package func executionFinished(_ status: ExecutionStatus, _ trigger: TriggerType) {
        let outcome: Outcome
        switch status {
        case .completed: outcome = .completed
        case .failed: outcome = .failed
        case .cancelled: outcome = .cancelled
        case .running: return
        }
        counter(outcome, trigger).increment(by: 1)
    }

    /// A step ended after its last attempt (`completed` or `failed`; other statuses are not counted).
    package func stepFinished(_ type: StepType, status: StepStatus, duration: Duration) {
        let column: Int
        switch status {
        case .completed: column = 0
        case .failed: column = 1
        case .running, .skipped: return
        }
        let (count, timer) = handles.withLock { handles in
            let index = type.ordinal * 2 + column
            let count =
                handles.steps[index]
                ?? factory.makeCounter(
                    label: EngineMetrics.Family.steps,
                    dimensions: [("type", type.rawValue), ("status", status.rawValue), ("workflow", label)])
            handles.steps[index] = count
            let timer =
                handles.durations[type.ordinal]
                ?? factory.makeTimer(
                    label: EngineMetrics.Family.stepDuration,
                    dimensions: [("type", type.rawValue), ("workflow", label)])
            handles.durations[type.ordinal] = timer
            return (count, timer)
        }
        timer.recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        count.increment(by: 1)
    }

    private func counter(_ outcome: Outcome, _ trigger: TriggerType) -> any CounterHandler {
        handles.withLock { handles in
            let index = outcome.rawValue * TriggerType.count + trigger.ordinal
            if let counter = handles.executions[index] { return counter }
            let counter = factory.makeCounter(
                label: outcome.family, dimensions: [("trigger", trigger.rawValue), ("workflow", label)])
            handles.executions[index] = counter
            return counter
        }
    }
}

// Switches rather than `allCases.firstIndex`: no array is made per count.
extension TriggerType {
    fileprivate static let count = 4

    fileprivate var ordinal: Int {
        switch self {
        case .manual: 0
        case .scheduled: 1
        case .webhook: 2
        case .event: 3
        }
    }
}

extension StepType {
    fileprivate static let count = 5

    fileprivate var ordinal: Int {
        switch self {
        case .parse: 0
        case .extract: 1
        case .transform: 2
        case .condition: 3
        case .integration: 4
        }
    }
}
