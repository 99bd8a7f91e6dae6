import CRabbitMQ
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Publishing: confirmed publishes are encoded by `FrameEncoder` and written in one go; their
/// confirms are kept by `PublishConfirms`.
extension ConnectionLoop {
    func publish(_ message: AMQPMessage, channel number: UInt16, completion: @escaping Completion<Void>) {
        if stopping || closedChannels.contains(number) { return completion(.failure(AMQPError.closed)) }
        let state = channel(number)
        if state.confirmMode {
            // While disconnected it waits in `confirms` and goes out when the channel reopens.
            let sendNow = connection != nil && state.isOpen
            state.confirms.add(message, token: completion, sendNow: sendNow)
            if sendNow { send(message, on: state) }
            return
        }
        whenConnected { [self] in
            if !state.isOpen { openChannel(state, withConsumers: true) }
            guard let connection, state.isOpen else { return completion(.failure(AMQPError.closed)) }
            let status = basicPublish(message, connection: connection, channel: number)
            if status != AMQP_STATUS_OK.rawValue {
                connectionLost(.library(status))
                return completion(.failure(AMQPError.library(status)))
            }
            completion(.success(()))
        }
    }

    /// Queues a confirmed publish's frames; the caller writes them (`flushFrames`) before
    /// anything else is sent.
    func send(_ message: AMQPMessage, on state: ChannelState) {
        guard let connection else { return }
        let frameMax = Int(amqp_get_frame_max(connection))
        if !frames.appendPublish(message, channel: state.number, frameMax: frameMax) {
            // Properties too big for one frame: rabbitmq-c's own way, which fails the same.
            flushFrames()
            guard let connection = self.connection else { return }
            let status = basicPublish(message, connection: connection, channel: state.number)
            if status != AMQP_STATUS_OK.rawValue { connectionLost(.library(status)) }
        }
    }

    /// Writes the frames `send(_:on:)` queued, waiting for room in the socket as rabbitmq-c does
    /// (up to the RPC timeout). A failure drops the connection; unconfirmed publishes go out again
    /// on the next one.
    func flushFrames() {
        guard !frames.isEmpty else { return }
        defer { frames.removeAll() }
        guard let connection else { return }
        let fd = amqp_get_sockfd(connection)
        var written = 0
        let deadline = ContinuousClock.now.advanced(by: configuration.rpcTimeout)
        while written < frames.bytes.count {
            let n = frames.bytes.withUnsafeBytes { buffer in
                Glibc.send(fd, buffer.baseAddress.map { $0 + written }, buffer.count - written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                written += n
            } else if n < 0, errno == EINTR {
                continue
            } else if n < 0, errno == EAGAIN || errno == EWOULDBLOCK, ContinuousClock.now < deadline {
                var writable = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&writable, 1, 100)
                // A broker that stopped reading may have stopped altogether.
                checkHeartbeat(canSend: false)
                if self.connection == nil { return }
            } else {
                return connectionLost(.library(AMQP_STATUS_SOCKET_ERROR.rawValue))
            }
        }
    }

    func basicPublish(_ message: AMQPMessage, connection: amqp_connection_state_t, channel: UInt16) -> Int32 {
        let arena = CArena()
        var properties = message.properties.cValue(in: arena)
        return message.body.withUnsafeBytes { body in
            amqp_basic_publish(
                connection, channel, arena.bytes(message.exchange), arena.bytes(message.routingKey),
                message.mandatory ? 1 : 0, 0, &properties,
                amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
        }
    }

    /// `basic.ack` or `basic.nack` for publishes on a channel in confirm mode.
    func confirmed(channel number: UInt16, tag: UInt64, multiple: Bool, nacked: Bool) {
        guard let state = channels[number] else { return }
        state.confirms.confirmed(tag: tag, multiple: multiple, nacked: nacked, into: &outcomes)
        completeSettled()
    }

    /// Calls the completions of the publishes settled into `outcomes`, then empties it for reuse.
    func completeSettled() {
        guard !outcomes.isEmpty else { return }
        for outcome in outcomes {
            if let error = outcome.error {
                outcome.token(.failure(error))
            } else {
                outcome.token(.success(()))
            }
        }
        outcomes.removeAll(keepingCapacity: true)
    }
}
