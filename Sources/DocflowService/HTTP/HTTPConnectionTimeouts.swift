import NIOCore

/// When a connection on the HTTP port has waited too long, as a value that takes the events of
/// one connection and returns what to do with its timer.
///
/// A request must arrive whole (head and body) within the read timeout of its first byte; a new
/// connection's first request within the read timeout of the connection. Between requests a
/// kept-alive connection may wait the idle timeout. While every request that arrived is being
/// answered nothing is timed: a slow answer is the server's, not the client's.
package struct HTTPConnectionTimeouts: Sendable {
    package enum Phase: Equatable, Sendable {
        /// No request in progress; closed at the deadline.
        case idle(until: NIODeadline)
        /// A request has begun and has not fully arrived; closed at the deadline.
        case reading(until: NIODeadline)
        /// Every request that arrived is being answered.
        case answering
    }

    package enum Action: Equatable, Sendable {
        /// Arm the one timer for this deadline, replacing any other.
        case schedule(NIODeadline)
        case cancelTimer
        case close
        case nothing
    }

    package let readTimeout: TimeAmount
    package let idleTimeout: TimeAmount
    package private(set) var phase: Phase
    /// Requests whose head arrived and whose response has not ended.
    private var unanswered = 0
    /// A request whose head arrived and whose end has not.
    private var requestOpen = false

    /// A connection accepted `now`: its first request is due within the read timeout.
    package init(readTimeout: TimeAmount, idleTimeout: TimeAmount, now: NIODeadline) {
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        phase = .reading(until: now + readTimeout)
    }

    /// The deadline to arm when the connection starts.
    package var deadline: NIODeadline? {
        switch phase {
        case .idle(let until), .reading(let until): until
        case .answering: nil
        }
    }

    /// Bytes arrived, whether or not they make a whole request head yet.
    package mutating func bytesArrived(now: NIODeadline) -> Action {
        guard case .idle = phase else { return .nothing }
        phase = .reading(until: now + readTimeout)
        return .schedule(now + readTimeout)
    }

    package mutating func headRead(now: NIODeadline) -> Action {
        unanswered += 1
        requestOpen = true
        return bytesArrived(now: now)
    }

    package mutating func endRead(now: NIODeadline) -> Action {
        requestOpen = false
        guard case .reading = phase else { return .nothing }
        if unanswered > 0 {
            phase = .answering
            return .cancelTimer
        }
        // The rest of a body read after its answer (a 413) was sent.
        phase = .idle(until: now + idleTimeout)
        return .schedule(now + idleTimeout)
    }

    package mutating func responseEnded(now: NIODeadline) -> Action {
        unanswered = max(0, unanswered - 1)
        if requestOpen {
            // Answered before its body arrived (413), or a pipelined request: read on its deadline.
            if case .reading = phase { return .nothing }
            phase = .reading(until: now + readTimeout)
            return .schedule(now + readTimeout)
        }
        if unanswered > 0 {
            phase = .answering
            return .cancelTimer
        }
        phase = .idle(until: now + idleTimeout)
        return .schedule(now + idleTimeout)
    }

    package func timerFired(now: NIODeadline) -> Action {
        switch phase {
        case .idle(let until), .reading(let until): now >= until ? .close : .schedule(until)
        case .answering: .nothing
        }
    }
}
