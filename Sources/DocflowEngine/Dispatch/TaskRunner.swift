import DocflowCore
import Foundation

/// Runs one task in a worker, as the engine would run the step: under the attempt's deadline (by
/// the executor's own means, or raced against a timer), with the step output's size limit. No
/// broker here: unit tests drive it directly.
package struct TaskRunner: Sendable {
    /// The executor of a task, built for it: an integration step gets the task's integration,
    /// an extract step its schema. nil: this worker does not run the task's type.
    let executor: @Sendable (StepTask) -> (any StepExecutor)?
    let maxStepOutputBytes: Int
    /// Which worker this is (`host:pid`), written into each result.
    let worker: String

    package init(
        maxStepOutputBytes: Int, worker: String, executor: @escaping @Sendable (StepTask) -> (any StepExecutor)?
    ) {
        self.executor = executor
        self.maxStepOutputBytes = maxStepOutputBytes
        self.worker = worker
    }

    package func run(_ task: StepTask, now: Date = Date()) async -> StepTaskResult {
        let begin = ContinuousClock.now
        func answer(_ outcome: Result<JSONValue, StepError>) -> StepTaskResult {
            StepTaskResult(
                taskID: task.id, outcome: outcome, runMs: Int((ContinuousClock.now - begin).milliseconds),
                worker: worker)
        }
        // The engine's deadline, on this machine's clock; never longer than the step's timeout.
        let left = min(Int64(task.timeoutMs), task.deadlineMs - Int64(now.timeIntervalSince1970 * 1000))
        guard left > 0 else {
            return answer(.failure(StepError("the task's deadline had passed when a worker took it")))
        }
        guard let executor = executor(task) else {
            return answer(
                .failure(StepError("this worker does not run \(task.type.rawValue) steps", retryable: false)))
        }
        let remaining = Duration.milliseconds(left)
        let context = StepContext(
            json: task.context, executionID: task.executionID, workflowID: task.workflowID, stepID: task.stepID,
            attempt: task.attempt, timeout: .milliseconds(task.timeoutMs), deadline: begin.advanced(by: remaining),
            latestOutput: task.latestOutput, parsedDocument: task.parsedDocument)
        let step = task.step
        let result: Result<StepResult, StepError>
        if task.type.capabilities.deadline == .executor {
            do throws(StepError) {
                result = .success(try await executor.execute(step, context: context))
            } catch {
                result = .failure(error)
            }
        } else {
            result = await withDeadline(remaining) { () async throws(StepError) -> StepResult in
                try await executor.execute(step, context: context)
            }
        }
        switch result {
        case .success(let stepResult) where stepResult.output.encodesLarger(than: maxStepOutputBytes):
            return answer(
                .failure(
                    StepError(
                        "the step's output is larger than \(maxStepOutputBytes) bytes of JSON, the most a step may "
                            + "produce (--max-step-output-bytes)", retryable: false)))
        case .success(let stepResult):
            return answer(.success(stepResult.output))
        case .failure(var error):
            error.message = MessageLimits.errorText(error.message)
            if let output = error.output, output.encodesLarger(than: maxStepOutputBytes) { error.output = nil }
            return answer(.failure(error))
        }
    }
}
