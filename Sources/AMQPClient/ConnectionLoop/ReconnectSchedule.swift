/// Which endpoint to connect to next, and when: the bookkeeping of (re)connecting, without I/O.
///
/// Endpoints are tried in turn, starting after the one that failed or dropped the connection
/// last, so a cluster node that went away is not the first one tried again. After a connection
/// that had been up for `stableAfter` is lost, the next attempt is immediate; so is each attempt
/// while some endpoint has not failed since. Once every endpoint failed in a row, the next attempt
/// waits the backoff, which doubles with each such round up to `maxBackoff` and starts over after
/// a stable connection. A connection lost sooner counts as a failure, so a broker that accepts
/// and then drops connections is not hammered.
struct ReconnectSchedule: Sendable {
    typealias Instant = ContinuousClock.Instant

    struct Attempt: Sendable, Equatable {
        /// An index into the configuration's endpoints.
        var endpoint: Int
        var notBefore: Instant
    }

    let endpointCount: Int
    let initialBackoff: Duration
    let maxBackoff: Duration
    let stableAfter: Duration
    /// The attempt to make next; while connected, the endpoint of the connection.
    private(set) var next: Attempt
    private var backoff: Duration
    /// Failed attempts since the last stable connection (or the start).
    private var failuresInARow = 0
    private var connectedAt: Instant?

    init(
        endpointCount: Int, initialBackoff: Duration, maxBackoff: Duration, stableAfter: Duration = .seconds(1),
        now: Instant
    ) {
        precondition(endpointCount > 0, "at least one endpoint")
        self.endpointCount = endpointCount
        self.initialBackoff = initialBackoff
        self.maxBackoff = max(maxBackoff, initialBackoff)
        self.stableAfter = stableAfter
        self.backoff = initialBackoff
        self.next = Attempt(endpoint: 0, notBefore: now)
    }

    /// The attempt at `next.endpoint` succeeded.
    mutating func connected(at now: Instant) {
        connectedAt = now
    }

    /// The attempt at `next.endpoint` failed; returns how long until the next attempt.
    @discardableResult
    mutating func failed(at now: Instant) -> Duration {
        connectedAt = nil
        failuresInARow += 1
        var wait = Duration.zero
        if failuresInARow % endpointCount == 0 {
            wait = backoff
            backoff = min(backoff * 2, maxBackoff)
        }
        next = Attempt(endpoint: (next.endpoint + 1) % endpointCount, notBefore: now + wait)
        return wait
    }

    /// The connection to `next.endpoint` went away; returns how long until the next attempt.
    @discardableResult
    mutating func lost(at now: Instant) -> Duration {
        guard let since = connectedAt, now - since >= stableAfter else { return failed(at: now) }
        connectedAt = nil
        failuresInARow = 0
        backoff = initialBackoff
        next = Attempt(endpoint: (next.endpoint + 1) % endpointCount, notBefore: now)
        return .zero
    }
}
