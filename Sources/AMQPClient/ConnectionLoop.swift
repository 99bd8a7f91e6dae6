import CRabbitMQ
import Foundation
import Logging
import Synchronization

/// The state of one connection, touched only by its thread.
final class ConnectionLoop {
    typealias Completion<T> = (Result<T, any Error>) -> Void

    final class PendingPublish {
        let message: AMQPMessage
        let completion: Completion<Void>
        var tag: UInt64 = 0
        var returned: AMQPError?

        init(message: AMQPMessage, completion: @escaping Completion<Void>) {
            self.message = message
            self.completion = completion
        }
    }

    final class Consumer {
        let spec: ConsumerSpec
        let continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation
        /// When set, deliveries go to it on this thread instead of into the sequence.
        let onDelivery: (@Sendable (AMQPDelivery) -> Void)?
        init(
            spec: ConsumerSpec, continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation,
            onDelivery: (@Sendable (AMQPDelivery) -> Void)?
        ) {
            self.spec = spec
            self.continuation = continuation
            self.onDelivery = onDelivery
        }
    }

    final class ChannelState {
        let number: UInt16
        var isOpen = false
        /// Changes whenever the channel is opened anew, so stale delivery tags are recognised.
        var epoch: UInt64 = 0
        var prefetch: UInt16?
        var confirmMode = false
        var nextPublishTag: UInt64 = 1
        var pending: [PendingPublish] = []
        var consumers: [String: Consumer] = [:]
        var consumerOrder: [String] = []
        /// Acks are coalesced: deliveries of consumers that ack, in delivery order, from
        /// `unsettledHead` on. An ack of the oldest unsettled delivery moves `ackUpTo` (sent as one
        /// `multiple` ack after each round of commands); one that comes out of order waits in
        /// `settledAhead` and goes out alone in the same round (`singles`), so a slow delivery
        /// never holds back the acks of later ones. Nacks and rejects go out at once.
        var unsettled: [UInt64] = []
        var unsettledHead = 0
        /// Settled deliveries behind an unsettled one: true while their ack still has to be sent.
        var settledAhead: [UInt64: Bool] = [:]
        var singles: [UInt64] = []
        /// The newest acked tag with nothing unsettled before it; 0 when there is none to send.
        var ackUpTo: UInt64 = 0

        init(number: UInt16) { self.number = number }

        func resetSettlements() {
            unsettled.removeAll()
            unsettledHead = 0
            settledAhead.removeAll()
            singles.removeAll()
            ackUpTo = 0
        }

        /// Settles `tag` locally; `unsent` when its ack is still to be sent. False when the tag is
        /// not an unsettled delivery of this channel.
        func settleLocally(_ tag: UInt64, unsent: Bool) -> Bool {
            guard unsettledHead < unsettled.count, tag >= unsettled[unsettledHead], settledAhead[tag] == nil
            else { return false }
            settledAhead[tag] = unsent
            if unsent, tag != unsettled[unsettledHead] { singles.append(tag) }
            while unsettledHead < unsettled.count,
                let toSend = settledAhead.removeValue(forKey: unsettled[unsettledHead])
            {
                if toSend { ackUpTo = unsettled[unsettledHead] }
                unsettledHead += 1
            }
            if unsettledHead > 1024, unsettledHead * 2 > unsettled.count {
                unsettled.removeFirst(unsettledHead)
                unsettledHead = 0
            }
            return true
        }

        /// Settles every delivery up to and including `tag` (a `multiple` one).
        func settleLocally(upTo tag: UInt64, unsent: Bool) {
            while unsettledHead < unsettled.count, unsettled[unsettledHead] <= tag {
                settledAhead.removeValue(forKey: unsettled[unsettledHead])
                unsettledHead += 1
            }
            if unsent { ackUpTo = max(ackUpTo, tag) }
        }

        /// The out-of-order acks to send alone: those no `multiple` ack covers yet.
        func takeSingles() -> [UInt64] {
            defer { singles.removeAll(keepingCapacity: true) }
            return singles.filter { tag in
                guard settledAhead[tag] == true else { return false }
                settledAhead[tag] = false
                return true
            }
        }
    }

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
    var epochCounter: UInt64 = 0
    var stopping = false
    /// Frames of confirmed publishes not yet written (see `flushFrames`), and space to encode one.
    private var frames: [UInt8] = []
    private var scratch: [UInt8] = []
    var backoff: Duration

