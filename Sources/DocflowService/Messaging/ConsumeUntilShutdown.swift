import AMQPClient
import ServiceLifecycle

/// Consumes `queue`, handling deliveries concurrently (the channel's prefetch bounds how many).
/// On graceful shutdown the consumer is cancelled; deliveries already received and handlers in
/// flight finish before this returns.
func consumeUntilShutdown(
    _ channel: AMQPChannel, queue: String, handle: @escaping @Sendable (AMQPDelivery) async -> Void
) async throws {
    try await consumeUntilShutdown(channel, queue: queue, accept: { delivery in { await handle(delivery) } })
}

/// Like `consumeUntilShutdown(_:queue:handle:)`, for handlers that settle most deliveries without
/// waiting: `accept` runs in the consuming loop for each delivery, and only the work it returns
/// gets a task of its own.
func consumeUntilShutdown(
    _ channel: AMQPChannel, queue: String, accept: @escaping @Sendable (AMQPDelivery) -> (@Sendable () async -> Void)?
) async throws {
    let consumer = try await channel.consume(queue: queue)
    try await withGracefulShutdownHandler {
        try await withThrowingDiscardingTaskGroup { group in
            for try await delivery in consumer {
                if let work = accept(delivery) { group.addTask { await work() } }
            }
        }
    } onGracefulShutdown: {
        Task { try? await consumer.cancel() }
    }
}
