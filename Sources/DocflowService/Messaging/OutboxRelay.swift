import AMQPClient
import DocflowCore
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle

/// Publishes committed status events from the outbox, in commit order, with publisher confirms,
/// and deletes each row once the broker confirmed it. Rows outlive crashes and broker outages;
/// a row may be published twice (consumers dedupe by `message_id`), never lost.
final class OutboxRelay: Service, Sendable {
    private let store: Store
    private let channel: AMQPChannel
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let wakeup = WakeSignal()
    private let batchSize = 512

    init(store: Store, channel: AMQPChannel, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.channel = channel
        self.metrics = metrics
        self.logger = logger
    }

    /// Something was committed to the outbox.
    func wake() {
        wakeup.signal()
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    if try await flushBatch() == 0 { await wakeup.wait(timeout: .seconds(1)) }
                } catch {
                    logger.error("publishing status events failed; retrying", metadata: ["error": "\(error)"])
                    await wakeup.wait(timeout: .seconds(1))
                }
            }
            // What is left is published on the next start.
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while ContinuousClock.now < deadline, channel.connection.isConnected,
                (try? await flushBatch()).map({ $0 > 0 }) ?? false
            {}
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
    }

    /// Publishes up to one batch; returns how many rows it removed.
    @discardableResult
    func flushBatch() async throws -> Int {
        let batch = try await store.read { [batchSize] db in try Outbox.pending(db, limit: batchSize) }
        guard !batch.isEmpty else { return 0 }
        let messages = batch.map { row in
            AMQPMessage(
                exchange: row.exchange, routingKey: row.routingKey, body: row.body,
                properties: AMQPProperties(
                    contentType: "application/json", headers: row.headerValues.mapValues { .string($0) },
                    persistent: true, messageID: row.messageID, timestamp: UInt64(row.createdAt)))
        }
        let results = await channel.publish(batch: messages)
        // Only the confirmed prefix goes: a later row must not leave before an earlier one.
        let confirmed = zip(batch, results).prefix { if case .success = $0.1 { true } else { false } }.map { $0.0.seq! }
        if !confirmed.isEmpty {
            try await store.write { db in try Outbox.remove(db, seqs: Array(confirmed)) }
            metrics.published(batch[0].exchange, count: confirmed.count)
        }
        if confirmed.count < batch.count, case .failure(let error) = results[confirmed.count] {
            throw error
        }
        return confirmed.count
    }
}
