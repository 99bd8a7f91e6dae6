import AMQPClient
import DocflowStore
import Foundation
import Testing

@testable import DocflowService

/// The relay's bookkeeping, event by event, without a broker or a database.
@Suite struct OutboxRelayStateMachineTests {
    private typealias Machine = OutboxRelayStateMachine

    private struct Nack: Error {}

    private static let message = OutboxMessage(
        event: "workflow.started", workflowID: "w", executionID: "e", messageID: "m", body: Data("{}".utf8),
        createdAt: 0)
    private static let start = ContinuousClock.now

    private static func batch(_ seq: Int64, messages: Int = 1) -> OutboxBatch {
        OutboxBatch(seq: seq, messages: Array(repeating: message, count: messages))
    }

    private static func batches(_ seqs: ClosedRange<Int64>) -> [OutboxBatch] {
        seqs.map { batch($0) }
    }

    /// A relay that started on an empty table.
    private static func started() -> Machine {
        var machine = Machine(now: start)
        #expect(machine.tick(now: start).summary == "read after 0 limit 64")
        #expect(machine.tableRead([]).summary == "none")
        #expect(machine.tick(now: start).summary == "wait")
        return machine
    }

    private static let ok: [Result<Void, any Error>] = [.success(())]

    @Test func aStartReadsTheTableFirstAndCommitsWaitForIt() {
        var machine = Machine(now: Self.start)
        #expect(machine.tick(now: Self.start).summary == "read after 0 limit 64")
        // Committed while the table is read: waits behind what the table holds.
        #expect(machine.committed(Self.batch(66)).summary == "wake")
        #expect(machine.tableRead(Self.batches(1...64)).summary == "publish 0 [1...64]")
        // A full read: there may be more.
        #expect(machine.tick(now: Self.start).summary == "read after 64 limit 64")
        #expect(machine.tableRead([Self.batch(65), Self.batch(66)]).summary == "publish 1 [65, 66]")
        // The handed-over copy of 66 is already out.
        #expect(machine.tick(now: Self.start).summary == "wait")
        #expect(machine.submitted == 66)
        #expect(machine.committed(Self.batch(67)).summary == "publish 2 [67]")
    }

    @Test func theNextBatchInOrderGoesOnTheWireAtOnce() {
        var machine = Self.started()
        #expect(machine.committed(Self.batch(1)).summary == "publish 0 [1]")
        #expect(machine.committed(Self.batch(2, messages: 3)).summary == "publish 1 [2]")
        #expect(machine.roundsInFlight == 2)
        #expect(machine.unconfirmed == 4)
        #expect(machine.tick(now: Self.start).summary == "wait")
    }

    @Test func aGapInSeqIsReadFromTheTable() {
        var machine = Self.started()
        #expect(machine.committed(Self.batch(1)).summary == "publish 0 [1]")
        // 2 was committed outside the journal; 3 may not go before it.
        #expect(machine.committed(Self.batch(3)).summary == "wake")
        #expect(machine.tick(now: Self.start).summary == "read after 1 limit 64")
        #expect(machine.tableRead([Self.batch(2), Self.batch(3)]).summary == "publish 1 [2, 3]")
        #expect(machine.tick(now: Self.start).summary == "wait")
        #expect(machine.committed(Self.batch(4)).summary == "publish 2 [4]")
    }

    @Test func anEmptyReadBeforeAGapIsNotRepeatedInTheSamePass() {
        var machine = Self.started()
        #expect(machine.committed(Self.batch(2)).summary == "wake")
        #expect(machine.tick(now: Self.start).summary == "read after 0 limit 64")
        #expect(machine.tableRead([]).summary == "none")
        #expect(machine.tick(now: Self.start).summary == "wait")
        // The next pass tries again.
        #expect(machine.tick(now: Self.start).summary == "read after 0 limit 64")
    }

    @Test func aCommitOutsideTheJournalIsReadFromTheTable() {
        var machine = Self.started()
        #expect(machine.committedOutsideJournal().summary == "wake")
        #expect(machine.committed(Self.batch(2)).summary == "wake")
        #expect(machine.tick(now: Self.start).summary == "read after 0 limit 64")
        #expect(machine.tableRead([Self.batch(1), Self.batch(2)]).summary == "publish 0 [1, 2]")
    }

