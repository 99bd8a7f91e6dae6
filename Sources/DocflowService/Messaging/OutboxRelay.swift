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
/// deletes) is the relay loop's work. Up to `maxInFlight` rounds are on the wire at once, in
/// order, so a commit never waits for the confirms of the ones before.
final class OutboxRelay: Service, Sendable {
    /// A round of batches on the wire.
    private struct Round {
        let number: Int
        let batches: [OutboxBatch]
        let messageCount: Int
        var results: [Result<Void, any Error>]?
    }

    private struct State {
        /// The last `seq` put on the wire, and the last the broker confirmed (with every one
        /// before it), and the last deleted.
        var submitted: Int64 = 0
        var published: Int64 = 0
        var deleted: Int64 = 0
        /// On the wire, in order.
        var rounds: [Round] = []
        var nextRound = 0
        /// Batches handed over that wait for the loop, in `seq` order.
        var handed: [OutboxBatch] = []
        var handedMessages = 0
        /// The table may hold batches after `submitted` that were never handed over: at the
        /// start, after a commit outside the journal, after an overflow, after a failure.
        var tableUnread = true
        /// The loop is reading the table: new batches wait for it.
        var reading = false
        /// A round failed: nothing goes on the wire until every round out settles and the loop
        /// starts again from the first unconfirmed batch.
        var failure: (any Error)?
        var lastDelete = ContinuousClock.now
        /// The loop was asked to delete; asked once per pile-up.
        var deleteAsked = false

        /// Messages on the wire the broker has not answered for.
        var unconfirmed: Int { rounds.reduce(0) { $0 + $1.messageCount } }
    }

    private let store: Store
    private let channel: AMQPChannel
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let wakeup = WakeSignal()
    /// Messages per round taken from the backlog; a batch is never split.
    private let roundSize = 2048
    /// Rounds on the wire at once. Under a light load a round is one commit, and confirms take a
    /// few milliseconds, so many small rounds may be out at once.
    private let maxInFlight = 64
    /// And at most this many messages unconfirmed.
    private let maxUnconfirmed = 16_384
    /// Past this many messages held in memory, batches are left to be read from the table.
    private let memoryLimit = 100_000
    /// Confirmed batches are deleted in the background once this many piled up or a second
    /// passed: a crash before the delete only publishes them again, and nothing waits for it.
    private let deleteEvery: Int64 = 64
    private let state = Mutex(State())
    /// Held while a round is taken and put on the wire, so rounds leave in the order they were
    /// taken, whichever thread takes them. Never held by a publish's completion.
    private let wire = Mutex(())

    init(store: Store, channel: AMQPChannel, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.channel = channel
        self.metrics = metrics
        self.logger = logger
    }

    /// Something was committed to the outbox outside the journal.
    func wake() {
        state.withLock { $0.tableUnread = true }
        wakeup.signal()
    }

