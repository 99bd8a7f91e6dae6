/// The bookkeeping of a prefix's lease, without the broker: it takes what happened (the
/// exclusive `<prefix>.owner` was declared, or was locked by another connection; a probe was
/// answered or not; the lease's consumer ended) and says what to do next.
///
/// A locked queue whose holder does not answer may be held by a connection the broker has not
/// yet found dead (a process killed on a host that also lost its network, or this process's own
/// connection from before a reconnect): the broker drops it within two of its heartbeats, so the
/// machine tries again for `grace` before it gives up.
package struct PrefixLeaseStateMachine: Sendable {
    package enum Action: Sendable, Equatable {
        /// Declare the exclusive queue and consume it.
        case declare
        /// Ask whoever holds the queue who they are.
        case probe
        /// Declare again after a pause.
        case declareAfter(Duration)
        /// The lease is ours: serve (or go on serving).
        case hold
        /// Do not start: another process serves the prefix.
        case refuse(OwnerIdentity?)
        /// Stop serving: another process took the prefix over.
        case lose(OwnerIdentity?)
        /// The lease ended with the connection (shutdown): nothing more to do.
        case stop
    }

    private enum State: Sendable {
        case idle
        /// Trying to take the lease; `serving` once it had been ours.
        case acquiring(serving: Bool, lockedSince: ContinuousClock.Instant?)
        case holding
        case done
    }

    package let me: String
    package let grace: Duration
    package let retryPause: Duration
    private var state = State.idle

    /// - Parameter me: this process's `OwnerIdentity.instance`.
    package init(me: String, grace: Duration, retryPause: Duration = .milliseconds(250)) {
        self.me = me
        self.grace = grace
        self.retryPause = retryPause
    }

    package var isHolding: Bool {
        if case .holding = state { return true }
        return false
    }

    package mutating func start() -> Action {
        state = .acquiring(serving: false, lockedSince: nil)
        return .declare
    }

    /// The queue was declared and is consumed: it is ours.
    package mutating func declared() -> Action {
        guard case .acquiring = state else { return .stop }
        state = .holding
        return .hold
    }

    /// Declaring or consuming the queue was refused with RESOURCE_LOCKED.
    package mutating func locked(now: ContinuousClock.Instant) -> Action {
        guard case .acquiring(let serving, let since) = state else { return .stop }
        state = .acquiring(serving: serving, lockedSince: since ?? now)
        return .probe
    }

    /// Whoever holds the queue answered.
    package mutating func answered(by owner: OwnerIdentity, now: ContinuousClock.Instant) -> Action {
        // An answer in our own name is a consumer of ours from before a reconnect: not a rival.
        guard owner.instance != me else { return unanswered(now: now) }
        return giveUp(owner)
    }

    /// The probe got no answer in time, or found no queue (its holder just went away).
    package mutating func unanswered(now: ContinuousClock.Instant) -> Action {
        guard case .acquiring(_, let since) = state else { return .stop }
        if let since, now - since >= grace { return giveUp(nil) }
        return .declareAfter(retryPause)
    }

    /// Declaring or consuming failed for another reason than RESOURCE_LOCKED (the connection
    /// dropped meanwhile): try again; the connection waits for the broker.
    package mutating func failed() -> Action {
        guard case .acquiring = state else { return .stop }
        return .declareAfter(retryPause)
    }

    /// How the lease's consumer ended.
    package enum ConsumerEnd: Sendable, Equatable {
        /// The connection was closed by this process.
        case closed
        /// It could not resume after a reconnect: RESOURCE_LOCKED, someone holds the queue now.
        case locked
        /// Any other way (the broker cancelled it): take the lease again.
        case failed
    }

    /// The lease's consumer ended.
    package mutating func consumerEnded(_ end: ConsumerEnd, now: ContinuousClock.Instant) -> Action {
        guard case .holding = state else { return .stop }
        switch end {
        case .closed:
            state = .done
            return .stop
        case .locked:
            state = .acquiring(serving: true, lockedSince: now)
            return .probe
        case .failed:
            state = .acquiring(serving: true, lockedSince: nil)
            return .declare
        }
    }

    private mutating func giveUp(_ owner: OwnerIdentity?) -> Action {
        guard case .acquiring(let serving, _) = state else { return .stop }
        state = .done
        return serving ? .lose(owner) : .refuse(owner)
    }
}
