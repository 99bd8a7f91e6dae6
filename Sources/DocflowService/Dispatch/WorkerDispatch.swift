import DocflowClient
import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation

/// The engine's side of `--dispatch`: turns an attempt of a `parse`, `extract` or `integration`
/// step into a task on `<prefix>.tasks.<type>`, carrying what the step needs (its integration
/// with secrets, its schema, the execution context and the parsed document) so that a worker
/// needs no database.
struct WorkerDispatch: TaskDispatch {
    let types: Set<StepType>
    let names: Names
    let store: Store
    /// The largest task, in bytes; the same limit as every other message of docflow's.
    let maxMessageBytes: Int
    let pending = PendingTasks()

    func dispatches(_ type: StepType) -> Bool { types.contains(type) }

    func task(for step: StepDefinition, context: StepContext) async throws(StepError) -> (StepTask, OutboxMessage) {
        let now = Date()
        let remaining = context.deadline - ContinuousClock.now
        var task = StepTask(
            executionID: context.executionID, workflowID: context.workflowID, stepID: step.id,
            attempt: context.attempt, type: step.type, config: step.config,
            timeoutMs: Int(context.timeout.milliseconds),
            deadlineMs: Int64((now.timeIntervalSince1970 + remaining.seconds) * 1000),
            context: context.json, latestOutput: context.latestOutput, parsedDocument: context.parsedDocument)
        switch step.type {
        case .integration:
            // A missing id is the worker's to report, as the engine would.
            if let id = step.config["integration_id"]?.stringValue, !id.isEmpty {
                do {
                    task.integration = try await store.read { db in try IntegrationRepository.fetch(db, id: id) }
                } catch {
                    throw StepError("cannot read integration \(id): \(error)")
                }
                guard task.integration != nil else {
                    throw StepError("integration \(id) does not exist", retryable: false)
                }
            }
        case .extract:
            if let id = step.config["schema_id"]?.stringValue {
                do {
                    task.schema = BuiltInSchemas.schema(id)
                    if task.schema == nil {
                        task.schema = try await store.read { db in try SchemaRepository.fetch(db, id: id) }
                    }
                } catch {
                    throw StepError("cannot read schema \(id): \(error)")
                }
                guard task.schema != nil else { throw StepError("schema \(id) does not exist", retryable: false) }
            }
        case .parse, .transform, .condition:
            break
        }
        let body = task.json().encoded()
        guard body.count <= maxMessageBytes else {
            throw StepError(
                "the task of step \(step.id) is \(body.count) bytes, more than a message may be (--max-message-bytes "
                    + "\(maxMessageBytes)): run \(step.type.rawValue) steps in the engine (leave the type out of --dispatch)",
                retryable: false)
        }
        let message = OutboxMessage(
            event: "docflow.task", workflowID: task.workflowID, executionID: task.executionID, messageID: task.id,
            body: body, createdAt: now.timeIntervalSince1970, queue: names.taskQueue(step.type.rawValue),
            expiresAt: Double(task.deadlineMs) / 1000)
        return (task, message)
    }
}

extension Duration {
    /// In seconds, fractions included.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
