import DocflowCore
import Foundation

/// Runs one type of step. The engine owns retries, timeouts, threads, logging and events; an
/// executor only turns a step's config and context into an output or an error. How the engine
/// treats the steps of a type (thread, side effects, deadline) is the type's
/// `StepType.capabilities`, not the executor's to say.
public protocol StepExecutor: Sendable {
    /// The retry policy of steps of this type that set none.
    var defaultRetry: RetryPolicy { get }

    func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult
}

extension StepExecutor {
    public var defaultRetry: RetryPolicy { .none }
}

/// What a step sees when it runs.
public struct StepContext: Sendable {
    /// The execution context of contract section 6.
    public let json: JSONValue
    public let executionID: String
    public let workflowID: String
    public let stepID: String
    public let attempt: Int
    /// The step's `timeout_ms`.
    public let timeout: Duration
    /// When the step's `timeout_ms` runs out.
    public let deadline: ContinuousClock.Instant
    /// The output of the step that completed last, if any.
    public let latestOutput: JSONValue?
    /// The output of the latest completed `parse` step, if any.
    public let parsedDocument: JSONValue?

    public init(
        json: JSONValue, executionID: String, workflowID: String, stepID: String, attempt: Int, timeout: Duration,
        deadline: ContinuousClock.Instant, latestOutput: JSONValue? = nil, parsedDocument: JSONValue? = nil
    ) {
        self.parsedDocument = parsedDocument
        self.timeout = timeout
        self.latestOutput = latestOutput
        self.json = json
        self.executionID = executionID
        self.workflowID = workflowID
        self.stepID = stepID
        self.attempt = attempt
        self.deadline = deadline
    }

    /// Time left before the deadline, at least a millisecond.
    public var remaining: Duration {
        max(deadline - ContinuousClock.now, .milliseconds(1))
    }
}

/// A step's output, and where control goes next when the step decides (a condition's branch).
public struct StepResult: Sendable {
    public var output: JSONValue
    public var next: StepTarget?

    public init(output: JSONValue, next: StepTarget? = nil) {
        self.output = output
        self.next = next
    }
}

/// Why a step failed, in a sentence for the execution log.
public struct StepError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// Whether another attempt may succeed (network trouble, 5xx) under the step's retry policy.
    public var retryable: Bool
    /// Details for the log, such as an HTTP status and body excerpt.
    public var output: JSONValue?
    /// How long the other side asked us to wait before trying again (`Retry-After`).
    public var retryAfter: Duration?

    public init(_ message: String, retryable: Bool = true, output: JSONValue? = nil) {
        self.message = message
        self.retryable = retryable
        self.output = output
    }

    public var description: String { message }
}

/// The executor of each step type.
public struct StepExecutors: Sendable {
    private var executors: [StepType: any StepExecutor] = [:]

    public init() {}

    public mutating func register(_ type: StepType, _ executor: any StepExecutor) {
        executors[type] = executor
    }

    public subscript(_ type: StepType) -> (any StepExecutor)? {
        executors[type]
    }
}

/// Fails steps of a type this build of docflow cannot run yet, saying so.
public struct UnavailableStep: StepExecutor {
    public let type: StepType

    public init(_ type: StepType) {
        self.type = type
    }

    public func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
        throw StepError("\(type.rawValue) steps are not available in this version of docflow", retryable: false)
    }
}
