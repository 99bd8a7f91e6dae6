import AMQPClient
import DocflowStore

/// The bookkeeping of `OutboxRelay`, without I/O: which committed batches go on the wire and
/// when, in `seq` order, what the broker confirmed, and when to read or clean the table. Each
/// event returns the one thing its caller must do; the relay runs it outside its lock.
///
/// Guarantees: batches are put on the wire in `seq` order, at most `maxInFlight` rounds and
/// about `maxUnconfirmed` messages unconfirmed at once; `published` only moves over batches the
/// broker confirmed whole, in order; after a failed round nothing more goes out until every
/// round out has settled, then publishing starts again from the table after `published`. A
/// message the broker refuses for good (too large for it, or nacked `parkAfterNacks` times in a
/// row) is named in the failure, to be parked: it never blocks the ones after it.
struct OutboxRelayStateMachine {
    /// A message the broker will not take, to be moved out of the outbox.
    struct Refusal: Sendable, Equatable {
        /// The batch that holds it.
        let seq: Int64
        let messageID: String
        let reason: String
    }

    /// A round of batches, numbered in the order rounds are taken: the relay sends them in it.
    struct Round: Sendable {
        let number: Int
        let batches: [OutboxBatch]
        let messageCount: Int
    }

    enum Action {
        /// Put this round on the wire, after every round numbered before it.
        case publish(Round)
        /// Read up to `limit` batches after `seq` from the table; answer with `tableRead`.
        case readTable(after: Int64, limit: Int)
        /// Delete the batches up to `seq`; answer with `deleted`.
        case delete(upTo: Int64)
        /// A round failed; every round out has settled and the next tick reads the table after
        /// `published`. Park the refused message if there is one, report the error, and pause
        /// before the next tick.
        case failed(any Error, park: Refusal?)
        /// Signal the relay's loop: it has work.
        case wakeLoop
        /// The loop has nothing to do until it is woken (or a timeout passes).
        case wait
        /// Shutting down, and everything is published and deleted.
        case finish
        case none
    }

    /// What settling a round did: the messages confirmed (for the metrics), and whether the
    /// loop has work now.
    struct Settled: Equatable {
        var confirmed: Int
        var wakeLoop: Bool
    }

    /// Messages per round taken from the backlog; a batch is never split.
    let roundSize: Int
    /// Rounds on the wire at once. Under a light load a round is one commit, and confirms take a
    /// few milliseconds, so many small rounds may be out at once.
    let maxInFlight: Int
    /// And at most this many messages unconfirmed.
    let maxUnconfirmed: Int
    /// Past this many messages held in memory, batches are left to be read from the table.
    let memoryLimit: Int
    /// Batches read from the table at once.
    let readLimit: Int
    /// Confirmed batches are deleted once this many piled up or `deleteAfter` passed: a crash
    /// before the delete only publishes them again, and one delete per commit would double the
    /// write transactions.
    let deleteEvery: Int64
    let deleteAfter: Duration
    /// A message nacked this many times in a row is parked: a nack may be passing (a queue over
    /// its length with `reject-publish`), so it gets a few tries first.
    let parkAfterNacks: Int

    /// The last `seq` put on the wire, the last the broker confirmed (with every one before it),
    /// and the last deleted.
    private(set) var submitted: Int64 = 0
    private(set) var published: Int64 = 0
    private(set) var deleted: Int64 = 0
    /// On the wire, in order, with the broker's answers once they came.
    private var rounds: [(round: Round, results: [Result<Void, any Error>]?)] = []
    private var nextRound = 0
    /// Batches handed over that wait for the loop, in `seq` order.
    private var handed: [OutboxBatch] = []
    private var handedMessages = 0
    /// The table may hold batches after `submitted` that were never handed over: at the start,
    /// after a commit outside the journal, after an overflow, after a failure.
    private var tableUnread = true
    /// The loop is reading the table: new batches wait for it.
    private var reading = false
    /// A table read came back empty in this pass of the loop: a gap before the handed batches is
    /// read again in the next pass, not at once.
    private var readEmpty = false
    /// A round failed: nothing goes on the wire until every round out settles.
    private var failure: (any Error)?
    /// The message behind `failure`, when the broker refused it for good.
    private var refusal: Refusal?
    /// The message the broker nacked last, and how many times in a row.
    private var nacks: (messageID: String, count: Int)?
    private var lastDelete: ContinuousClock.Instant
    /// The loop was asked to delete; asked once per pile-up.
    private var deleteAsked = false
    private var stopping = false