    /// The journal committed `batch` (nil: a commit without events). Called on its thread.
    func committed(_ batch: OutboxBatch?) {
        guard let batch else { return }
        let needsLoop = wire.withLock { _ -> Bool in
            let round = state.withLock { state -> Round? in
                guard batch.seq > state.published else { return nil }
                if state.handed.isEmpty, !state.tableUnread, !state.reading, state.failure == nil,
                    batch.seq == state.submitted + 1, hasRoom(state)
                {
                    return take([batch], &state)
                }
                if state.handedMessages + batch.messages.count > memoryLimit {
                    // The broker is not keeping up (or away): the table has it all.
                    state.handed.removeAll()
                    state.handedMessages = 0
                    state.tableUnread = true
                } else {
                    state.handed.append(batch)
                    state.handedMessages += batch.messages.count
                }
                return nil
            }
            guard let round else { return true }
            send(round)
            return false
        }
        if needsLoop { wakeup.signal() }
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    try await advance()
                } catch {
                    logger.error("publishing status events failed; retrying", metadata: ["error": "\(error)"])
                    // Commits keep signalling: without a pause, a broker outage would spin here.
                    try? await Task.sleep(for: .milliseconds(500))
                }
                await wakeup.wait(timeout: .seconds(1))
            }
            // What is left is published on the next start.
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while ContinuousClock.now < deadline, channel.connection.isConnected {
                guard (try? await advance()) != nil else { break }
                let idle = state.withLock { $0.rounds.isEmpty && $0.handed.isEmpty && !$0.tableUnread }
                if idle { break }
                await wakeup.wait(timeout: .milliseconds(100))
            }
            try? await deletePublished(force: true)
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
    }

    /// Recovers from a failed round once every round out has settled, puts waiting batches (from
    /// memory, or from the table) on the wire while there is room, and deletes what the broker
    /// confirmed. Throws the failure it recovered from.
    func advance() async throws {
        let failure = state.withLock { state -> (any Error)? in
            guard let failure = state.failure, state.rounds.isEmpty else { return nil }
            // Later rounds may have been confirmed too, but publishing starts again from the
            // first unconfirmed batch, read from the table.
            state.failure = nil
            state.submitted = state.published
            state.handed.removeAll()
            state.handedMessages = 0
            state.tableUnread = true
            return failure
        }
        if let failure { throw failure }
        while try await submitWaiting() {}
        try await deletePublished(force: false)
    }

    /// Puts the next waiting round on the wire; false when there is none or no room.
    private func submitWaiting() async throws -> Bool {
        enum Next {
            case none
            case sent
            case readTable(after: Int64)
        }
        let next = wire.withLock { _ -> Next in
            let next = state.withLock { state -> (Next, Round?) in
                guard state.failure == nil, !state.reading, hasRoom(state) else { return (.none, nil) }
                let batches = takeHanded(&state)
                if !batches.isEmpty { return (.sent, take(batches, &state)) }
                guard state.tableUnread || !state.handed.isEmpty else { return (.none, nil) }
                // A gap before what is in memory, or batches only the table has.
                state.reading = true
                state.tableUnread = false
                return (.readTable(after: state.submitted), nil)
            }
            if let round = next.1 { send(round) }
            return next.0
        }
        let after: Int64
        switch next {
        case .none: return false
        case .sent: return true
        case .readTable(let from): after = from
        }
        let read: [OutboxBatch]
        do {
            read = try await store.read { db in try Outbox.pending(db, after: after, limit: 64) }
        } catch {
            state.withLock { state in
                state.reading = false
                state.tableUnread = true
            }
            throw error
        }
        wire.withLock { _ in
            let round = state.withLock { state -> Round? in
                state.reading = false
                if read.count == 64 { state.tableUnread = true }
                let fresh = read.filter { $0.seq > state.submitted }
                return fresh.isEmpty ? nil : take(fresh, &state)
            }
            if let round { send(round) }
        }
        // Read again while the table had more, or batches are handed over after a gap.
        return !read.isEmpty
    }

    private func hasRoom(_ state: State) -> Bool {
        state.rounds.count < maxInFlight && state.unconfirmed < maxUnconfirmed
    }

    /// The handed-over batches that follow `submitted` without a gap, up to one round; none when
    /// the next one is not among them (the table has it).
    private func takeHanded(_ state: inout State) -> [OutboxBatch] {
        var skip = 0
        while skip < state.handed.count, state.handed[skip].seq <= state.submitted { skip += 1 }
        var take = skip
        var next = state.submitted + 1
        var count = 0
        while take < state.handed.count, state.handed[take].seq == next,
            count == 0 || count + state.handed[take].messages.count <= roundSize
        {
            count += state.handed[take].messages.count
            next += 1
            take += 1
        }
        let taken = Array(state.handed[skip..<take])
        state.handedMessages -= state.handed[..<take].reduce(0) { $0 + $1.messages.count }
        state.handed.removeFirst(take)
        return taken
    }

    /// Records `batches` as the next round on the wire; the caller sends it under `wire`.
    private func take(_ batches: [OutboxBatch], _ state: inout State) -> Round {
        let round = Round(
            number: state.nextRound, batches: batches, messageCount: batches.reduce(0) { $0 + $1.messages.count })
        state.nextRound += 1
        state.submitted = batches[batches.count - 1].seq
        state.rounds.append(round)
        return round
    }

    private func send(_ round: Round) {
        let messages = round.batches.flatMap(\.messages).map { message in
            AMQPMessage(
                exchange: message.exchange, routingKey: message.routingKey, body: message.body,
                properties: AMQPProperties(
                    contentType: "application/json", headers: message.headers.mapValues { .string($0) },
                    persistent: true, messageID: message.messageID, timestamp: UInt64(message.createdAt)))
        }
        channel.publish(batch: messages) { [self] results in settled(round: round.number, results) }
    }

    /// The broker answered for every message of a round: settles the rounds at the head that are
    /// answered, in order. Wakes the loop only when it has work: a failure, batches waiting for
    /// room, or a pile of batches to delete.
    private func settled(round number: Int, _ results: [Result<Void, any Error>]) {
        var confirmed: [(exchange: String, count: Int)] = []
        let wake = state.withLock { state -> Bool in
            if let index = state.rounds.firstIndex(where: { $0.number == number }) {
                state.rounds[index].results = results
            }
            while let round = state.rounds.first, let results = round.results {
                state.rounds.removeFirst()
                guard state.failure == nil else { continue }
                let (count, failure) = settle(round, results, &state)
                if count > 0 { confirmed.append((round.batches[0].messages[0].exchange, count)) }
                if let failure { state.failure = failure }
            }
            var wake = state.failure != nil && state.rounds.isEmpty
            if !state.handed.isEmpty || state.tableUnread { wake = true }
            if !state.deleteAsked, state.published - state.deleted >= deleteEvery {
                state.deleteAsked = true
                wake = true
            }
            return wake
        }
        for (exchange, count) in confirmed { metrics.published(exchange, count: count) }
        if wake { wakeup.signal() }
    }

    /// Moves `published` past the round's whole batches that the broker confirmed, up to the
    /// first failure; returns how many messages that covered, and the failure.
    private func settle(_ round: Round, _ results: [Result<Void, any Error>], _ state: inout State)
        -> (Int, (any Error)?)
    {
        let confirmed = results.prefix { if case .success = $0 { true } else { false } }.count
        var covered = 0
        for batch in round.batches {
            guard covered + batch.messages.count <= confirmed else { break }
            covered += batch.messages.count
            state.published = max(state.published, batch.seq)
        }
        if confirmed < results.count, case .failure(let error) = results[confirmed] { return (covered, error) }
        return (covered, nil)
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
            state.deleteAsked = false
        }
    }
}
