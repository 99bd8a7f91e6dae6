import Synchronization

/// Limits how many tasks do something at once; waiters get in first come, first served.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>
    private let permits: Int

    public init(_ permits: Int) {
        self.permits = permits
        state = Mutex(State(available: permits))
    }

    /// Permits held now, and tasks waiting for one.
    public var usage: (held: Int, waiting: Int) {
        state.withLock { (permits - $0.available, $0.waiting.count) }
    }

    public func acquire() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

/// A flag that can be set once and read from anywhere.
public final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { value.load(ordering: .acquiring) }
    public func set() { value.store(true, ordering: .releasing) }
    /// Sets the flag; true only for the caller that set it first.
    public func claim() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}