    init(
        now: ContinuousClock.Instant, roundSize: Int = 2048, maxInFlight: Int = 64, maxUnconfirmed: Int = 16_384,
        memoryLimit: Int = 100_000, readLimit: Int = 64, deleteEvery: Int64 = 64, deleteAfter: Duration = .seconds(1),
        parkAfterNacks: Int = 3
    ) {
        self.parkAfterNacks = parkAfterNacks
        self.lastDelete = now
        self.roundSize = roundSize
        self.maxInFlight = maxInFlight
        self.maxUnconfirmed = maxUnconfirmed
        self.memoryLimit = memoryLimit
        self.readLimit = readLimit
        self.deleteEvery = deleteEvery
        self.deleteAfter = deleteAfter
    }

    /// Messages on the wire the broker has not answered for.
    var unconfirmed: Int { rounds.reduce(0) { $0 + $1.round.messageCount } }
    var roundsInFlight: Int { rounds.count }
    /// Nothing on the wire and nothing waiting.
    var isIdle: Bool { rounds.isEmpty && handed.isEmpty && !tableUnread && !reading }

    // MARK: Events

    /// The journal committed `batch`: `.publish` when it is the next one with nothing waiting
    /// before it and room on the wire (the fast path), else `.wakeLoop`, or `.none` when it was
    /// published already.
    mutating func committed(_ batch: OutboxBatch) -> Action {
        guard batch.seq > published else { return .none }
        if handed.isEmpty, !tableUnread, !reading, failure == nil, batch.seq == submitted + 1, hasRoom {
            return .publish(take([batch]))
        }
        if handedMessages + batch.messages.count > memoryLimit {
            // The broker is not keeping up (or away): the table has it all.
            handed.removeAll()
            handedMessages = 0
            tableUnread = true
        } else {
            handed.append(batch)
            handedMessages += batch.messages.count
        }
        readEmpty = false
        return .wakeLoop
    }

    /// Something was committed to the outbox outside the journal: the table has it.
    mutating func committedOutsideJournal() -> Action {
        tableUnread = true
        return .wakeLoop
    }

    /// The loop asks what to do next: recover from a failure once every round out settled, put
    /// waiting batches on the wire while there is room (from memory, or from the table), delete
    /// what the broker confirmed, and when shutting down, say when everything is done.
    mutating func tick(now: ContinuousClock.Instant) -> Action {
        if let error = failure {
            guard rounds.isEmpty else { return deleteIfDue(now: now, force: false) ?? .wait }
            // Later rounds may have been confirmed too, but publishing starts again from the
            // first unconfirmed batch, read from the table.
            failure = nil
            let park = refusal
            refusal = nil
            if park != nil { nacks = nil }
            submitted = published
            handed.removeAll()
            handedMessages = 0
            tableUnread = true
            readEmpty = false
            return .failed(error, park: park)
        }
        if !reading, hasRoom {
            let batches = takeHanded()
            if !batches.isEmpty { return .publish(take(batches)) }
            if tableUnread || (!handed.isEmpty && !readEmpty) {
                // A gap before what is in memory, or batches only the table has.
                reading = true
                tableUnread = false
                return .readTable(after: submitted, limit: readLimit)
            }
        }
        if let delete = deleteIfDue(now: now, force: stopping && isIdle) { return delete }
        readEmpty = false
        return stopping && isIdle ? .finish : .wait
    }

    /// The table read asked for returned `batches`: `.publish` for those not on the wire yet.
    mutating func tableRead(_ batches: [OutboxBatch]) -> Action {
        reading = false
        if batches.count >= readLimit { tableUnread = true }
        if batches.isEmpty { readEmpty = true }
        guard let first = batches.firstIndex(where: { $0.seq > submitted }) else { return .none }
        return .publish(take(Array(batches[first...])))
    }

    /// The table read asked for failed: it is asked again on the next tick.
    mutating func tableReadFailed() {
        reading = false
        tableUnread = true
    }

    /// The broker answered for every message of round `number`: settles the rounds at the head
    /// that are answered, in order. The loop has work after a failure once every round is in,
    /// with batches waiting (for room), or with a pile of batches to delete.
    mutating func roundSettled(_ number: Int, _ results: [Result<Void, any Error>]) -> Settled {
        if let index = rounds.firstIndex(where: { $0.round.number == number }) {
            rounds[index].results = results
        }
        var confirmed = 0
        while let head = rounds.first, let results = head.results {
            rounds.removeFirst()
            guard failure == nil else { continue }
            let (count, error) = settle(head.round, results)
            confirmed += count
            if let error {
                failure = error
                refusal = refused(head.round, results)
            }
        }
        var wake = failure != nil && rounds.isEmpty
        if !handed.isEmpty || tableUnread { wake = true }
        if !deleteAsked, published - deleted >= deleteEvery {
            deleteAsked = true
            wake = true
        }
        return Settled(confirmed: confirmed, wakeLoop: wake)
    }

