import CRabbitMQ

/// Synchronous commands: declarations, deletions, prefetch, confirm mode, consumers.
extension ConnectionLoop {
    /// Runs `work` now if the connection is up, else when it comes back.
    func whenConnected(_ work: @escaping () -> Void) {
        if connection != nil {
            work()
        } else {
            deferred.append(work)
        }
    }

    func channel(_ number: UInt16) -> ChannelState {
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
    func rpc<T>(
        channel number: UInt16, _ completion: @escaping Completion<T>,
        _ body: @escaping (amqp_connection_state_t, ChannelState) -> Result<T, AMQPError>
    ) {
        whenConnected { [self] in
            if stopping || closedChannels.contains(number) { return completion(.failure(AMQPError.closed)) }
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

    func declareNow(_ item: TopologyItem, channel number: UInt16) -> Result<AMQPQueueInfo?, AMQPError> {
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

    func inspectQueue(_ name: String, channel number: UInt16, completion: @escaping Completion<AMQPQueueInfo>) {
        rpc(channel: number, completion) { [self] connection, _ in
            let arena = CArena()
            guard let ok = amqp_queue_declare(connection, number, arena.bytes(name), 1, 0, 0, 0, arena.table([:]))
            else {
                return .failure(check(amqp_get_rpc_reply(connection), channel: number) ?? .closed)
            }
            return .success(
                AMQPQueueInfo(
                    name: ok.pointee.queue.string, messageCount: ok.pointee.message_count,
                    consumerCount: ok.pointee.consumer_count))
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

    /// `basic.get`: the queue's next message, or nil when it is empty. Unless `noAck`, the message
    /// waits to be settled like a delivery to a consumer.
    func get(_ queue: String, noAck: Bool, channel number: UInt16, completion: @escaping Completion<AMQPDelivery?>) {
        rpc(channel: number, completion) { [self] connection, state in
            let arena = CArena()
            let reply = amqp_basic_get(connection, number, arena.bytes(queue), noAck ? 1 : 0)
            if let error = check(reply, channel: number) { return .failure(error) }
            // Anything else is `basic.get-empty`.
            guard reply.reply.id == Method.basicGetOK, let decoded = reply.reply.decoded else { return .success(nil) }
            // Copied before the content is read, which may reuse the memory the method was decoded in.
            let ok = decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
            let (tag, redelivered, exchange, routingKey) = (
                ok.delivery_tag, ok.redelivered != 0, ok.exchange.string, ok.routing_key.string
            )
            var message = amqp_message_t()
            if let error = check(amqp_read_message(connection, number, &message, 0), channel: number) {
                return .failure(error)
            }
            defer { amqp_destroy_message(&message) }
            guard let owner else { return .failure(.closed) }
            if !noAck { state.acks.delivered(tag) }
            return .success(
                AMQPDelivery(
                    exchange: exchange, routingKey: routingKey, body: message.body.data,
                    properties: AMQPProperties(message.properties), redelivered: redelivered, deliveryTag: tag,
                    consumerTag: "", channel: AMQPChannel(connection: owner, number: number),
                    generation: state.acks.generation))
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

    /// Closes a channel for good: its unconfirmed publishes fail with `closed`, its consumers
    /// finish, frames the broker still sends on it are dropped, and using it again fails with `closed`.
    func closeChannel(_ number: UInt16, completion: @escaping Completion<Void>) {
        closedChannels.insert(number)
        guard let state = channels.removeValue(forKey: number) else { return completion(.success(())) }
        channelsToReopen.remove(number)
        state.confirms.failAll(with: .closed, into: &outcomes)
        completeSettled()
        for consumer in state.consumers.values { consumer.continuation.finish() }
        state.consumers.removeAll()
        guard let connection, state.isOpen else { return completion(.success(())) }
        flushAcks()  // acks of its deliveries leave before the close
        _ = cork(false)
        state.isOpen = false
        if amqp_channel_close(connection, number, AMQP_REPLY_SUCCESS).reply_type != AMQP_RESPONSE_NORMAL {
            // The connection broke while closing: it reconnects without this channel.
            _ = check(amqp_get_rpc_reply(connection), channel: number)
        }
        completion(.success(()))
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
            state.confirms.confirmSelected()
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

    func startConsumer(_ spec: ConsumerSpec, channel number: UInt16) -> Result<Void, AMQPError> {
        guard let connection else { return .failure(.closed) }
        let arena = CArena()
        let ok = amqp_basic_consume(
            connection, number, arena.bytes(spec.queue), arena.bytes(spec.tag), 0, spec.noAck ? 1 : 0,
            spec.exclusive ? 1 : 0, arena.table(spec.arguments))
        if ok == nil, let error = check(amqp_get_rpc_reply(connection), channel: number) { return .failure(error) }
        return .success(())
    }

    func cancel(consumerTag tag: String, channel number: UInt16, completion: @escaping Completion<Void>) {
        guard let state = channels[number], state.consumers[tag] != nil else { return completion(.success(())) }
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

    func removeConsumer(_ tag: String, from state: ChannelState, finishing error: (any Error)?) {
        guard let consumer = state.consumers.removeValue(forKey: tag) else { return }
        state.consumerOrder.removeAll { $0 == tag }
        consumer.continuation.finish(throwing: error)
    }
}
