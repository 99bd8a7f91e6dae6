import Synchronization

/// Wakes one waiting loop; a signal sent while nobody waits is kept for the next wait.
///
/// `signal` resumes the waiter directly, so a wake-up costs one hop onto the executor; the
/// timeout is a timer task that is cancelled once the signal comes.
public final class WakeSignal: Sendable {
    public init() {}

    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        /// Which wait a timer belongs to, so a late timer never wakes a later wait.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())

    public func signal() {
        state.withLock { Self.wake(&$0) }?.resume()
    }

    /// Takes the waiter, or, when nobody waits yet, leaves the signal for the next wait.
    private static func wake(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        if let waiter = state.waiter {
            state.waiter = nil
            return waiter
        }
        state.pending = true
        return nil
    }

    /// Returns when signalled or after `timeout`, whichever comes first. One waiter at a time.
    public func wait(timeout: Duration) async {
        let generation = state.withLock { state -> UInt64? in
            if state.pending {
                state.pending = false
                return nil
            }
            state.generation &+= 1
            return state.generation
        }
        guard let generation else { return }
        let timer = Task { [self] in
            if (try? await Task.sleep(for: timeout)) != nil { expire(generation) }
        }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }

    /// The timer of wait `generation` ran out; a later wait is not this timer's business.
    private func expire(_ generation: UInt64) {
        state.withLock { $0.generation == generation ? Self.wake(&$0) : nil }?.resume()
    }
}