    @Test func aFullWindowHoldsBatchesUntilARoundSettles() {
        var machine = Self.started()
        for seq in Int64(1)...64 {
            #expect(machine.committed(Self.batch(seq)).summary == "publish \(seq - 1) [\(seq)]")
        }
        #expect(machine.roundsInFlight == 64)
        #expect(machine.committed(Self.batch(65)).summary == "wake")
        #expect(machine.committed(Self.batch(66)).summary == "wake")
        #expect(machine.tick(now: Self.start).summary == "wait")
        #expect(machine.roundSettled(0, Self.ok) == .init(confirmed: 1, wakeLoop: true))
        #expect(machine.published == 1)
        // Both waiting batches leave as one round.
        #expect(machine.tick(now: Self.start).summary == "publish 64 [65, 66]")
        #expect(machine.tick(now: Self.start).summary == "wait")
    }

    @Test func unconfirmedMessagesAreLimitedToo() {
        var machine = Self.started()
        #expect(machine.committed(Self.batch(1, messages: 16_384)).summary == "publish 0 [1]")
        #expect(machine.committed(Self.batch(2)).summary == "wake")
        #expect(machine.tick(now: Self.start).summary == "wait")
        let results = [Result<Void, any Error>](repeating: .success(()), count: 16_384)
        #expect(machine.roundSettled(0, results) == .init(confirmed: 16_384, wakeLoop: true))
        #expect(machine.tick(now: Self.start).summary == "publish 1 [2]")
    }

