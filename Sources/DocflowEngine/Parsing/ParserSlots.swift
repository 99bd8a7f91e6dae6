import Synchronization

/// Limits how many helpers parse at once; parses wait their turn first come, first served, and a
/// waiting parse whose task is cancelled or whose deadline passes stops waiting.
final class ParserSlots: Sendable {
    enum Admission: Sendable, Equatable {
        case granted
        case cancelled
        case timedOut
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Admission, Never>
    }

    private struct State {
        let permits: Int
        var available: Int
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(_ permits: Int) {
        state = Mutex(State(permits: max(permits, 1), available: max(permits, 1)))
    }

    /// How many slots are taken.
    var taken: Int { state.withLock { $0.permits - $0.available } }

    /// How many parses wait for a slot.
    var waiting: Int { state.withLock { $0.waiting.count } }

    /// A slot, to be given back with `release()` when `granted`.
    func acquire(until deadline: ContinuousClock.Instant) async -> Admission {
        let id = state.withLock { state -> UInt64? in
            guard state.available > 0 else {
                defer { state.nextID += 1 }
                return state.nextID
            }
            state.available -= 1
            return nil
        }
        guard let id else { return .granted }
        let timer = Task {
            guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return }
            self.withdraw(id, .timedOut)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Checked under the lock `withdraw` takes: a cancellation or deadline is seen here
                // or finds the waiter.
                let admission = state.withLock { state -> Admission? in
                    if Task.isCancelled { return .cancelled }
                    if ContinuousClock.now >= deadline { return .timedOut }
                    if state.available > 0 {
                        state.available -= 1
                        return .granted
                    }
                    state.waiting.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let admission { continuation.resume(returning: admission) }
            }
        } onCancel: {
            withdraw(id, .cancelled)
        }
    }

    /// Gives a slot back: to the parse that waited longest, if any.
    func release() {
        let next = state.withLock { state -> Waiter? in
            if state.waiting.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.continuation.resume(returning: .granted)
    }

    private func withdraw(_ id: UInt64, _ admission: Admission) {
        let waiter = state.withLock { state -> Waiter? in
            guard let position = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiting.remove(at: position)
        }
        waiter?.continuation.resume(returning: admission)
    }
}
