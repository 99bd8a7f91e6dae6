import AMQPClient
import DocflowCore
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Publishes committed status events from the outbox, in commit order, with publisher confirms,
/// and deletes batches once the broker confirmed them. Rows outlive crashes and broker outages;
/// a message may be published twice (consumers dedupe by `message_id`), never lost.
///
/// The journal hands each committed batch over in memory (`committed`), so the relay does not
/// read back what was just written; whenever the next batch in `seq` order is not in memory (after
/// a start, a commit outside the journal, or an overflow while the broker is away) it reads the
/// outbox table instead. Up to `maxInFlight` rounds are on the wire at once, in order, so a commit
/// never waits for the confirms of the ones before.
final class OutboxRelay: Service, Sendable {
    private struct State {
        /// The last `seq` the broker confirmed (with every one before it), and the last deleted.
        var published: Int64 = 0
        var deleted: Int64 = 0
        /// Batches handed over after their commit, in `seq` order.
        var handed: [OutboxBatch] = []
        var handedMessages = 0
        var lastDelete = ContinuousClock.now
        /// Results of rounds the broker settled, by round number.
        var settled: [Int: [Result<Void, any Error>]] = [:]
    }

    /// A round of batches on the wire.
    fileprivate struct Round {
        let number: Int
        let batches: [OutboxBatch]

        var messageCount: Int { batches.reduce(0) { $0 + $1.messages.count } }
    }

    private let store: Store
    private let channel: AMQPChannel
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let wakeup = WakeSignal()
    /// Messages per round; a batch is never split.
    private let roundSize = 2048
    /// Rounds are as big as what committed since the last one: under a light load, a commit or
    /// two. Confirms take a few milliseconds, so many small rounds may be out at once.
    private let maxInFlight = 64
    /// And at most this many messages unconfirmed.
    private let maxUnconfirmed = 16_384
    /// Past this many messages held in memory, batches are left to be read from the table.
    private let memoryLimit = 100_000
    /// Confirmed batches are deleted in the background once this many piled up: a crash before
    /// the delete only publishes them again, and the loop never waits for a delete's commit.
    private let deleteEvery: Int64 = 64
    private let state = Mutex(State())

    init(store: Store, channel: AMQPChannel, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.channel = channel
        self.metrics = metrics
        self.logger = logger
    }

    /// Something was committed to the outbox outside the journal.
    func wake() {
        wakeup.signal()
    }