    @Test func aRoundFromMemoryStopsBeforeItsSizeLimit() {
        var machine = Self.started()
        #expect(machine.committed(Self.batch(1, messages: 16_384)).summary == "publish 0 [1]")
        for seq in Int64(2)...4 { #expect(machine.committed(Self.batch(seq, messages: 1000)).summary == "wake") }
        let results = [Result<Void, any Error>](repeating: .success(()), count: 16_384)
        _ = machine.roundSettled(0, results)
        // 2,048 messages per round at most, but a batch is never split.
        #expect(machine.tick(now: Self.start).summary == "publish 1 [2, 3]")
        #expect(machine.tick(now: Self.start).summary == "publish 2 [4]")
    }

    @Test func confirmsSettleInRoundOrder() {
        var machine = Self.started()
        for seq in Int64(1)...3 { _ = machine.committed(Self.batch(seq)) }
        #expect(machine.roundSettled(2, Self.ok) == .init(confirmed: 0, wakeLoop: false))
        #expect(machine.roundSettled(1, Self.ok) == .init(confirmed: 0, wakeLoop: false))
        #expect(machine.published == 0)
        #expect(machine.roundSettled(0, Self.ok) == .init(confirmed: 3, wakeLoop: false))
        #expect(machine.published == 3)
        #expect(machine.roundsInFlight == 0)
    }

    @Test func aFailureWaitsForTheRoundsOutThenRereadsFromTheFirstUnconfirmed() {
        var machine = Self.started()
        for seq in Int64(1)...3 { _ = machine.committed(Self.batch(seq)) }
        #expect(machine.roundSettled(1, [.failure(Nack())]) == .init(confirmed: 0, wakeLoop: false))
        #expect(machine.roundSettled(0, Self.ok) == .init(confirmed: 1, wakeLoop: false))
        #expect(machine.published == 1)
        // Nothing goes out meanwhile, not even the next batch in order.
        #expect(machine.committed(Self.batch(4)).summary == "wake")
        #expect(machine.tick(now: Self.start).summary == "wait")
        // Round 2 was confirmed, but after the failure: it is published again.
        #expect(machine.roundSettled(2, Self.ok) == .init(confirmed: 0, wakeLoop: true))
        #expect(machine.published == 1)
        #expect(machine.tick(now: Self.start).summary == "failed")
        #expect(machine.submitted == 1)
        #expect(machine.tick(now: Self.start).summary == "read after 1 limit 64")
        #expect(machine.tableRead(Self.batches(2...4)).summary == "publish 3 [2, 3, 4]")
        #expect(machine.roundSettled(3, [Result](repeating: .success(()), count: 3)).confirmed == 3)
        #expect(machine.published == 4)
    }

    @Test func aPartlyConfirmedRoundPublishesOnlyItsWholeBatches() {
        var machine = Self.started()
        #expect(machine.committedOutsideJournal().summary == "wake")
        #expect(machine.tick(now: Self.start).summary == "read after 0 limit 64")
        let read = [Self.batch(1, messages: 2), Self.batch(2, messages: 2)]
        #expect(machine.tableRead(read).summary == "publish 0 [1, 2]")
        let results: [Result<Void, any Error>] = [.success(()), .success(()), .success(()), .failure(Nack())]
        #expect(machine.roundSettled(0, results) == .init(confirmed: 2, wakeLoop: true))
        #expect(machine.published == 1)
        #expect(machine.tick(now: Self.start).summary == "failed")
        #expect(machine.tick(now: Self.start).summary == "read after 1 limit 64")
    }

    @Test func pastTheMemoryLimitBatchesAreLeftToTheTable() {
        var machine = Self.started()
        #expect(machine.committed(Self.batch(1, messages: 16_384)).summary == "publish 0 [1]")
        #expect(machine.committed(Self.batch(2, messages: 50_000)).summary == "wake")
        #expect(machine.committed(Self.batch(3, messages: 50_000)).summary == "wake")
        // 100,000 held; one more message is too many: memory forgets them all.
        #expect(machine.committed(Self.batch(4)).summary == "wake")
        let results = [Result<Void, any Error>](repeating: .success(()), count: 16_384)
        #expect(machine.roundSettled(0, results) == .init(confirmed: 16_384, wakeLoop: true))
        #expect(machine.tick(now: Self.start).summary == "read after 1 limit 64")
        // Later commits wait for the table too.
        #expect(machine.committed(Self.batch(5)).summary == "wake")
    }

    @Test func confirmedBatchesAreDeletedOnce64PiledUp() {
        var machine = Self.started()
        for seq in Int64(1)...64 { _ = machine.committed(Self.batch(seq)) }
        for round in 0..<63 { #expect(machine.roundSettled(round, Self.ok) == .init(confirmed: 1, wakeLoop: false)) }
        #expect(machine.tick(now: Self.start).summary == "wait")
        // The 64th asks the loop, once.
        #expect(machine.roundSettled(63, Self.ok) == .init(confirmed: 1, wakeLoop: true))
        #expect(machine.tick(now: Self.start).summary == "delete up to 64")
        machine.deleted(upTo: 64, now: Self.start)
        #expect(machine.tick(now: Self.start).summary == "wait")
    }

    @Test func confirmedBatchesAreDeletedOnceASecondPassed() {
        var machine = Self.started()
        _ = machine.committed(Self.batch(1))
        _ = machine.roundSettled(0, Self.ok)
        #expect(machine.tick(now: Self.start.advanced(by: .milliseconds(999))).summary == "wait")
        #expect(machine.tick(now: Self.start.advanced(by: .milliseconds(1001))).summary == "delete up to 1")
        machine.deleted(upTo: 1, now: Self.start.advanced(by: .milliseconds(1001)))
        #expect(machine.deleted == 1)
        #expect(machine.tick(now: Self.start.advanced(by: .seconds(3))).summary == "wait")
    }

    @Test func shutdownPublishesWhatIsLeftThenDeletesThenFinishes() {
        var machine = Self.started()
        _ = machine.committed(Self.batch(1))
        machine.shutdown()
        #expect(machine.tick(now: Self.start).summary == "wait")
        _ = machine.roundSettled(0, Self.ok)
        #expect(machine.tick(now: Self.start).summary == "delete up to 1")
        machine.deleted(upTo: 1, now: Self.start)
        #expect(machine.tick(now: Self.start).summary == "finish")
    }

    @Test func theFinalDeleteTakesWhatWasConfirmed() {
        var machine = Self.started()
        #expect(machine.finalDelete().summary == "none")
        for seq in Int64(1)...2 { _ = machine.committed(Self.batch(seq)) }
        _ = machine.roundSettled(0, Self.ok)
        #expect(machine.finalDelete().summary == "delete up to 1")
    }

    // MARK: Refused messages are parked (issue 13)

    private static func named(_ seq: Int64, _ ids: [String], bodyBytes: Int = 2) -> OutboxBatch {
        OutboxBatch(
            seq: seq,
            messages: ids.map {
                OutboxMessage(
                    event: "workflow.step.completed", workflowID: "w", executionID: "e", messageID: $0,
                    body: Data(repeating: 0x20, count: $0 == "big" ? bodyBytes : 2), createdAt: 0)
            })
    }

    /// Publishes `batch` as round `round` and has the broker answer `results`; returns the tick
    /// that follows.
    private static func refuse(
        _ machine: inout Machine, _ batch: OutboxBatch, round: Int, _ results: [Result<Void, any Error>]
    ) -> String {
        let action = machine.tick(now: start)
        if action.summary.hasPrefix("read") { _ = machine.tableRead([batch]) }
        _ = machine.roundSettled(round, results)
        return machine.tick(now: start).summary
    }

    @Test func aMessageNackedThreeTimesInARowIsParked() {
        var machine = Self.started()
        let batch = Self.named(1, ["a", "b"])
        #expect(machine.committed(batch).summary == "publish 0 [1]")
        let nackB: [Result<Void, any Error>] = [.success(()), .failure(AMQPError.nacked)]
        _ = machine.roundSettled(0, nackB)
        #expect(machine.tick(now: Self.start).summary == "failed")
        #expect(Self.refuse(&machine, batch, round: 1, nackB) == "failed")
        #expect(Self.refuse(&machine, batch, round: 2, nackB) == "failed, park 1/b")
        // Afterwards the table (without b) is read again from the first unconfirmed batch.
        #expect(machine.tick(now: Self.start).summary == "read after 0 limit 64")
    }

    @Test func nacksOfDifferentMessagesDoNotAddUp() {
        var machine = Self.started()
        let batch = Self.named(1, ["a", "b"])
        _ = machine.committed(batch)
        let nackA: [Result<Void, any Error>] = [.failure(AMQPError.nacked), .success(())]
        let nackB: [Result<Void, any Error>] = [.success(()), .failure(AMQPError.nacked)]
        _ = machine.roundSettled(0, nackA)
        #expect(machine.tick(now: Self.start).summary == "failed")
        #expect(Self.refuse(&machine, batch, round: 1, nackB) == "failed")
        #expect(Self.refuse(&machine, batch, round: 2, nackA) == "failed")
        #expect(Self.refuse(&machine, batch, round: 3, nackB) == "failed")
    }

    @Test func aMessageTheBrokerFindsTooLargeIsParkedAtOnce() {
        var machine = Self.started()
        // The channel closes: every message not confirmed yet fails, the culprit among them.
        let batch = Self.named(1, ["a", "big", "c"], bodyBytes: 5000)
        _ = machine.committed(batch)
        let closed = AMQPError.channelClosed(
            code: 406, text: "PRECONDITION_FAILED - message size 5000 is larger than configured max size 4096")
        _ = machine.roundSettled(0, [.failure(closed), .failure(closed), .failure(closed)])
        #expect(machine.tick(now: Self.start).summary == "failed, park 1/big")
    }

    @Test func aLostConnectionParksNothing() {
        var machine = Self.started()
        let batch = Self.named(1, ["a"])
        _ = machine.committed(batch)
        for round in 0..<5 {
            if round > 0 {
                _ = machine.tick(now: Self.start)
                _ = machine.tableRead([batch])
            }
            _ = machine.roundSettled(round, [.failure(AMQPError.connectionFailed("reset"))])
            #expect(machine.tick(now: Self.start).summary == "failed")
        }
    }

    @Test func theRefusedSizeIsReadFromTheBrokersText() {
        #expect(
            Machine.refusedSize("PRECONDITION_FAILED - message size 140000123 is larger than configured max size 1")
                == 140_000_123)
        #expect(Machine.refusedSize("PRECONDITION_FAILED - inequivalent arg 'durable'") == nil)
    }
}

extension OutboxRelayStateMachine.Action {
    /// The action in a few words, for tests to compare.
    fileprivate var summary: String {
        switch self {
        case .publish(let round):
            let seqs = round.batches.map(\.seq)
            let list =
                seqs.count > 3 && seqs == Array(seqs[0]...seqs[seqs.count - 1])
                ? "\(seqs[0])...\(seqs[seqs.count - 1])" : seqs.map(String.init).joined(separator: ", ")
            return "publish \(round.number) [\(list)]"
        case .readTable(let after, let limit): return "read after \(after) limit \(limit)"
        case .delete(let seq): return "delete up to \(seq)"
        case .failed(_, let park?): return "failed, park \(park.seq)/\(park.messageID)"
        case .failed: return "failed"
        case .wakeLoop: return "wake"
        case .wait: return "wait"
        case .finish: return "finish"
        case .none: return "none"
        }
    }
}
