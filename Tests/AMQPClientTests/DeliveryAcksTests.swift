import Testing

@testable import AMQPClient

/// Ack coalescing, without a broker: which acks, nacks and rejects go out, and when.
@Suite("DeliveryAcks")
struct DeliveryAcksTests {
    /// A channel opened as `generation` that delivered `tags`.
    private func channel(delivered tags: ClosedRange<UInt64>, generation: UInt64 = 1) -> DeliveryAcks {
        var acks = DeliveryAcks()
        acks.opened(generation: generation)
        for tag in tags { acks.delivered(tag) }
        return acks
    }

    /// What settling sends at once.
    private func settle(
        _ acks: inout DeliveryAcks, _ settlement: Settlement, _ tag: UInt64, generation: UInt64 = 1
    ) -> [AckAction] {
        var actions: [AckAction] = []
        acks.settle(settlement, tag: tag, generation: generation, into: &actions)
        return actions
    }

    private func flush(_ acks: inout DeliveryAcks) -> [AckAction] {
        var actions: [AckAction] = []
        acks.flush(into: &actions)
        return actions
    }

    @Test func acksInDeliveryOrderWaitForTheFlushAndGoOutAsOneMultipleAck() {
        var acks = channel(delivered: 1...3)
        for tag: UInt64 in 1...3 {
            #expect(settle(&acks, .ack(multiple: false), tag) == [])
        }
        #expect(acks.hasPendingAcks)
        #expect(flush(&acks) == [.ack(3, multiple: true)])
        #expect(!acks.hasPendingAcks)
        #expect(flush(&acks) == [])
    }

    @Test func anOutOfOrderAckGoesOutAloneAtTheSameFlush() {
        var acks = channel(delivered: 1...4)
        #expect(settle(&acks, .ack(multiple: false), 1) == [])
        #expect(settle(&acks, .ack(multiple: false), 3) == [])
        #expect(flush(&acks) == [.ack(1, multiple: true), .ack(3, multiple: false)])
    }

    @Test func aSlowDeliveryDoesNotHoldBackTheAcksOfLaterOnes() {
        var acks = channel(delivered: 1...3)
        _ = settle(&acks, .ack(multiple: false), 2)
        _ = settle(&acks, .ack(multiple: false), 3)
        #expect(flush(&acks) == [.ack(2, multiple: false), .ack(3, multiple: false)])
        // The slow one, once acked, moves the watermark only over itself: 2 and 3 went out already.
        _ = settle(&acks, .ack(multiple: false), 1)
        #expect(flush(&acks) == [.ack(1, multiple: true)])
        #expect(flush(&acks) == [])
    }

    @Test func anAckThatFillsTheGapSendsOneMultipleAckForTheOnesNotSentYet() {
        var acks = channel(delivered: 1...3)
        _ = settle(&acks, .ack(multiple: false), 3)
        _ = settle(&acks, .ack(multiple: false), 2)
        _ = settle(&acks, .ack(multiple: false), 1)
        #expect(flush(&acks) == [.ack(3, multiple: true)])
    }

    @Test func aMultipleAckMovesTheWatermarkToItsTag() {
        var acks = channel(delivered: 1...5)
        #expect(settle(&acks, .ack(multiple: true), 3) == [])
        #expect(flush(&acks) == [.ack(3, multiple: true)])
        _ = settle(&acks, .ack(multiple: false), 4)
        #expect(flush(&acks) == [.ack(4, multiple: true)])
    }

    @Test func aNackGoesOutAtOnceAfterTheAcksStillPending() {
        var acks = channel(delivered: 1...4)
        _ = settle(&acks, .ack(multiple: false), 1)
        _ = settle(&acks, .ack(multiple: false), 3)
        #expect(
            settle(&acks, .nack(multiple: false, requeue: true), 2) == [
                .ack(1, multiple: true), .ack(3, multiple: false), .nack(2, multiple: false, requeue: true),
            ])
        #expect(flush(&acks) == [])
        // 1 to 3 are settled: the next in-order ack moves the watermark to 4.
        _ = settle(&acks, .ack(multiple: false), 4)
        #expect(flush(&acks) == [.ack(4, multiple: true)])
    }

    @Test func aMultipleNackGoesOutAfterThePendingAckItMustNotTakeWithIt() {
        var acks = channel(delivered: 1...3)
        _ = settle(&acks, .ack(multiple: false), 1)
        #expect(
            settle(&acks, .nack(multiple: true, requeue: false), 3) == [
                .ack(1, multiple: true), .nack(3, multiple: true, requeue: false),
            ])
        #expect(flush(&acks) == [])
    }

    @Test func aRejectGoesOutAtOnceAfterTheAcksStillPending() {
        var acks = channel(delivered: 1...2)
        _ = settle(&acks, .ack(multiple: false), 1)
        #expect(
            settle(&acks, .reject(requeue: false), 2) == [.ack(1, multiple: true), .reject(2, requeue: false)])
        #expect(flush(&acks) == [])
    }

    @Test func anAckOfADeliverySettledAlreadyGoesOutAtOnceForTheBrokerToJudge() {
        var acks = channel(delivered: 1...2)
        _ = settle(&acks, .ack(multiple: false), 1)
        #expect(settle(&acks, .ack(multiple: false), 1) == [.ack(1, multiple: false)])
        #expect(flush(&acks) == [.ack(1, multiple: true)])
    }

    @Test func anAckWithNoDeliveryUnsettledGoesOutAtOnce() {
        var acks = channel(delivered: 1...1)
        _ = settle(&acks, .ack(multiple: false), 1)
        #expect(flush(&acks) == [.ack(1, multiple: true)])
        #expect(settle(&acks, .ack(multiple: false), 5) == [.ack(5, multiple: false)])
    }

    @Test func anAckOfADeliveryFromBeforeTheChannelReopenedIsDropped() {
        var acks = channel(delivered: 1...2, generation: 1)
        _ = settle(&acks, .ack(multiple: false), 1, generation: 1)
        acks.opened(generation: 2)
        #expect(acks.generation == 2)
        // Nothing held back from the old generation goes out on the new channel.
        #expect(!acks.hasPendingAcks)
        var actions: [AckAction] = []
        let ackCounted = acks.settle(.ack(multiple: false), tag: 2, generation: 1, into: &actions)
        #expect(!ackCounted)
        let nackCounted = acks.settle(.nack(multiple: false, requeue: true), tag: 2, generation: 1, into: &actions)
        #expect(!nackCounted)
        #expect(actions == [])
        #expect(flush(&acks) == [])
    }

    @Test func deliveriesOfTheNewGenerationAreCoalescedFromScratch() {
        var acks = channel(delivered: 1...3, generation: 1)
        acks.opened(generation: 2)
        acks.delivered(1)
        acks.delivered(2)
        #expect(settle(&acks, .ack(multiple: false), 2, generation: 2) == [])
        #expect(flush(&acks) == [.ack(2, multiple: false)])
        _ = settle(&acks, .ack(multiple: false), 1, generation: 2)
        #expect(flush(&acks) == [.ack(1, multiple: true)])
    }

    @Test func manyAcksInOrderStayOneMultipleAckAcrossTheCompaction() {
        var acks = channel(delivered: 1...5000)
        for tag: UInt64 in 1...4999 { _ = settle(&acks, .ack(multiple: false), tag) }
        #expect(flush(&acks) == [.ack(4999, multiple: true)])
        _ = settle(&acks, .ack(multiple: false), 5000)
        #expect(flush(&acks) == [.ack(5000, multiple: true)])
    }
}
