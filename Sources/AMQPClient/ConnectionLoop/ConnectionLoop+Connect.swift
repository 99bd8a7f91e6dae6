import CRabbitMQ
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension ConnectionLoop {
    // MARK: Connecting

    /// Connects to `endpoint`, then declares, opens and consumes again what it had before.
    func connect(to endpoint: AMQPEndpoint) throws(AMQPError) {
        guard let state = amqp_new_connection() else { throw .connectionFailed("out of memory") }
        guard let socket = amqp_tcp_socket_new(state) else {
            amqp_destroy_connection(state)
            throw .connectionFailed("cannot create a socket")
        }
        var connectTimeout = timeval(configuration.connectTimeout)
        let opened = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &connectTimeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            amqp_destroy_connection(state)
            throw .connectionFailed(
                "cannot reach \(endpoint.host):\(endpoint.port): \(String(cString: amqp_error_string2(opened)))"
            )
        }
        var rpcTimeout = timeval(configuration.rpcTimeout)
        amqp_set_rpc_timeout(state, &rpcTimeout)
        amqp_set_handshake_timeout(state, &connectTimeout)
        let arena = CArena()
        var properties = arena.table([
            "connection_name": .string(configuration.connectionName),
            "product": "docflow AMQPClient",
        ])
        let reply = docflow_amqp_login_plain(
            state, endpoint.virtualHost, 0, 131072, Int32(configuration.heartbeat), &properties,
            endpoint.username, endpoint.password)
        if let error = Self.error(of: reply) {
            amqp_destroy_connection(state)
            if case .library = error {
                throw .connectionFailed("login to \(endpoint.redacted) failed: \(error)")
            }
            throw error
        }
        connection = state
        schedule.connected(at: ContinuousClock.now)
        startHeartbeats(state)
        let serverProperties = amqp_get_server_properties(state)?.pointee.swiftValue ?? [:]
        let connects = shared.withLock { shared in
            shared.connected = true
            shared.lastError = nil
            shared.connects += 1
            shared.endpoint = endpoint
            shared.serverProperties = serverProperties
            return shared.connects
        }
        var metadata: Logger.Metadata = ["broker": "\(endpoint.redacted)", "connects": "\(connects)"]
        if case .string(let node) = serverProperties["cluster_name"] { metadata["cluster"] = "\(node)" }
        if case .string(let version) = serverProperties["version"] { metadata["broker_version"] = "\(version)" }
        logger.info(connects == 1 ? "connected to broker" : "reconnected to broker", metadata: metadata)
        restore()
    }

    /// After a (re)connect: open channels, declare the topology, then consumers and publishes.
    private func restore() {
        for number in channels.keys.sorted() {
            guard connection != nil else { return }
            if let state = channels[number] { openChannel(state, withConsumers: false) }
        }
        if let first = channels.keys.min(), connection != nil {
            for item in topology {
                guard connection != nil else { return }
                if case .failure(let error) = declareNow(item, channel: first) {
                    logger.error(
                        "could not declare again after reconnect", metadata: ["item": "\(item)", "error": "\(error)"])
                    reopenClosedChannels()
                }
            }
        }
        for number in channels.keys.sorted() {
            guard connection != nil, let state = channels[number] else { return }
            restoreConsumers(state)
            resendPending(state)
        }
        let work = deferred
        deferred.removeAll()
        for item in work {
            item()
        }
    }

    /// Opens a channel on the wire and gives it back its settings; with `withConsumers`, also its
    /// consumers and then its unconfirmed publishes (consumers first: a direct reply-to request
    /// may only be published once its reply consumer exists).
    func openChannel(_ state: ChannelState, withConsumers: Bool) {
        guard let connection else { return }
        _ = cork(false)  // the broker must see the request to answer it
        guard amqp_channel_open(connection, state.number) != nil else {
            _ = check(amqp_get_rpc_reply(connection), channel: state.number)
            return
        }
        generationCounter += 1
        state.acks.opened(generation: generationCounter)
        state.isOpen = true
        if let prefetch = state.prefetch {
            if amqp_basic_qos(connection, state.number, 0, prefetch, 0) == nil {
                _ = check(amqp_get_rpc_reply(connection), channel: state.number)
                return
            }
        }
        if state.confirmMode {
            if amqp_confirm_select(connection, state.number) == nil {
                _ = check(amqp_get_rpc_reply(connection), channel: state.number)
                return
            }
            state.confirms.confirmSelected()
        }
        if withConsumers {
            restoreConsumers(state)
            resendPending(state)
        }
    }

    /// Sends again, in order and with new tags, every publish not confirmed yet.
    private func resendPending(_ state: ChannelState) {
        guard state.confirmMode, connection != nil, state.isOpen else { return }
        state.confirms.resendAll()
        for publish in state.confirms.pending {
            guard connection != nil, state.isOpen else { return }
            send(publish.message, on: state)
        }
        flushFrames()
    }

    private func restoreConsumers(_ state: ChannelState) {
        for tag in state.consumerOrder {
            guard connection != nil, state.isOpen, let consumer = state.consumers[tag] else { return }
            if case .failure(let error) = startConsumer(consumer.spec, channel: state.number) {
                logger.error(
                    "consumer could not resume", metadata: ["queue": "\(consumer.spec.queue)", "error": "\(error)"])
                removeConsumer(tag, from: state, finishing: error)
            }
        }
    }

    func reopenClosedChannels() {
        guard connection != nil, !channelsToReopen.isEmpty else { return }
        let numbers = channelsToReopen.sorted()
        channelsToReopen.removeAll()
        for number in numbers {
            guard let state = channels[number], !state.isOpen else { continue }
            openChannel(state, withConsumers: true)
        }
    }

    // MARK: Losing the connection

    func connectionLost(_ error: AMQPError) {
        guard let state = connection else { return }
        connection = nil
        heartbeat = nil
        amqp_destroy_connection(state)
        for channel in channels.values {
            channel.isOpen = false
            // Unconfirmed messages go out again after the reconnect.
            channel.confirms.connectionLost()
        }
        channelsToReopen.removeAll()
        let lostEndpoint = configuration.endpoints[schedule.next.endpoint]
        let retryIn = schedule.lost(at: ContinuousClock.now)
        shared.withLock { shared in
            shared.connected = false
            shared.lastError = error
            shared.endpoint = nil
        }
        logger.warning(
            "lost the broker connection",
            metadata: [
                "error": "\(error)", "broker": "\(lostEndpoint.redacted)",
                "next_broker": "\(configuration.endpoints[schedule.next.endpoint].redacted)",
                "retry_in": "\(retryIn)",
            ])
    }

    func dropConnection() {
        guard let connection else { return }
        _ = Glibc.shutdown(amqp_get_sockfd(connection), Int32(SHUT_RDWR))
    }

    func stop() {
        stopping = true
    }

    /// At the end of `run`: pending acks go out, the connection closes, and everything still
    /// waiting ends: publishes fail with `closed`, consumers finish, commands run without a loop.
    func shutdown() {
        flushAcks()
        if let state = connection {
            _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
            amqp_destroy_connection(state)
            connection = nil
            heartbeat = nil
        }
        shared.withLock { $0.connected = false }
        for channel in channels.values {
            channel.confirms.failAll(with: .closed, into: &outcomes)
            completeSettled()
            for consumer in channel.consumers.values { consumer.continuation.finish() }
            channel.consumers.removeAll()
        }
        for work in deferred { work() }
        deferred.removeAll()
        for command in inbox.close() { command(nil) }
        logger.debug("connection closed")
    }
}
