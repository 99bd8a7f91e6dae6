import Histogram
import Synchronization

/// The events of one phase that are on their way: when each was meant to be sent, and what
/// became of it. Latency is measured from the intended send time, so a late sender cannot hide
/// a slow server (no coordinated omission).
final class Flight: Sendable {
    /// What has happened so far.
    struct Snapshot: Sendable {
        var expected: Int
        var completed: Int
        var failed: Int
        var outstanding: Int
        var latency: Histogram<UInt64>
    }

    private struct State {
        var intended: [String: UInt64] = [:]
        var expected = 0
        var completed = 0
        var failed = 0
        var latency = Flight.emptyHistogram()
    }

    private let state = Mutex(State())
    /// Completion instants, in order, when the phase asked for them (a closed loop does).
    let completions: AsyncStream<UInt64>
    private let continuation: AsyncStream<UInt64>.Continuation?

    init(notifies: Bool) {
        let (stream, continuation) = AsyncStream.makeStream(of: UInt64.self)
        completions = stream
        if notifies {
            self.continuation = continuation
        } else {
            self.continuation = nil
            continuation.finish()
        }
    }

    /// Latency in microseconds, from 1 µs to an hour, three significant digits.
    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Registers an event before it is published.
    func expect(_ eventID: String, intendedAt: UInt64) {
        state.withLock { state in
            state.intended[eventID] = intendedAt
            state.expected += 1
        }
    }

    /// Records the end of an event's execution; unknown ids (another phase's) are ignored.
    func complete(_ eventID: String, at instant: UInt64, failed: Bool) {
        let known = state.withLock { state -> Bool in
            guard let intended = state.intended.removeValue(forKey: eventID) else { return false }
            state.completed += 1
            if failed { state.failed += 1 }
            let micros = instant > intended ? (instant - intended) / 1000 : 0
            _ = state.latency.record(max(micros, 1))
            return true
        }
        if known { continuation?.yield(instant) }
    }

    /// Forgets the latencies recorded so far (the end of a warm-up).
    func resetLatency() {
        state.withLock { $0.latency.reset() }
    }

    /// Ends the completion stream, so a closed loop waiting on it stops.
    func abandon() {
        continuation?.finish()
    }

    var snapshot: Snapshot {
        state.withLock { state in
            Snapshot(
                expected: state.expected, completed: state.completed, failed: state.failed,
                outstanding: state.intended.count, latency: state.latency)
        }
    }

    /// Waits until every expected event completed; false when `timeout` passed first.
    func drain(timeout: Duration) async -> Bool {
        let deadline = Nanos.now() + UInt64(timeout.components.seconds) * 1_000_000_000
        while snapshot.outstanding > 0 {
            if Nanos.now() >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
