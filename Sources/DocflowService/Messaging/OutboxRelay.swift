import AMQPClient
import DocflowCore
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

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
    /// Confirmed rows are deleted in the background, a batch at a time: a crash before the
    /// delete only publishes them again (consumers dedupe by id), and the relay's loop never
    /// waits for a delete's commit.
    private let cursor = Mutex<(published: Int64, deleted: Int64)>((0, 0))

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
            try? await deletePublished(force: true)
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
    }

    /// Publishes up to one batch; returns how many rows the broker confirmed.
    @discardableResult
    func flushBatch() async throws -> Int {
        let after = cursor.withLock { $0.published }
        let batch = try await store.read { [batchSize] db in try Outbox.pending(db, after: after, limit: batchSize) }
        guard !batch.isEmpty else {
            try await deletePublished(force: true)
            return 0
        }
        let messages = batch.map { row in
            AMQPMessage(
                exchange: row.exchange, routingKey: row.routingKey, body: row.body,
                properties: AMQPProperties(
                    contentType: "application/json", headers: row.headerValues.mapValues { .string($0) },
                    persistent: true, messageID: row.messageID, timestamp: UInt64(row.createdAt)))
        }
        let results = await channel.publish(batch: messages)
        // Only the confirmed prefix counts: a later row must not leave before an earlier one.
        let confirmed = zip(batch, results).prefix { if case .success = $0.1 { true } else { false } }.count
        if confirmed > 0 {
            let last = batch[confirmed - 1].seq!
            cursor.withLock { $0.published = last }
            metrics.published(batch[0].exchange, count: confirmed)
            try await deletePublished(force: false)
        }
        if confirmed < batch.count, case .failure(let error) = results[confirmed] {
            // Start again from the first unconfirmed row.
            throw error
        }
        return confirmed
    }

    /// Deletes confirmed rows once enough of them piled up, or when asked to.
    private func deletePublished(force: Bool) async throws {
        let (published, deleted) = cursor.withLock { $0 }
        guard published > deleted, force || published - deleted >= 4096 else { return }
        try await store.write { db in try Outbox.remove(db, upTo: published) }
        cursor.withLock { $0.deleted = max($0.deleted, published) }
    }
}
