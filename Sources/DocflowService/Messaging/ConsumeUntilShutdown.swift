import AMQPClient
import ServiceLifecycle

/// Consumes `queue`, handling deliveries concurrently (the channel's prefetch bounds how many).
/// On graceful shutdown the consumer is cancelled; deliveries already received and handlers in
/// flight finish before this returns.
func consumeUntilShutdown(
    _ channel: AMQPChannel, queue: String, handle: @escaping @Sendable (AMQPDelivery) async -> Void
) async throws {
    let consumer = try await channel.consume(queue: queue)
    try await withGracefulShutdownHandler {
        try await withThrowingDiscardingTaskGroup { group in
            for try await delivery in consumer {
                group.addTask { await handle(delivery) }
            }
        }
    } onGracefulShutdown: {
        Task { try? await consumer.cancel() }
    }
}
