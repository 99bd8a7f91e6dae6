import DocflowCore
import Foundation

/// Runs one type of step. The engine owns retries, timeouts, threads, logging and events; an
/// executor only turns a step's config and context into an output or an error. How the engine
/// treats the steps of a type (thread, side effects, deadline) is the type's
/// `StepType.capabilities`, not the executor's to say.
package protocol StepExecutor: Sendable {
    /// The retry policy of steps of this type that set none.
    var defaultRetry: RetryPolicy { get }

    func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult
}

extension StepExecutor {
    package var defaultRetry: RetryPolicy { .none }
}

/// What a step sees when it runs.
package struct StepContext: Sendable {
    /// The execution context of contract section 6.
    package let json: JSONValue
    package let executionID: String
    package let workflowID: String
    package let stepID: String
    package let attempt: Int
    /// The step's `timeout_ms`.
    package let timeout: Duration
    /// When the step's `timeout_ms` runs out.
    package let deadline: ContinuousClock.Instant
    /// The output of the step that completed last, if any.
    package let latestOutput: JSONValue?
    /// The output of the latest completed `parse` step, if any.
    package let parsedDocument: JSONValue?

    package init(
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
    package var remaining: Duration {
        max(deadline - ContinuousClock.now, .milliseconds(1))
    }
}

/// A step's output, and where control goes next when the step decides (a condition's branch).
package struct StepResult: Sendable {
    package var output: JSONValue
    package var next: StepTarget?

    package init(output: JSONValue, next: StepTarget? = nil) {
        self.output = output
        self.next = next
    }
}

/// Why a step failed, in a sentence for the execution log.
package struct StepError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    /// Whether another attempt may succeed (network trouble, 5xx) under the step's retry policy.
    package var retryable: Bool
    /// Details for the log, such as an HTTP status and body excerpt.
    package var output: JSONValue?
    /// How long the other side asked us to wait before trying again (`Retry-After`).
    package var retryAfter: Duration?
    /// docflow itself lacked a resource (descriptors, a helper process): the engine tries again a
    /// few times, shortly, whatever the step's retry policy says.
    package var transient: Bool

    package init(_ message: String, retryable: Bool = true, output: JSONValue? = nil, transient: Bool = false) {
        self.message = message
        self.retryable = retryable || transient
        self.output = output
        self.transient = transient
    }

    package var description: String { message }
}

/// The executor of each step type.
package struct StepExecutors: Sendable {
    private var executors: [StepType: any StepExecutor] = [:]

    package init() {}

    package mutating func register(_ type: StepType, _ executor: any StepExecutor) {
        executors[type] = executor
    }

    package subscript(_ type: StepType) -> (any StepExecutor)? {
        executors[type]
    }
}

/// Fails steps of a type this build of docflow cannot run yet, saying so.
package struct UnavailableStep: StepExecutor {
    package let type: StepType

    package init(_ type: StepType) {
        self.type = type
    }

    package func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
        throw StepError("\(type.rawValue) steps are not available in this version of docflow", retryable: false)
    }
}