    /// The batches up to `seq` were deleted at `now`.
    mutating func deleted(upTo seq: Int64, now: ContinuousClock.Instant) {
        deleted = max(deleted, seq)
        lastDelete = now
        deleteAsked = false
    }

    /// From now on the loop publishes what is left, and `tick` says `.finish` once done.
    mutating func shutdown() {
        stopping = true
    }

    /// The last delete before the process exits, whatever is left on the wire: what the broker
    /// confirmed and is not deleted yet.
    func finalDelete() -> Action {
        published > deleted ? .delete(upTo: published) : .none
    }

    // MARK: Bookkeeping

    private var hasRoom: Bool {
        rounds.count < maxInFlight && unconfirmed < maxUnconfirmed
    }

    private func deleteIfDue(now: ContinuousClock.Instant, force: Bool) -> Action? {
        guard published > deleted,
            force || published - deleted >= deleteEvery || now - lastDelete > deleteAfter
        else { return nil }
        return .delete(upTo: published)
    }

    /// The handed-over batches that follow `submitted` without a gap, up to one round; none when
    /// the next one is not among them (the table has it).
    private mutating func takeHanded() -> [OutboxBatch] {
        var skip = 0
        while skip < handed.count, handed[skip].seq <= submitted { skip += 1 }
        var take = skip
        var next = submitted + 1
        var count = 0
        while take < handed.count, handed[take].seq == next,
            count == 0 || count + handed[take].messages.count <= roundSize
        {
            count += handed[take].messages.count
            next += 1
            take += 1
        }
        let taken = Array(handed[skip..<take])
        handedMessages -= handed[..<take].reduce(0) { $0 + $1.messages.count }
        handed.removeFirst(take)
        return taken
    }

    /// Records `batches` as the next round on the wire.
    private mutating func take(_ batches: [OutboxBatch]) -> Round {
        let round = Round(
            number: nextRound, batches: batches, messageCount: batches.reduce(0) { $0 + $1.messages.count })
        nextRound += 1
        submitted = batches[batches.count - 1].seq
        rounds.append((round, nil))
        return round
    }

    /// The message to park after `round` failed, if the broker refused one for good: the first it
    /// nacked, once nacked `parkAfterNacks` times in a row; or the one whose size the broker named
    /// when it closed the channel over a message too large (RabbitMQ: `PRECONDITION_FAILED -
    /// message size 140000123 is larger than configured max size 134217728`).
    private mutating func refused(_ round: Round, _ results: [Result<Void, any Error>]) -> Refusal? {
        var failed: [(seq: Int64, message: OutboxMessage, error: any Error)] = []
        var index = 0
        for batch in round.batches {
            for message in batch.messages {
                if index < results.count, case .failure(let error) = results[index] {
                    failed.append((batch.seq, message, error))
                }
                index += 1
            }
        }
        guard let first = failed.first, let error = first.error as? AMQPError else { return nil }
        switch error {
        case .nacked:
            let count = nacks?.messageID == first.message.messageID ? nacks!.count + 1 : 1
            nacks = (first.message.messageID, count)
            guard count >= parkAfterNacks else { return nil }
            return Refusal(
                seq: first.seq, messageID: first.message.messageID,
                reason: "the broker refused it \(count) times in a row (basic.nack)")
        case .channelClosed(let code, let text) where code == 406:
            guard let size = Self.refusedSize(text),
                let culprit = failed.first(where: { $0.message.body.count == size })
            else { return nil }
            return Refusal(seq: culprit.seq, messageID: culprit.message.messageID, reason: "the broker said: \(text)")
        default:
            return nil
        }
    }

    /// N in a broker's `message size N is larger than ...`.
    static func refusedSize(_ text: String) -> Int? {
        guard let range = text.range(of: "message size ") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }

    /// Moves `published` past the round's whole batches that the broker confirmed, up to the
    /// first failure; returns how many messages that covered, and the failure.
    private mutating func settle(_ round: Round, _ results: [Result<Void, any Error>]) -> (Int, (any Error)?) {
        let confirmed = results.prefix { if case .success = $0 { true } else { false } }.count
        var covered = 0
        for batch in round.batches {
            guard covered + batch.messages.count <= confirmed else { break }
            covered += batch.messages.count
            published = max(published, batch.seq)
        }
        if confirmed < results.count, case .failure(let error) = results[confirmed] { return (covered, error) }
        return (covered, nil)
    }
}
