import DocflowCore
import DocflowStore

/// Sends the steps of some types to `docflow worker`s instead of running them in the engine.
/// The engine asks for an attempt's task, writes it with the attempt's start (the journal's
/// transaction, relayed like status events) and waits in `pending` for the result.
package protocol TaskDispatch: Sendable {
    /// Whether steps of `type` go to workers.
    func dispatches(_ type: StepType) -> Bool

    /// The task of one attempt, and the message that carries it to its queue, expiring at the
    /// attempt's deadline. Throws when the step cannot be sent (its integration is gone, the task
    /// is larger than a message may be).
    func task(for step: StepDefinition, context: StepContext) async throws(StepError) -> (StepTask, OutboxMessage)

    /// Where results meet the attempts that wait for them.
    var pending: PendingTasks { get }
}