    /// The journal committed `batch` (nil: a commit without events).
    func committed(_ batch: OutboxBatch?) {
        guard let batch else { return }
        state.withLock { state in
            guard batch.seq > state.published else { return }
            if state.handedMessages + batch.messages.count > memoryLimit {
                // The broker is not keeping up (or away): the table has it all.
                state.handed.removeAll()
                state.handedMessages = 0
                return
            }
            state.handed.append(batch)
            state.handedMessages += batch.messages.count
        }
        wakeup.signal()
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            var pipeline = Pipeline()
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    if try await advance(&pipeline) == 0 { await wakeup.wait(timeout: .seconds(1)) }
                } catch {
                    logger.error("publishing status events failed; retrying", metadata: ["error": "\(error)"])
                    await wakeup.wait(timeout: .seconds(1))
                }
            }
            // What is left is published on the next start.
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while ContinuousClock.now < deadline, channel.connection.isConnected {
                guard let progress = try? await advance(&pipeline), progress > 0 || !pipeline.rounds.isEmpty else {
                    break
                }
                if progress == 0 { await wakeup.wait(timeout: .milliseconds(100)) }
            }
            try? await deletePublished(force: true)
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
    }

    /// What is on the wire; owned by the relay's loop.
    struct Pipeline {
        fileprivate var rounds: [Round] = []
        /// The last `seq` put on the wire.
        var submitted: Int64 = 0
        var nextRound = 0

        var unconfirmed: Int { rounds.reduce(0) { $0 + $1.messageCount } }
    }

    /// Settles the rounds the broker answered, in order, then puts new ones on the wire while
    /// there is room. Returns how many messages it confirmed or sent (0: nothing to do yet).
    @discardableResult
    func advance(_ pipeline: inout Pipeline) async throws -> Int {
        var progress = 0
        while let round = pipeline.rounds.first,
            let results = state.withLock({ $0.settled.removeValue(forKey: round.number) })
        {
            pipeline.rounds.removeFirst()
            progress += results.count
            if let error = settle(round, results) {
                // Later rounds may be confirmed too, but publishing starts again from the first
                // unconfirmed batch: wait for them, then read the table from there.
                while !pipeline.rounds.isEmpty {
                    let next = pipeline.rounds.removeFirst()
                    while state.withLock({ $0.settled.removeValue(forKey: next.number) }) == nil {
                        await wakeup.wait(timeout: .milliseconds(100))
                    }
                }
                pipeline.submitted = state.withLock { $0.published }
                throw error
            }
        }
        while pipeline.rounds.count < maxInFlight, pipeline.unconfirmed < maxUnconfirmed {
            let (after, inMemory) = takeHanded(after: pipeline.submitted)
            var batches = inMemory
            if batches.isEmpty {
                batches = try await store.read { db in try Outbox.pending(db, after: after, limit: 64) }
            }
            guard let last = batches.last else { break }
            let round = Round(number: pipeline.nextRound, batches: batches)
            pipeline.nextRound += 1
            pipeline.submitted = last.seq
            pipeline.rounds.append(round)
            let messages = batches.flatMap(\.messages).map { message in
                AMQPMessage(
                    exchange: message.exchange, routingKey: message.routingKey, body: message.body,
                    properties: AMQPProperties(
                        contentType: "application/json", headers: message.headers.mapValues { .string($0) },
                        persistent: true, messageID: message.messageID, timestamp: UInt64(message.createdAt)))
            }
            progress += messages.count
            channel.publish(batch: messages) { [self] results in
                state.withLock { $0.settled[round.number] = results }
                wakeup.signal()
            }
        }
        try await deletePublished(force: false)
        return progress
    }

    /// Moves `published` past the round's whole batches that the broker confirmed, up to the
    /// first failure; returns that failure.
    private func settle(_ round: Round, _ results: [Result<Void, any Error>]) -> (any Error)? {
        let confirmed = results.prefix { if case .success = $0 { true } else { false } }.count
        var covered = 0
        var last: Int64?
        for batch in round.batches {
            guard covered + batch.messages.count <= confirmed else { break }
            covered += batch.messages.count
            last = batch.seq
        }
        if let last {
            state.withLock { $0.published = max($0.published, last) }
            metrics.published(round.batches[0].messages[0].exchange, count: covered)
        }
        if confirmed < results.count, case .failure(let error) = results[confirmed] { return error }
        return nil
    }

    /// The handed-over batches that follow `submitted` without a gap, up to one round; when the
    /// next one is not among them, none (the caller reads the table after `submitted`).
    private func takeHanded(after submitted: Int64) -> (after: Int64, [OutboxBatch]) {
        state.withLock { state in
            var skip = 0
            while skip < state.handed.count, state.handed[skip].seq <= submitted { skip += 1 }
            var take = skip
            var next = submitted + 1
            var count = 0
            while take < state.handed.count, state.handed[take].seq == next,
                count == 0 || count + state.handed[take].messages.count <= roundSize
            {
                count += state.handed[take].messages.count
                next += 1
                take += 1
            }
            let taken = Array(state.handed[skip..<take])
            let dropped = state.handed[..<take].reduce(0) { $0 + $1.messages.count }
            state.handed.removeFirst(take)
            state.handedMessages -= dropped
            return (submitted, taken)
        }
    }

    /// Deletes confirmed batches once enough of them piled up or a second passed since the last
    /// delete, or when asked to: one delete per commit would double the write transactions.
    private func deletePublished(force: Bool) async throws {
        let (published, deleted, lastDelete) = state.withLock { ($0.published, $0.deleted, $0.lastDelete) }
        guard published > deleted,
            force || published - deleted >= deleteEvery || ContinuousClock.now - lastDelete > .seconds(1)
        else { return }
        try await store.write { db in try Outbox.remove(db, upTo: published) }
        state.withLock { state in
            state.deleted = max(state.deleted, published)
            state.lastDelete = .now
        }
    }
}
