import Foundation

/// A channel of an `AMQPConnection`. Cheap to copy; every copy is the same channel.
///
/// Declarations made here are remembered by the connection and made again after a reconnect.
public struct AMQPChannel: Sendable {
    public let connection: AMQPConnection
    public let number: UInt16

    public func declare(_ exchange: AMQPExchange) async throws {
        try await connection.perform { loop, continuation in
            loop.declare(.exchange(exchange), channel: number) { result in
                continuation.resume(with: result.map { _ in () })
            }
        }
    }

    @discardableResult
    public func declare(_ queue: AMQPQueue) async throws -> AMQPQueueInfo {
        try await connection.perform { loop, continuation in
            loop.declare(.queue(queue), channel: number) { result in
                continuation.resume(with: result.map { $0! })
            }
        }
    }

    /// Asks whether a queue exists, whatever its arguments (a passive declare), and how full it
    /// is; throws `NOT_FOUND` (and the channel reopens) when it does not. Not remembered.
    public func inspectQueue(_ name: String) async throws -> AMQPQueueInfo {
        try await connection.perform { loop, continuation in
            loop.inspectQueue(name, channel: number) { continuation.resume(with: $0) }
        }
    }

    public func bind(_ binding: AMQPBinding) async throws {
        try await connection.perform { loop, continuation in
            loop.declare(.binding(binding), channel: number) { result in
                continuation.resume(with: result.map { _ in () })
            }
        }
    }

    /// Deletes a queue and forgets its declaration; returns how many messages it held.
    @discardableResult
    public func deleteQueue(_ name: String) async throws -> UInt32 {
        try await connection.perform { loop, continuation in
            loop.deleteQueue(name, channel: number) { continuation.resume(with: $0) }
        }
    }

    /// Deletes an exchange and forgets its declaration.
    public func deleteExchange(_ name: String) async throws {
        try await connection.perform { loop, continuation in
            loop.deleteExchange(name, channel: number) { continuation.resume(with: $0) }
        }
    }

    /// Drops every ready message of a queue; returns how many there were.
    @discardableResult
    public func purgeQueue(_ name: String) async throws -> UInt32 {
        try await connection.perform { loop, continuation in
            loop.purgeQueue(name, channel: number) { continuation.resume(with: $0) }
        }
    }

    /// Takes the next message of a queue (`basic.get`), or nil when the queue is empty. Unless
    /// `noAck`, settle it like a consumer's delivery (`ack`, `nack`, `reject`); the broker requeues
    /// it if the channel closes first. For tools that read a queue nobody consumes; a consumer is
    /// the way to follow one.
    public func get(queue: String, noAck: Bool = false) async throws -> AMQPDelivery? {
        try await connection.perform { loop, continuation in
            loop.get(queue, noAck: noAck, channel: number) { continuation.resume(with: $0) }
        }
    }

    /// How many unsettled deliveries the broker may hand this channel's consumers.
    public func setPrefetch(_ count: UInt16) async throws {
        try await connection.perform { loop, continuation in
            loop.setPrefetch(count, channel: number) { continuation.resume(with: $0) }
        }
    }

    /// Closes the channel for good: unconfirmed publishes fail with `closed`, consumers finish,
    /// and later calls on it fail with `closed` (open a new channel instead). A channel
    /// the broker has taken against a queue (RabbitMQ 3.10 keeps refusing a quorum queue whose
    /// leader was unknown when the channel first published to it) is replaced by a new one.
    public func close() async {
        try? await connection.perform { loop, continuation in
            loop.closeChannel(number) { continuation.resume(with: $0) }
        }
    }

    /// Puts the channel in confirm mode: from then on `publish` returns once the broker acks.
    public func enableConfirms() async throws {
        try await connection.perform { loop, continuation in
            loop.enableConfirms(channel: number) { continuation.resume(with: $0) }
        }
    }

