import CRabbitMQ
import Foundation
import Logging
import Synchronization

/// The state of one connection, touched only by its thread.
///
/// The loop does the I/O; the bookkeeping is in value types that take events and return what to
/// send: `DeliveryAcks` (ack coalescing), `PublishConfirms` (publisher confirms), `FrameEncoder`
/// (publish frames), `HeartbeatMonitor` (heartbeats). Its jobs live in extensions: `+Connect`
/// (connect, restore, lose), `+RPC` (synchronous commands), `+Publish`, `+Acks`, `+Dispatch`
/// (incoming frames), `+Heartbeat` and `+Errors` (replies to errors).
final class ConnectionLoop {
    typealias Completion<T> = (Result<T, any Error>) -> Void

    let configuration: AMQPConfiguration
    var logger: Logger
    let inbox: Inbox
    let shared: AMQPConnection.Shared
    /// Deliveries refer to it so they can be settled; weak, so dropping the connection closes it.
    weak var owner: AMQPConnection?

    var connection: amqp_connection_state_t?
    var channels: [UInt16: ChannelState] = [:]
    var topology: [TopologyItem] = []
    /// Work that needs the connection up, held while it is down.
    var deferred: [() -> Void] = []
    var channelsToReopen: Set<UInt16> = []
    /// Channels closed by `AMQPChannel.close()`: gone for good, so frames the broker sent on them
    /// before its close-ok (rabbitmq-c holds those back while it waits) find no channel.
    var closedChannels: Set<UInt16> = []
    /// Generations of channels: a new one each time a channel opens (see `DeliveryAcks`).
    var generationCounter: UInt64 = 0
    var stopping = false
    /// Frames of confirmed publishes not yet written (see `flushFrames`).
    var frames = FrameEncoder()
    /// Reused for what the state machines return, so settling allocates nothing per frame.
    var ackActions: [AckAction] = []
    var outcomes: [PublishConfirms<Completion<Void>>.Outcome] = []
    /// Which endpoint to connect to next, and when.
    var schedule: ReconnectSchedule
    /// Heartbeats of the connection up now, if it negotiated them.
    var heartbeat: HeartbeatMonitor?

    init(configuration: AMQPConfiguration, logger: Logger, inbox: Inbox, shared: AMQPConnection.Shared) {
        self.configuration = configuration
        self.logger = logger
        self.logger[metadataKey: "amqp"] = .string(configuration.connectionName)
        self.inbox = inbox
        self.shared = shared
        self.schedule = ReconnectSchedule(
            endpointCount: configuration.endpoints.count, initialBackoff: configuration.initialBackoff,
            maxBackoff: configuration.maxBackoff, now: ContinuousClock.now)
    }

    var isConnected: Bool { connection != nil }

    func run() {
        while !stopping {
            if connection == nil {
                let wait = schedule.next.notBefore - ContinuousClock.now
                if wait > .zero {
                    // Commands that arrive meanwhile run (and wait for the connection if they need it).
                    waitForCommands(timeoutMs: Int32(clamping: wait.milliseconds + 1))
                    runCommands()
                    continue
                }
                let endpoint = configuration.endpoints[schedule.next.endpoint]
                do {
                    try connect(to: endpoint)
                } catch {
                    let failure = error
                    shared.withLock { $0.lastError = failure }
                    let retryIn = schedule.failed(at: ContinuousClock.now)
                    logger.warning(
                        "broker unavailable, retrying",
                        metadata: [
                            "error": "\(failure)", "broker": "\(endpoint.redacted)",
                            "next_broker": "\(configuration.endpoints[schedule.next.endpoint].redacted)",
                            "retry_in": "\(retryIn)",
                        ])
                    runCommands()
                    continue
                }
            }
            runCommands()
            checkHeartbeat()
            if connection != nil { pumpFrames() }
            reopenClosedChannels()
            if connection != nil, !stopping { waitForTraffic() }
        }
        shutdown()
    }

    private func runCommands() {
        let commands = inbox.drain()
        // Corked, the frames of every publish and ack in this round leave in as few TCP segments
        // as fit: rabbitmq-c sends each frame on its own, and the broker reads each segment.
        let corked = commands.count > 1 ? cork(true) : nil
        for command in commands {
            command(self)
            // A command's publishes leave before anything the next one sends.
            flushFrames()
        }
        flushAcks()
        if let corked { _ = cork(false, fd: corked) }
    }

    /// Sets TCP_CORK on the connection's socket; returns the socket.
    func cork(_ on: Bool, fd: Int32? = nil) -> Int32? {
        guard let socket = fd ?? connection.map({ amqp_get_sockfd($0) }), socket >= 0 else { return nil }
        var value: Int32 = on ? 1 : 0
        return setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
            ? socket : nil
    }

    private func waitForCommands(timeoutMs: Int32) {
        var fds = [pollfd(fd: inbox.fd, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 1, timeoutMs)
    }

    private func waitForTraffic() {
        guard let connection else { return }
        if amqp_frames_enqueued(connection) != 0 || amqp_data_in_buffer(connection) != 0 { return }
        // Wakes for the next heartbeat tick, and at least once a second.
        var timeoutMs: Int32 = 1000
        if let heartbeat {
            let untilTick = (heartbeat.nextTick - .now).milliseconds + 1
            timeoutMs = Int32(clamping: max(0, min(untilTick, 1000)))
        }
        var fds = [
            pollfd(fd: amqp_get_sockfd(connection), events: Int16(POLLIN), revents: 0),
            pollfd(fd: inbox.fd, events: Int16(POLLIN), revents: 0),
        ]
        _ = poll(&fds, 2, timeoutMs)
    }

    /// Reads and handles the frames that are already there, without blocking. (rabbitmq-c also
    /// sends heartbeats in there, and may report missed ones, when its own timers say so.)
    private func pumpFrames() {
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        var frame = amqp_frame_t()
        for _ in 0..<1024 {
            guard let connection else { return }
            let status = amqp_simple_wait_frame_noblock(connection, &frame, &zero)
            if status == AMQP_STATUS_TIMEOUT.rawValue { break }
            guard status == AMQP_STATUS_OK.rawValue else {
                return connectionLost(
                    status == AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue ? missedHeartbeats() : .library(status))
            }
            handle(frame)
        }
        if let connection { amqp_maybe_release_buffers(connection) }
    }
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
