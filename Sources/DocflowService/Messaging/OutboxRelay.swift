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
/// The journal hands each committed batch over in memory (`committed`). When it is the next one
/// in `seq` order and nothing waits before it, it goes on the wire at once from the journal's
/// thread, and the broker's confirms settle it on the connection's thread: the steady state
/// involves no task of the relay's own. Everything else (batches that wait for room, a gap in
/// `seq`, the table after a start, a commit outside the journal or an overflow, a failed round,
/// deletes) is the relay loop's work. Up to 64 rounds are on the wire at once, in order, so a
/// commit never waits for the confirms of the ones before.
///
/// The bookkeeping is `OutboxRelayStateMachine`; this class holds it under one lock, takes each
/// event to it once, and does what it answers outside the lock.
final class OutboxRelay: Service, Sendable {
    private typealias Round = OutboxRelayStateMachine.Round

    /// Rounds taken but not sent because one numbered before them is not sent yet.
    private struct Wire {
        var next = 0
        var parked: [(number: Int, messages: [AMQPMessage])] = []
    }

    private let store: Store
    /// The confirm-mode channel rounds go out on; replaced after the broker refused a round (see
    /// `replaceChannel`).
    private let channel: Mutex<AMQPChannel>
    /// Where status events go; each message's routing key is its event and workflow id.
    private let exchange: String
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let wakeup = WakeSignal()
    private let state: Mutex<OutboxRelayStateMachine>
    /// Held while a round is put on the wire, so rounds leave in the order they were numbered,
    /// whichever thread took them; a round that comes early is parked and sent by the thread that
    /// sends the one before it. Never taken under the state lock (a publish refused at once, on a
    /// closed connection, settles under it and takes the state lock: only ever in that order).
    private let wire = Mutex(Wire())
    /// Sees each round as it goes on the wire: the web console's live view.
    private let feed: StatusFeed?

    init(
        store: Store, channel: AMQPChannel, exchange: String, metrics: ServiceMetrics, feed: StatusFeed? = nil,
        logger: Logger
    ) {
        self.store = store
        self.feed = feed
        self.channel = Mutex(channel)
        self.exchange = exchange
        self.metrics = metrics
        self.logger = logger
        self.state = Mutex(OutboxRelayStateMachine(now: .now))
    }

    /// Something was committed to the outbox outside the journal.
    func wake() {
        perform(state.withLock { $0.committedOutsideJournal() })
    }

    /// The journal committed `batch` (nil: a commit without events). Called on its thread.
    func committed(_ batch: OutboxBatch?) {
        guard let batch else { return }
        perform(state.withLock { $0.committed(batch) })
    }

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    _ = try await advance()
                } catch {
                    logger.error("publishing status events failed; retrying", metadata: ["error": "\(error)"])
                    if case AMQPError.nacked = error { await replaceChannel() }
                    // Commits keep signalling: without a pause, a broker outage would spin here.
                    try? await Task.sleep(for: .milliseconds(500))
                }
                await wakeup.wait(timeout: .seconds(1))
            }
            // What is left is published on the next start; cancelled, the relay does not wait.
            state.withLock { $0.shutdown() }
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while !Task.isCancelled, ContinuousClock.now < deadline, channel.withLock(\.connection).isConnected {
                guard let finished = try? await advance(), !finished else { break }
                await wakeup.wait(timeout: .milliseconds(100))
            }
            if case .delete(let seq) = state.withLock({ $0.finalDelete() }) { try? await delete(upTo: seq) }
        } onCancelOrGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
    }

    /// Does what the state machine asks until it says to wait: recovers from a failed round
    /// (throwing the failure), puts waiting batches (from memory, or from the table) on the wire
    /// while there is room, and deletes what the broker confirmed. True once shutting down and
    /// everything is done.
    func advance() async throws -> Bool {
        while true {
            switch state.withLock({ $0.tick(now: .now) }) {
            case .publish(let round):
                send(round)
            case .readTable(let after, let limit):
                let read: [OutboxBatch]
                do {
                    read = try await store.read { db in try Outbox.pending(db, after: after, limit: limit) }
                } catch {
                    state.withLock { $0.tableReadFailed() }
                    throw error
                }
                perform(state.withLock { $0.tableRead(read) })
            case .delete(let seq):
                try await delete(upTo: seq)
            case .failed(let error, let park):
                if let park { try await self.park(park) }
                throw error
            case .wait, .wakeLoop, .none:
                return false
            case .finish:
                return true
            }
        }
    }

    /// Does what an event outside the loop asks.
    private func perform(_ action: OutboxRelayStateMachine.Action) {
        switch action {
        case .publish(let round): send(round)
        case .wakeLoop: wakeup.signal()
        default: break
        }
    }

    /// Moves a message the broker will not take out of the way of the ones after it.
    private func park(_ refusal: OutboxRelayStateMachine.Refusal) async throws {
        let parked = try await store.write { db in
            try Outbox.park(db, seq: refusal.seq, messageID: refusal.messageID, reason: refusal.reason)
        }
        guard parked else { return }
        metrics.parked(exchange)
        logger.error(
            "parked a status event the broker refused; the ones after it go on",
            metadata: ["message_id": "\(refusal.messageID)", "reason": "\(refusal.reason)"])
    }

    private func delete(upTo seq: Int64) async throws {
        try await store.write { db in try Outbox.remove(db, upTo: seq) }
        state.withLock { $0.deleted(upTo: seq, now: .now) }
    }

    private func send(_ round: Round) {
        feed?.relayed(round.batches)
        var messages: [AMQPMessage] = []
        messages.reserveCapacity(round.messageCount)
        for batch in round.batches {
            for message in batch.messages { messages.append(message.amqpMessage(exchange: exchange)) }
        }
        wire.withLock { wire in
            guard round.number == wire.next else {
                wire.parked.append((round.number, messages))
                return
            }
            publish(round.number, messages)
            wire.next += 1
            while let index = wire.parked.firstIndex(where: { $0.number == wire.next }) {
                let (number, messages) = wire.parked.remove(at: index)
                publish(number, messages)
                wire.next += 1
            }
        }
    }

    /// RabbitMQ 3.10 goes on refusing (basic.nack) a channel's publishes to a quorum queue whose
    /// leader was unknown when the channel first published to it, long after a new leader is up
    /// (seen after a node kill: the results queue refused a worker's channel for 90 s). After a
    /// refusal, later rounds go out on a new channel; rounds still on the old one fail with
    /// `closed`, and the state machine sends them again, like any failed round.
    private func replaceChannel() async {
        let old = channel.withLock { $0 }
        do {
            let new = try await old.connection.openChannel()
            try await new.enableConfirms()
            channel.withLock { $0 = new }
            logger.info(
                "publishing status events on a new channel after a refusal", metadata: ["channel": "\(new.number)"])
            await old.close()
        } catch {
            logger.warning("could not open a new channel for status events", metadata: ["error": "\(error)"])
        }
    }

    /// Puts a round on the wire; the broker's answers settle it, on the connection's thread.
    private func publish(_ number: Int, _ messages: [AMQPMessage]) {
        channel.withLock { $0 }.publish(batch: messages) { [self] results in
            let settled = state.withLock { $0.roundSettled(number, results) }
            if settled.confirmed > 0 { metrics.published(exchange, count: settled.confirmed) }
            if settled.wakeLoop { wakeup.signal() }
        }
    }
}
