import Foundation

public enum ExecutionStatus: String, Sendable, Codable, CaseIterable {
    case running, completed, failed, cancelled

    public var isFinished: Bool { self != .running }
}

public enum StepStatus: String, Sendable, Codable, CaseIterable {
    case running, completed, failed, skipped
}

/// One run of a workflow: what started it, the definition it runs, and its step log.
public struct Execution: Sendable, Equatable {
    public var id: String
    public var workflowID: String
    public var workflowName: String
    public var status: ExecutionStatus
    public var triggeredBy: TriggerType
    public var triggerData: JSONValue
    /// The definition as it was when the execution started; later edits do not change a run.
    public var definition: WorkflowDefinition
    public var startedAt: Date
    public var completedAt: Date?
    public var error: String?
    /// The steps that ran or were skipped, in the order that happened.
    public var log: [StepRun]
    /// The runs before this one, oldest first: one per retry, each as it ended.
    public var previousRuns: [ExecutionRun] = []
    /// The execution this one reruns, when it was started as a rerun of it.
    public var rerunOf: String?

    public init(
        id: String = TimeOrderedID.make(), workflow: Workflow, triggeredBy: TriggerType,
        triggerData: JSONValue, startedAt: Date = Date()
    ) {
        self.id = id
        self.workflowID = workflow.id
        self.workflowName = workflow.name
        self.status = .running
        self.triggeredBy = triggeredBy
        self.triggerData = triggerData
        self.definition = workflow.definition
        self.startedAt = startedAt
        self.completedAt = nil
        self.error = nil
        self.log = []
    }

    public init(
        id: String, workflowID: String, workflowName: String, status: ExecutionStatus, triggeredBy: TriggerType,
        triggerData: JSONValue, definition: WorkflowDefinition, startedAt: Date, completedAt: Date?, error: String?,
        log: [StepRun], previousRuns: [ExecutionRun] = [], rerunOf: String? = nil
    ) {
        self.id = id
        self.workflowID = workflowID
        self.workflowName = workflowName
        self.status = status
        self.triggeredBy = triggeredBy
        self.triggerData = triggerData
        self.definition = definition
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.error = error
        self.log = log
        self.previousRuns = previousRuns
        self.rerunOf = rerunOf
    }

    public func run(of stepID: String) -> StepRun? {
        log.last { $0.stepID == stepID }
    }
}

/// A step's entry in the execution log.
public struct StepRun: Sendable, Equatable {
    public var stepID: String
    public var type: StepType
    public var status: StepStatus
    public var attempts: Int
    public var startedAt: Date?
    public var completedAt: Date?
    public var durationMs: Int?
    /// For a step run by a `docflow worker`: how long its task waited in the queue, apart from
    /// `durationMs`, the time the worker ran it. nil for a step run by the engine.
    public var queuedMs: Int?
    public var output: JSONValue?
    public var error: String?
    /// Where control went after this step (a condition's branch, a `next`); nil when it did not finish.
    public var next: StepTarget?

    public init(
        stepID: String, type: StepType, status: StepStatus, attempts: Int = 0, startedAt: Date? = nil,
        completedAt: Date? = nil, durationMs: Int? = nil, output: JSONValue? = nil, error: String? = nil,
        next: StepTarget? = nil
    ) {
        self.stepID = stepID
        self.type = type
        self.status = status
        self.attempts = attempts
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.durationMs = durationMs
        self.output = output
        self.error = error
        self.next = next
    }
}