    init(configuration: AMQPConfiguration, logger: Logger, inbox: Inbox, shared: AMQPConnection.Shared) {
        self.configuration = configuration
        self.logger = logger
        self.logger[metadataKey: "amqp"] = .string(configuration.connectionName)
        self.inbox = inbox
        self.shared = shared
        self.backoff = configuration.initialBackoff
    }

    var isConnected: Bool { connection != nil }

    // MARK: The loop

    func run() {
        while !stopping {
            if connection == nil {
                do {
                    try connect()
                    backoff = configuration.initialBackoff
                } catch {
                    let failure = error
                    shared.withLock { $0.lastError = failure }
                    logger.warning(
                        "broker unavailable, retrying",
                        metadata: [
                            "error": "\(failure)", "retry_in": "\(backoff)", "broker": "\(configuration.redacted)",
                        ])
                    waitForCommands(timeoutMs: Int32(backoff.milliseconds))
                    runCommands()
                    backoff = min(backoff * 2, configuration.maxBackoff)
                    continue
                }
            }
            runCommands()
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
    private func cork(_ on: Bool, fd: Int32? = nil) -> Int32? {
        guard let socket = fd ?? connection.map({ amqp_get_sockfd($0) }), socket >= 0 else { return nil }
        var value: Int32 = on ? 1 : 0
        return setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
            ? socket : nil
    }

    /// Sends the acks coalesced while running commands: one `multiple` ack per channel.
    private func flushAcks() {
        for state in channels.values where state.ackUpTo > 0 || !state.singles.isEmpty {
            flushAck(state)
        }
    }

    private func flushAck(_ state: ChannelState) {
        let tag = state.ackUpTo
        state.ackUpTo = 0
        let singles = state.takeSingles()
        guard let connection, state.isOpen else { return }
        // The multiple ack's own tag is always still outstanding (RabbitMQ insists on that).
        if tag > 0 {
            let status = amqp_basic_ack(connection, state.number, tag, 1)
            if status != AMQP_STATUS_OK.rawValue { return connectionLost(.library(status)) }
        }
        for single in singles {
            let status = amqp_basic_ack(connection, state.number, single, 0)
            if status != AMQP_STATUS_OK.rawValue { return connectionLost(.library(status)) }
        }
    }

    private func waitForCommands(timeoutMs: Int32) {
        var fds = [pollfd(fd: inbox.fd, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 1, timeoutMs)
    }

    private func waitForTraffic() {
        guard let connection else { return }
        if amqp_frames_enqueued(connection) != 0 || amqp_data_in_buffer(connection) != 0 { return }
        let heartbeatMs = configuration.heartbeat > 0 ? Int32(configuration.heartbeat * 1000 / 4) : 1000
        var fds = [
            pollfd(fd: amqp_get_sockfd(connection), events: Int16(POLLIN), revents: 0),
            pollfd(fd: inbox.fd, events: Int16(POLLIN), revents: 0),
        ]
        _ = poll(&fds, 2, min(heartbeatMs, 1000))
    }

    /// Reads and handles the frames that are already there, without blocking. Also sends
    /// heartbeats when they are due: rabbitmq-c does that inside its frame reads.
    private func pumpFrames() {
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        var frame = amqp_frame_t()
        for _ in 0..<1024 {
            guard let connection else { return }
            let status = amqp_simple_wait_frame_noblock(connection, &frame, &zero)
            if status == AMQP_STATUS_TIMEOUT.rawValue { break }
            guard status == AMQP_STATUS_OK.rawValue else {
                return connectionLost(.library(status))
            }
            handle(frame)
        }
        if let connection { amqp_maybe_release_buffers(connection) }
    }

    // MARK: Connecting

    private func connect() throws(AMQPError) {
        guard let state = amqp_new_connection() else { throw .connectionFailed("out of memory") }
        guard let socket = amqp_tcp_socket_new(state) else {
            amqp_destroy_connection(state)
            throw .connectionFailed("cannot create a socket")
        }
        var connectTimeout = timeval(configuration.connectTimeout)
        let opened = amqp_socket_open_noblock(socket, configuration.host, Int32(configuration.port), &connectTimeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            amqp_destroy_connection(state)
            throw .connectionFailed(
                "cannot reach \(configuration.host):\(configuration.port): \(String(cString: amqp_error_string2(opened)))"
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
            state, configuration.virtualHost, 0, 131072, Int32(configuration.heartbeat), &properties,
            configuration.username, configuration.password)
        if let error = Self.error(of: reply) {
            amqp_destroy_connection(state)
            if case .library = error {
                throw .connectionFailed("login to \(configuration.redacted) failed: \(error)")
            }
            throw error
        }
        connection = state
        let connects = shared.withLock { shared in
            shared.connected = true
            shared.lastError = nil
            shared.connects += 1
            return shared.connects
        }
        logger.info(
            connects == 1 ? "connected to broker" : "reconnected to broker",
            metadata: ["broker": "\(configuration.redacted)", "connects": "\(connects)"])
        restore()
    }

    /// After a (re)connect: open channels, declare the topology, then consumers and publishes.
    private func restore() {
        for number in channels.keys.sorted() {
            guard connection != nil else { return }
            openChannel(channels[number]!, withConsumers: false)
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
    private func openChannel(_ state: ChannelState, withConsumers: Bool) {
        guard let connection else { return }
        _ = cork(false)  // the broker must see the request to answer it
        guard amqp_channel_open(connection, state.number) != nil else {
            _ = check(amqp_get_rpc_reply(connection), channel: state.number)
            return
        }
        epochCounter += 1
        state.epoch = epochCounter
        state.resetSettlements()
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
            state.nextPublishTag = 1
        }
        if withConsumers {
            restoreConsumers(state)
            resendPending(state)
        }
    }

    private func resendPending(_ state: ChannelState) {
        guard state.confirmMode else { return }
        for publish in state.pending {
            guard connection != nil, state.isOpen else { return }
            send(publish, on: state)
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

    private func reopenClosedChannels() {
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
        amqp_destroy_connection(state)
        for channel in channels.values {
            channel.isOpen = false
            // Unconfirmed messages go out again after the reconnect.
            for publish in channel.pending { publish.tag = 0 }
        }
        channelsToReopen.removeAll()
        shared.withLock { shared in
            shared.connected = false
            shared.lastError = error
        }
        logger.warning("lost the broker connection", metadata: ["error": "\(error)"])
    }

    func dropConnection() {
        guard let connection else { return }
        shutdown(fd: amqp_get_sockfd(connection))
    }

    private func shutdown(fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    func stop() {
        stopping = true
    }

    private func shutdown() {
        flushAcks()
        if let state = connection {
            _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
            amqp_destroy_connection(state)
            connection = nil
        }
        shared.withLock { $0.connected = false }
        for channel in channels.values {
            for publish in channel.pending { publish.completion(.failure(AMQPError.closed)) }
            channel.pending.removeAll()
            for consumer in channel.consumers.values { consumer.continuation.finish() }
            channel.consumers.removeAll()
        }
        for work in deferred { work() }
        deferred.removeAll()
        for command in inbox.close() { command(nil) }
        logger.debug("connection closed")
    }

    // MARK: Commands

    /// Runs `work` now if the connection is up, else when it comes back.
    private func whenConnected(_ work: @escaping () -> Void) {
        if connection != nil {
            work()
        } else {
            deferred.append(work)
        }
    }

    private func channel(_ number: UInt16) -> ChannelState {
        if let state = channels[number] { return state }
        let state = ChannelState(number: number)
        channels[number] = state
        return state
    }

    func addChannel(_ number: UInt16) {
        let state = channel(number)
        if connection != nil { openChannel(state, withConsumers: true) }
    }

    /// Runs a synchronous command on an open channel; failures of the connection or the channel
    /// come back as errors and are recovered from.
    private func rpc<T>(
        channel number: UInt16, _ completion: @escaping Completion<T>,
        _ body: @escaping (amqp_connection_state_t, ChannelState) -> Result<T, AMQPError>
    ) {
        whenConnected { [self] in
            if stopping { return completion(.failure(AMQPError.closed)) }
            // Acks asked for before this command leave before it (a cancel, a close), and nothing
            // stays corked while the command waits for the broker's answer.
            flushAcks()
            _ = cork(false)
            let state = channel(number)
            if !state.isOpen { openChannel(state, withConsumers: true) }
            guard let connection, state.isOpen else {
                return completion(.failure(shared.withLock { $0.lastError } ?? AMQPError.closed))
            }
            completion(body(connection, state).mapError { $0 as any Error })
        }
    }

    func declare(_ item: TopologyItem, channel number: UInt16, completion: @escaping Completion<AMQPQueueInfo?>) {
        rpc(channel: number, completion) { [self] _, _ in
            let result = declareNow(item, channel: number)
            if case .success = result {
                if case .queue(let queue) = item, queue.name.isEmpty {
                    return result  // a server-named queue cannot be declared again under its name
                }
                if !topology.contains(item) { topology.append(item) }
            }
            return result
        }
    }

    private func declareNow(_ item: TopologyItem, channel number: UInt16) -> Result<AMQPQueueInfo?, AMQPError> {
        guard let connection else { return .failure(.closed) }
        let arena = CArena()
        switch item {
        case .exchange(let exchange):
            let ok = amqp_exchange_declare(
                connection, number, arena.bytes(exchange.name), arena.bytes(exchange.kind.rawValue), 0,
                exchange.durable ? 1 : 0, exchange.autoDelete ? 1 : 0, exchange.isInternal ? 1 : 0,
                arena.table(exchange.arguments))
            if ok == nil, let error = check(amqp_get_rpc_reply(connection), channel: number) { return .failure(error) }
            return .success(nil)
        case .queue(let queue):
            let ok = amqp_queue_declare(
                connection, number, arena.bytes(queue.name), 0, queue.durable ? 1 : 0, queue.exclusive ? 1 : 0,
                queue.autoDelete ? 1 : 0, arena.table(queue.arguments))
            guard let ok else {
                return .failure(check(amqp_get_rpc_reply(connection), channel: number) ?? .closed)
            }
            return .success(
                AMQPQueueInfo(
                    name: ok.pointee.queue.string, messageCount: ok.pointee.message_count,
                    consumerCount: ok.pointee.consumer_count))
        case .binding(let binding):
            let ok = amqp_queue_bind(
                connection, number, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                arena.bytes(binding.routingKey), arena.table(binding.arguments))
            if ok == nil, let error = check(amqp_get_rpc_reply(connection), channel: number) { return .failure(error) }
            return .success(nil)
        }
    }

    func deleteQueue(_ name: String, channel number: UInt16, completion: @escaping Completion<UInt32>) {
        rpc(channel: number, completion) { [self] connection, _ in
            topology.removeAll { item in
                switch item {
                case .queue(let queue): queue.name == name
                case .binding(let binding): binding.queue == name
                case .exchange: false
                }
            }
            let arena = CArena()
            guard let ok = amqp_queue_delete(connection, number, arena.bytes(name), 0, 0) else {
                return .failure(check(amqp_get_rpc_reply(connection), channel: number) ?? .closed)
            }
            return .success(ok.pointee.message_count)
        }
    }

    func deleteExchange(_ name: String, channel number: UInt16, completion: @escaping Completion<Void>) {
        rpc(channel: number, completion) { [self] connection, _ in
            topology.removeAll { item in
                switch item {
                case .exchange(let exchange): exchange.name == name
                case .binding(let binding): binding.exchange == name
                case .queue: false
                }
            }
            let arena = CArena()
            if amqp_exchange_delete(connection, number, arena.bytes(name), 0) == nil,
                let error = check(amqp_get_rpc_reply(connection), channel: number)
            {
                return .failure(error)
            }
            return .success(())
        }
    }

    func purgeQueue(_ name: String, channel number: UInt16, completion: @escaping Completion<UInt32>) {
        rpc(channel: number, completion) { [self] connection, _ in
            let arena = CArena()
            guard let ok = amqp_queue_purge(connection, number, arena.bytes(name)) else {
                return .failure(check(amqp_get_rpc_reply(connection), channel: number) ?? .closed)
            }
            return .success(ok.pointee.message_count)
        }
    }

    func setPrefetch(_ count: UInt16, channel number: UInt16, completion: @escaping Completion<Void>) {
        rpc(channel: number, completion) { [self] connection, state in
            if amqp_basic_qos(connection, number, 0, count, 0) == nil,
                let error = check(amqp_get_rpc_reply(connection), channel: number)
            {
                return .failure(error)
            }
            state.prefetch = count
            return .success(())
        }
    }

    func enableConfirms(channel number: UInt16, completion: @escaping Completion<Void>) {
        rpc(channel: number, completion) { [self] connection, state in
            if state.confirmMode { return .success(()) }
            if amqp_confirm_select(connection, number) == nil,
                let error = check(amqp_get_rpc_reply(connection), channel: number)
            {
                return .failure(error)
            }
            state.confirmMode = true
            state.nextPublishTag = 1
            return .success(())
        }
    }

    func consume(
        _ spec: ConsumerSpec, continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation,
        onDelivery: (@Sendable (AMQPDelivery) -> Void)?, channel number: UInt16, completion: @escaping Completion<Void>
    ) {
        rpc(channel: number, completion) { [self] _, state in
            let result = startConsumer(spec, channel: number)
            if case .success = result {
                state.consumers[spec.tag] = Consumer(spec: spec, continuation: continuation, onDelivery: onDelivery)
                state.consumerOrder.append(spec.tag)
            } else {
                continuation.finish()
            }
            return result
        }
    }

    private func startConsumer(_ spec: ConsumerSpec, channel number: UInt16) -> Result<Void, AMQPError> {
        guard let connection else { return .failure(.closed) }
        let arena = CArena()
        let ok = amqp_basic_consume(
            connection, number, arena.bytes(spec.queue), arena.bytes(spec.tag), 0, spec.noAck ? 1 : 0,
            spec.exclusive ? 1 : 0, arena.table(spec.arguments))
        if ok == nil, let error = check(amqp_get_rpc_reply(connection), channel: number) { return .failure(error) }
        return .success(())
    }

    func cancel(consumerTag tag: String, channel number: UInt16, completion: @escaping Completion<Void>) {
        let state = channel(number)
        guard state.consumers[tag] != nil else { return completion(.success(())) }
        guard let connection, state.isOpen else {
            removeConsumer(tag, from: state, finishing: nil)
            return completion(.success(()))
        }
        let arena = CArena()
        if amqp_basic_cancel(connection, number, arena.bytes(tag)) == nil,
            let error = check(amqp_get_rpc_reply(connection), channel: number)
        {
            removeConsumer(tag, from: state, finishing: nil)
            return completion(.failure(error))
        }
        removeConsumer(tag, from: state, finishing: nil)
        completion(.success(()))
    }

    private func removeConsumer(_ tag: String, from state: ChannelState, finishing error: (any Error)?) {
        guard let consumer = state.consumers.removeValue(forKey: tag) else { return }
        state.consumerOrder.removeAll { $0 == tag }
        consumer.continuation.finish(throwing: error)
    }

    func publish(_ message: AMQPMessage, channel number: UInt16, completion: @escaping Completion<Void>) {
        if stopping { return completion(.failure(AMQPError.closed)) }
        let state = channel(number)
        if state.confirmMode {
            let publish = PendingPublish(message: message, completion: completion)
            state.pending.append(publish)
            // While disconnected it waits in `pending` and goes out when the channel reopens.
            if connection != nil, state.isOpen { send(publish, on: state) }
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
    private func send(_ publish: PendingPublish, on state: ChannelState) {
        guard let connection else { return }
        publish.tag = state.nextPublishTag
        publish.returned = nil
        state.nextPublishTag += 1
        if !encodeFrames(publish.message, channel: state.number, connection: connection) {
            // Properties too big for one frame: rabbitmq-c's own way, which fails the same.
            flushFrames()
            guard let connection = self.connection else { return }
            let status = basicPublish(publish.message, connection: connection, channel: state.number)
            if status != AMQP_STATUS_OK.rawValue { connectionLost(.library(status)) }
        }
    }

    /// Appends a publish's method, header and body frames to `frames`, as `amqp_basic_publish`
    /// would send them. rabbitmq-c sends every frame with a `send(2)` of its own, three or more
    /// per message; the publishes of one command go out in one write.
    private func encodeFrames(_ message: AMQPMessage, channel: UInt16, connection: amqp_connection_state_t) -> Bool {
        let frameMax = Int(amqp_get_frame_max(connection))
        guard frameMax > 8 else { return false }
        if scratch.count < frameMax { scratch = [UInt8](repeating: 0, count: frameMax) }
        let arena = CArena()
        var properties = message.properties.cValue(in: arena)
        var method = amqp_basic_publish_t(
            ticket: 0, exchange: arena.bytes(message.exchange), routing_key: arena.bytes(message.routingKey),
            mandatory: message.mandatory ? 1 : 0, immediate: 0)
        let methodSize = Int(
            scratch.withUnsafeMutableBytes { buffer in
                amqp_encode_method(
                    AMQP_BASIC_PUBLISH_METHOD, &method, amqp_bytes_t(len: buffer.count, bytes: buffer.baseAddress))
            })
        guard methodSize >= 0 else { return false }
        let start = frames.count
        appendFrameHeader(type: AMQP_FRAME_METHOD, channel: channel, size: 4 + methodSize)
        appendBigEndian(UInt64(AMQP_BASIC_PUBLISH_METHOD), bytes: 4)
        frames.append(contentsOf: scratch[0..<methodSize])
        frames.append(UInt8(AMQP_FRAME_END))
        let propertiesSize = Int(
            scratch.withUnsafeMutableBytes { buffer in
                amqp_encode_properties(
                    UInt16(AMQP_BASIC_CLASS), &properties, amqp_bytes_t(len: buffer.count, bytes: buffer.baseAddress))
            })
        guard propertiesSize >= 0, 12 + propertiesSize <= frameMax - 8 else {
            frames.removeSubrange(start...)
            return false
        }
        appendFrameHeader(type: AMQP_FRAME_HEADER, channel: channel, size: 12 + propertiesSize)
        appendBigEndian(UInt64(AMQP_BASIC_CLASS), bytes: 2)
        appendBigEndian(0, bytes: 2)
        appendBigEndian(UInt64(message.body.count), bytes: 8)
        frames.append(contentsOf: scratch[0..<propertiesSize])
        frames.append(UInt8(AMQP_FRAME_END))
        let chunk = frameMax - 8
        var offset = 0
        while offset < message.body.count {
            let size = min(chunk, message.body.count - offset)
            appendFrameHeader(type: AMQP_FRAME_BODY, channel: channel, size: size)
            let from = message.body.startIndex + offset
            frames.append(contentsOf: message.body[from..<(from + size)])
            frames.append(UInt8(AMQP_FRAME_END))
            offset += size
        }
        return true
    }

    private func appendFrameHeader(type: Int32, channel: UInt16, size: Int) {
        frames.append(UInt8(type))
        appendBigEndian(UInt64(channel), bytes: 2)
        appendBigEndian(UInt64(size), bytes: 4)
    }

    private func appendBigEndian(_ value: UInt64, bytes: Int) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) {
            frames.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    /// Writes the frames `send(_:on:)` queued, waiting for room in the socket as rabbitmq-c does
    /// (up to the RPC timeout). A failure drops the connection; unconfirmed publishes go out again
    /// on the next one.
    private func flushFrames() {
        guard !frames.isEmpty else { return }
        defer { frames.removeAll(keepingCapacity: true) }
        guard let connection else { return }
        let fd = amqp_get_sockfd(connection)
        var written = 0
        let deadline = ContinuousClock.now.advanced(by: configuration.rpcTimeout)
        while written < frames.count {
            let n = frames.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                written += n
            } else if n < 0, errno == EINTR {
                continue
            } else if n < 0, errno == EAGAIN || errno == EWOULDBLOCK, ContinuousClock.now < deadline {
                var writable = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&writable, 1, 100)
            } else {
                return connectionLost(.library(AMQP_STATUS_SOCKET_ERROR.rawValue))
            }
        }
    }

    private func basicPublish(_ message: AMQPMessage, connection: amqp_connection_state_t, channel: UInt16) -> Int32 {
        let arena = CArena()
        var properties = message.properties.cValue(in: arena)
        return message.body.withUnsafeBytes { body in
            amqp_basic_publish(
                connection, channel, arena.bytes(message.exchange), arena.bytes(message.routingKey),
                message.mandatory ? 1 : 0, 0, &properties,
                amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
        }
    }

    func settle(_ settlement: Settlement, tag: UInt64, generation: UInt64, channel number: UInt16) {
        guard let connection, let state = channels[number], state.isOpen, state.epoch == generation else {
            logger.debug("not settling a delivery of an earlier connection; the broker requeued it")
            return
        }
        let status: Int32
        switch settlement {
        case .ack(false):
            // Sent with others by `flushAcks`.
            if state.settleLocally(tag, unsent: true) { return }
            status = amqp_basic_ack(connection, number, tag, 0)
        case .ack(true):
            state.settleLocally(upTo: tag, unsent: true)
            return
        case .nack(let multiple, let requeue):
            // Acks not sent yet go first: a multiple nack must not take them with it.
            flushAck(state)
            guard let connection = self.connection else { return }
            status = amqp_basic_nack(connection, number, tag, multiple ? 1 : 0, requeue ? 1 : 0)
            if multiple {
                state.settleLocally(upTo: tag, unsent: false)
            } else {
                _ = state.settleLocally(tag, unsent: false)
            }
        case .reject(let requeue):
            flushAck(state)
            guard let connection = self.connection else { return }
            status = amqp_basic_reject(connection, number, tag, requeue ? 1 : 0)
            _ = state.settleLocally(tag, unsent: false)
        }
        if status != AMQP_STATUS_OK.rawValue { connectionLost(.library(status)) }
    }

    // MARK: Incoming frames

    private func handle(_ frame: amqp_frame_t) {
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return }
        let number = frame.channel
        let decoded = frame.payload.method.decoded
        switch frame.payload.method.id {
        case Method.basicDeliver:
            let deliver = decoded!.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let consumerTag = deliver.consumer_tag.string
            let exchange = deliver.exchange.string
            let routingKey = deliver.routing_key.string
            guard let (properties, body) = readContent(channel: number) else { return }
            guard let state = channels[number], let consumer = state.consumers[consumerTag], let owner else {
                logger.warning("delivery for an unknown consumer", metadata: ["consumer": "\(consumerTag)"])
                return
            }
            if !consumer.spec.noAck { state.unsettled.append(deliver.delivery_tag) }
            let delivery = AMQPDelivery(
                exchange: exchange, routingKey: routingKey, body: body, properties: properties,
                redelivered: deliver.redelivered != 0, deliveryTag: deliver.delivery_tag, consumerTag: consumerTag,
                channel: AMQPChannel(connection: owner, number: number), generation: state.epoch)
            if let onDelivery = consumer.onDelivery {
                onDelivery(delivery)
            } else {
                consumer.continuation.yield(delivery)
            }
        case Method.basicAck:
            let ack = decoded!.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            confirm(channel: number, tag: ack.delivery_tag, multiple: ack.multiple != 0, error: nil)
        case Method.basicNack:
            let nack = decoded!.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            confirm(channel: number, tag: nack.delivery_tag, multiple: nack.multiple != 0, error: .nacked)
        case Method.basicReturn:
            let returned = decoded!.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let error = AMQPError.unroutable(code: returned.reply_code, text: returned.reply_text.string)
            let exchange = returned.exchange.string
            let routingKey = returned.routing_key.string
            guard let (properties, _) = readContent(channel: number) else { return }
            // A return comes before the ack of its message and carries no delivery tag: it belongs
            // to the oldest unconfirmed mandatory message with the same address.
            if let state = channels[number],
                let publish = state.pending.first(where: {
                    $0.tag != 0 && $0.returned == nil && $0.message.mandatory && $0.message.exchange == exchange
                        && $0.message.routingKey == routingKey
                        && (properties.messageID == nil || $0.message.properties.messageID == properties.messageID)
                })
            {
                publish.returned = error
            }
        case Method.basicCancel:
            let cancel = decoded!.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            let tag = cancel.consumer_tag.string
            if let state = channels[number] {
                logger.warning("broker cancelled a consumer", metadata: ["consumer": "\(tag)"])
                removeConsumer(tag, from: state, finishing: AMQPError.consumerCancelled(tag))
            }
        case Method.channelClose:
            let close = decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            channelClosed(number, error: .channelClosed(code: close.reply_code, text: close.reply_text.string))
        case Method.connectionClose:
            let close = decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let error = AMQPError.connectionClosed(code: close.reply_code, text: close.reply_text.string)
            if let connection {
                var ok = amqp_connection_close_ok_t(dummy: 0)
                _ = amqp_send_method(connection, 0, Method.connectionCloseOK, &ok)
            }
            connectionLost(error)
        case Method.connectionBlocked:
            logger.warning("broker blocked publishing (resource alarm)")
        case Method.connectionUnblocked:
            logger.info("broker unblocked publishing")
        default:
            break
        }
    }

    /// The header and body frames that follow a delivery or a return.
    private func readContent(channel: UInt16) -> (AMQPProperties, Data)? {
        guard let connection else { return nil }
        var message = amqp_message_t()
        let reply = amqp_read_message(connection, channel, &message, 0)
        if let error = check(reply, channel: channel) {
            if connection == self.connection { connectionLost(error) }
            return nil
        }
        defer { amqp_destroy_message(&message) }
        return (AMQPProperties(message.properties), message.body.data)
    }

    private func confirm(channel number: UInt16, tag: UInt64, multiple: Bool, error: AMQPError?) {
        guard let state = channels[number] else { return }
        var settled: [PendingPublish] = []
        if multiple {
            let count = state.pending.prefix { $0.tag != 0 && $0.tag <= tag }.count
            settled = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
        } else if let index = state.pending.firstIndex(where: { $0.tag == tag }) {
            settled = [state.pending.remove(at: index)]
        }
        for publish in settled {
            if let error = error ?? publish.returned {
                publish.completion(.failure(error))
            } else {
                publish.completion(.success(()))
            }
        }
    }

    /// The broker closed a channel: answer it, fail what was in flight there, reopen it later.
    private func channelClosed(_ number: UInt16, error: AMQPError) {
        if let connection {
            var ok = amqp_channel_close_ok_t(dummy: 0)
            _ = amqp_send_method(connection, number, Method.channelCloseOK, &ok)
        }
        logger.warning("broker closed a channel", metadata: ["channel": "\(number)", "error": "\(error)"])
        guard let state = channels[number] else { return }
        state.isOpen = false
        let failed = state.pending
        state.pending.removeAll()
        for publish in failed { publish.completion(.failure(error)) }
        channelsToReopen.insert(number)
    }

    /// Turns an RPC reply into an error, answering channel and connection closes as the
    /// protocol requires.
    private func check(_ reply: amqp_rpc_reply_t, channel: UInt16) -> AMQPError? {
        guard let error = Self.error(of: reply) else { return nil }
        switch error {
        case .channelClosed:
            channelClosed(channel, error: error)
        case .connectionClosed:
            if let connection {
                var ok = amqp_connection_close_ok_t(dummy: 0)
                _ = amqp_send_method(connection, 0, Method.connectionCloseOK, &ok)
            }
            connectionLost(error)
        default:
            connectionLost(error)
        }
        return error
    }

    static func error(of reply: amqp_rpc_reply_t) -> AMQPError? {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return .library(reply.library_error)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            switch reply.reply.id {
            case Method.channelClose:
                let close = reply.reply.decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                return .channelClosed(code: close.reply_code, text: close.reply_text.string)
            case Method.connectionClose:
                let close = reply.reply.decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                return .connectionClosed(code: close.reply_code, text: close.reply_text.string)
            default:
                return .connectionFailed("unexpected server method \(reply.reply.id)")
            }
        default:
            return .connectionFailed("no reply from the broker")
        }
    }

}

/// Method ids; rabbitmq-c defines them as macros Swift does not import.
enum Method {
    static let connectionClose: amqp_method_number_t = 0x000A_0032
    static let connectionCloseOK: amqp_method_number_t = 0x000A_0033
    static let connectionBlocked: amqp_method_number_t = 0x000A_003C
    static let connectionUnblocked: amqp_method_number_t = 0x000A_003D
    static let channelClose: amqp_method_number_t = 0x0014_0028
    static let channelCloseOK: amqp_method_number_t = 0x0014_0029
    static let basicCancel: amqp_method_number_t = 0x003C_001E
    static let basicReturn: amqp_method_number_t = 0x003C_0032
    static let basicDeliver: amqp_method_number_t = 0x003C_003C
    static let basicAck: amqp_method_number_t = 0x003C_0050
    static let basicNack: amqp_method_number_t = 0x003C_0078
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