    /// Publishes a message. In confirm mode, returns when the broker confirmed it and throws
    /// `nacked`, `unroutable` (mandatory messages) or `channelClosed`; a message caught by a
    /// connection loss is published again after the reconnect.
    public func publish(_ message: AMQPMessage) async throws {
        try await connection.perform { loop, continuation in
            loop.publish(message, channel: number) { continuation.resume(with: $0) }
        }
    }

    /// Publishes messages in this order and waits for every one; the result of each comes back at
    /// its index. Pipelined: all are on the wire before the first confirm is awaited.
    public func publish(batch messages: [AMQPMessage]) async -> [Result<Void, any Error>] {
        await withCheckedContinuation { continuation in
            publish(batch: messages) { continuation.resume(returning: $0) }
        }
    }

    /// Puts messages on the wire in this order, after everything published on this channel before
    /// the call returns, and calls `completion` with each one's result once all are settled. For
    /// a publisher that keeps several batches in flight and needs them to leave in order.
    public func publish(
        batch messages: [AMQPMessage], completion: @escaping @Sendable ([Result<Void, any Error>]) -> Void
    ) {
        guard !messages.isEmpty else { return completion([]) }
        connection.inbox.send { [number] loop in
            guard let loop else { return completion(messages.map { _ in .failure(AMQPError.closed) }) }
            var results = [Result<Void, any Error>](repeating: .success(()), count: messages.count)
            var remaining = messages.count
            for (index, message) in messages.enumerated() {
                loop.publish(message, channel: number) { result in
                    results[index] = result
                    remaining -= 1
                    if remaining == 0 { completion(results) }
                }
            }
        }
    }

    /// Starts a consumer. Its deliveries arrive in order; the sequence ends when the consumer is
    /// cancelled or the connection is closed.
    ///
    /// With `onDelivery`, each delivery is handed to it on the connection's thread instead, in
    /// order, without a hop onto the caller's executor; the sequence then yields nothing and only
    /// says when the consumer ended. `onDelivery` must return quickly and never block: the
    /// connection reads nothing else while it runs.
    public func consume(
        queue: String, noAck: Bool = false, exclusive: Bool = false, arguments: [String: AMQPFieldValue] = [:],
        onDelivery: (@Sendable (AMQPDelivery) -> Void)? = nil
    ) async throws -> AMQPConsumer {
        let tag = connection.nextConsumerTag(channel: number)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AMQPDelivery.self)
        let spec = ConsumerSpec(tag: tag, queue: queue, noAck: noAck, exclusive: exclusive, arguments: arguments)
        try await connection.perform { loop, done in
            loop.consume(spec, continuation: continuation, onDelivery: onDelivery, channel: number) {
                done.resume(with: $0)
            }
        }
        return AMQPConsumer(stream: stream, tag: tag, channel: self)
    }

    /// Stops a consumer; its sequence then ends.
    public func cancel(consumerTag: String) async throws {
        try await connection.perform { loop, continuation in
            loop.cancel(consumerTag: consumerTag, channel: number) { continuation.resume(with: $0) }
        }
    }

    /// Acks every delivery up to and including `deliveryTag` on this channel.
    public func ackMultiple(upTo deliveryTag: UInt64, of delivery: AMQPDelivery) {
        settle(.ack(multiple: true), tag: deliveryTag, generation: delivery.generation)
    }

    func settle(_ settlement: Settlement, tag: UInt64, generation: UInt64) {
        connection.inbox.send { loop in
            loop?.settle(settlement, tag: tag, generation: generation, channel: number)
        }
    }
}

/// The deliveries of one consumer, in the order the broker sent them.
public struct AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    let stream: AsyncThrowingStream<AMQPDelivery, any Error>
    public let tag: String
    public let channel: AMQPChannel

    public func makeAsyncIterator() -> AsyncThrowingStream<AMQPDelivery, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    public func cancel() async throws {
        try await channel.cancel(consumerTag: tag)
    }
}

struct ConsumerSpec: Sendable {
    let tag: String
    let queue: String
    let noAck: Bool
    let exclusive: Bool
    let arguments: [String: AMQPFieldValue]
}
