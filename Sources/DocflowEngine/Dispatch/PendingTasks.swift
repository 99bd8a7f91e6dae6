import DocflowCore
import Synchronization

/// The attempts waiting for a worker's result, by task id. A result is applied only to the
/// attempt that is pending under its id; the first one wins, and a result for an attempt that
/// is not pending (it timed out, was cancelled, or was answered before) is refused, for the
/// caller to log and drop. No broker here: unit tests drive it directly.
package final class PendingTasks: Sendable {
    /// What came back for a task.
    package struct Arrival: Sendable {
        package var result: StepTaskResult
        /// Called once the result's effect is committed (the consumer acks its message then).
        package var settle: @Sendable () -> Void

        package init(result: StepTaskResult, settle: @escaping @Sendable () -> Void) {
            self.result = result
            self.settle = settle
        }
    }

    private enum Entry {
        /// Registered, nobody waits yet; a result that comes this early is kept.
        case registered(Arrival?)
        case waiting(CheckedContinuation<Arrival?, Never>)
    }

    private let entries = Mutex<[String: Entry]>([:])

    package init() {}

    /// How many attempts wait for a result.
    package var count: Int { entries.withLock { $0.count } }

    /// Makes `id` pending, before its task can reach a worker.
    package func register(_ id: String) {
        entries.withLock { $0[id] = .registered(nil) }
    }

    /// Stops waiting for `id`: a result that comes later is refused.
    package func forget(_ id: String) {
        let entry = entries.withLock { $0.removeValue(forKey: id) }
        if case .waiting(let continuation) = entry { continuation.resume(returning: nil) }
    }

    /// Hands a result to the attempt pending under its task id; false when none is (the caller
    /// logs and drops it).
    package func deliver(_ arrival: Arrival) -> Bool {
        let id = arrival.result.taskID
        let waiter = entries.withLock { entries -> CheckedContinuation<Arrival?, Never>?? in
            switch entries[id] {
            case nil, .registered(.some)?:
                return nil
            case .registered(nil)?:
                entries[id] = .registered(arrival)
                return .some(nil)
            case .waiting(let continuation)?:
                entries[id] = nil
                return .some(continuation)
            }
        }
        guard let waiter else { return false }
        waiter?.resume(returning: arrival)
        return true
    }

    /// Waits for the result of `id` until `deadline`; nil when the deadline passed or the task
    /// was cancelled first. Either way `id` is no longer pending after this returns.
    package func wait(for id: String, until deadline: ContinuousClock.Instant) async -> Arrival? {
        let timer = Task {
            guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return }
            forget(id)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Arrival?, Never>) in
                let early = entries.withLock { entries -> Arrival?? in
                    switch entries[id] {
                    case .registered(let arrival?)?:
                        entries[id] = nil
                        return .some(arrival)
                    case .registered(nil)?:
                        entries[id] = .waiting(continuation)
                        return nil
                    case nil, .waiting?:
                        // Forgotten already: the deadline passed or the task was cancelled.
                        return .some(nil)
                    }
                }
                if let early { continuation.resume(returning: early) }
            }
        } onCancel: {
            forget(id)
        }
    }
}
