import AMQPClient
import ServiceLifecycle

/// Consumes `queue`, handling deliveries concurrently (the channel's prefetch bounds how many).
/// On graceful shutdown the consumer is cancelled; deliveries already received and handlers in
/// flight finish before this returns. Cancelled, it returns at once: handlers still in flight
/// are cancelled and not waited for, and their deliveries, never acked, go back to the queue
/// when the connection closes.
func consumeUntilShutdown(
    _ channel: AMQPChannel, queue: String, handle: @escaping @Sendable (AMQPDelivery) async -> Void
) async throws {
    let consumer = try await channel.consume(queue: queue)
    do {
        try await untilCancelled {
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
    } catch is CancellationError where Task.isCancelled {
        Task { try? await consumer.cancel() }
    }
}
