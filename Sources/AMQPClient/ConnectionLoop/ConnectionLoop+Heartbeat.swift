import CRabbitMQ
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Heartbeats: `HeartbeatMonitor` decides; this feeds it what the socket saw and does what it says.
///
/// The loop does not leave this to rabbitmq-c. rabbitmq-c notices a silent broker inside its own
/// waits; the loop polls the socket itself and reads with a zero timeout, where noticing is an
/// undocumented detail of the version (0.11, the one built against, did report it there when this
/// monitor was turned off for a test). It also swallows the broker's heartbeat frames, so the loop
/// asks the kernel when data last came and went (`TCP_INFO`): that counts every octet, whoever
/// read it, and a stall of this thread is not taken for the broker's silence.
extension ConnectionLoop {
    /// Starts watching a connection that has just logged in, at the interval it negotiated.
    func startHeartbeats(_ state: amqp_connection_state_t) {
        let seconds = amqp_get_heartbeat(state)
        heartbeat = seconds > 0 ? HeartbeatMonitor(interval: .seconds(seconds), now: .now) : nil
    }

    /// At each round of the loop, and while a write waits for room (`canSend` false): when a tick
    /// is due, tells the monitor about the traffic since the last one and acts on its answer.
    func checkHeartbeat(canSend: Bool = true) {
        guard var monitor = heartbeat, let connection else { return }
        let now = ContinuousClock.now
        guard now >= monitor.nextTick else { return }
        let socket = amqp_get_sockfd(connection)
        if let quiet = Self.quietTimes(socket: socket) {
            monitor.received(at: now - quiet.receiving)
            monitor.sent(at: now - quiet.sending)
        }
        // Unread data counts as news: after a stall of this thread the socket's buffer may be full,
        // and then the broker cannot send more; that is our silence, not the broker's.
        if amqp_data_in_buffer(connection) != 0 || Self.isReadable(socket) { monitor.received(at: now) }
        let action = monitor.tick(at: now)
        heartbeat = monitor
        switch action {
        case .sendHeartbeat where canSend:
            frames.appendHeartbeat()
            flushFrames()
            heartbeat?.sent(at: .now)
        case .declareDead:
            connectionLost(missedHeartbeats())
        case .sendHeartbeat, nil:
            break
        }
    }

    /// The error for a broker that missed its heartbeats, as long as it has been silent.
    func missedHeartbeats() -> AMQPError {
        guard let heartbeat else { return .library(AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue) }
        let error = AMQPError.heartbeatTimeout(
            silence: .now - heartbeat.lastReceived, interval: heartbeat.interval)
        logger.warning(
            "the broker sent nothing for two heartbeat intervals; closing the connection",
            metadata: ["heartbeat": "\(heartbeat.interval)", "error": "\(error)"])
        return error
    }

    /// How long ago the kernel last received and sent data on the socket; nil if it cannot say.
    private static func quietTimes(socket: Int32) -> (receiving: Duration, sending: Duration)? {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard socket >= 0, getsockopt(socket, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return nil }
        return (.milliseconds(info.tcpi_last_data_recv), .milliseconds(info.tcpi_last_data_sent))
    }

    private static func isReadable(_ socket: Int32) -> Bool {
        var fds = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return socket >= 0 && poll(&fds, 1, 0) > 0 && fds.revents & Int16(POLLIN) != 0
    }
}
