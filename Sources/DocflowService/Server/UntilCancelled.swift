/// Runs `operation` in a task of its own and returns its result, unless the calling task is
/// cancelled first: then this throws `CancellationError` at once and leaves the operation to
/// finish in the background (the process is ending; nothing waits for it).
/// - Parameter cancelling: whether to cancel the operation too. Not for an operation that would
///   spin when cancelled (`Engine.stop` polls with `Task.sleep`).
func untilCancelled<T: Sendable>(
    cancelling: Bool = true, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    // A task of its own, not a child: a child would be awaited on the way out.
    let task = Task { try await operation() }
    let outcome = Outcome<T>()
    Task { outcome.resolve(await task.result) }
    return try await withTaskCancellationHandler {
        try await outcome.value()
    } onCancel: {
        if cancelling { task.cancel() }
    }
}
