/// When a connection sends a heartbeat, and when it gives up on a silent broker (AMQP 0-9-1,
/// section 4.2.7: any octet counts as traffic; a peer that hears nothing for two heartbeat
/// intervals closes the connection without the close handshake).
///
/// It takes events (traffic received or sent at an instant, a tick) and returns what to do; the
/// connection's loop does the I/O. It asks for a heartbeat once nothing was sent for half an
/// interval, as RabbitMQ does on its side, so that a late tick never lets the broker's two
/// intervals run out. It declares the broker dead once nothing arrived for two intervals, at the
/// first tick after; ticks come every `tickInterval`, so that happens within two intervals and
/// one `tickInterval` of the last traffic.
struct HeartbeatMonitor: Sendable {
    typealias Instant = ContinuousClock.Instant

    enum Action: Equatable, Sendable {
        /// Nothing went to the broker for half an interval: send a heartbeat frame, then report
        /// it with `sent(at:)`.
        case sendHeartbeat
        /// Nothing came from the broker for `silence`, two intervals or more: close the connection.
        case declareDead(silence: Duration)
    }

    /// The negotiated heartbeat interval.
    let interval: Duration
    private(set) var lastReceived: Instant
    private(set) var lastSent: Instant
    /// When the loop should next call `tick`.
    private(set) var nextTick: Instant
    private var dead = false

    /// A connection that has just come up: the handshake counts as traffic both ways.
    init(interval: Duration, now: Instant) {
        precondition(interval > .zero, "a heartbeat interval of 0 turns heartbeats off; make no monitor")
        self.interval = interval
        lastReceived = now
        lastSent = now
        nextTick = now
    }

    /// How often the loop ticks: a quarter of the interval, and at least twice a second.
    var tickInterval: Duration { min(interval / 4, .milliseconds(500)) }

    /// Traffic from the broker (a frame, a heartbeat, any byte) arrived at `instant`. Instants
    /// older than one already reported change nothing.
    mutating func received(at instant: Instant) {
        lastReceived = max(lastReceived, instant)
    }

    /// Traffic to the broker left at `instant`.
    mutating func sent(at instant: Instant) {
        lastSent = max(lastSent, instant)
    }

    /// What to do at `now`; also sets `nextTick`. Declares the broker dead once, then returns nil.
    mutating func tick(at now: Instant) -> Action? {
        nextTick = now + tickInterval
        guard !dead else { return nil }
        let silence = now - lastReceived
        if silence >= interval * 2 {
            dead = true
            return .declareDead(silence: silence)
        }
        if now - lastSent >= interval / 2 { return .sendHeartbeat }
        return nil
    }
}
