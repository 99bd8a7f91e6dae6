import Testing

@testable import DocflowService

/// The prefix lease's bookkeeping, event by event, without a broker.
@Suite struct PrefixLeaseStateMachineTests {
    private typealias Machine = PrefixLeaseStateMachine
    private static let start = ContinuousClock.now
    private static let other = OwnerIdentity(
        instance: "other", pid: 4242, host: "worker-1", startedAt: "2025-01-01T10:00:00Z", prefix: "p",
        database: "/d.sqlite")

    private static func machine() -> Machine {
        var machine = Machine(me: "me", grace: .seconds(15), retryPause: .milliseconds(250))
        #expect(machine.start() == .declare)
        return machine
    }

    @Test func aFreeQueueIsHeld() {
        var machine = Self.machine()
        #expect(machine.declared() == .hold)
        #expect(machine.isHolding)
    }

    @Test func aLockedQueueWhoseOwnerAnswersRefusesAtOnceNamingIt() {
        var machine = Self.machine()
        #expect(machine.locked(now: Self.start) == .probe)
        #expect(machine.answered(by: Self.other, now: Self.start) == .refuse(Self.other))
        #expect(!machine.isHolding)
    }

    @Test func aLockedQueueWhoseHolderIsSilentIsTriedAgainUntilTheGraceEnds() {
        var machine = Self.machine()
        #expect(machine.locked(now: Self.start) == .probe)
        #expect(machine.unanswered(now: Self.start + .seconds(2)) == .declareAfter(.milliseconds(250)))
        // The lock is counted from the first refusal, not from each retry.
        #expect(machine.locked(now: Self.start + .seconds(14)) == .probe)
        #expect(machine.unanswered(now: Self.start + .seconds(16)) == .refuse(nil))
    }

    @Test func aSilentHolderThatGoesAwayWithinTheGraceLeavesTheQueueToUs() {
        var machine = Self.machine()
        #expect(machine.locked(now: Self.start) == .probe)
        #expect(machine.unanswered(now: Self.start + .seconds(3)) == .declareAfter(.milliseconds(250)))
        #expect(machine.declared() == .hold)
    }

    @Test func anAnswerInOurOwnNameIsOurOldConnectionNotARival() {
        var machine = Self.machine()
        #expect(machine.declared() == .hold)
        #expect(machine.consumerEnded(.locked, now: Self.start) == .probe)
        var ours = Self.other
        ours.instance = "me"
        #expect(machine.answered(by: ours, now: Self.start + .seconds(1)) == .declareAfter(.milliseconds(250)))
        #expect(machine.declared() == .hold)
    }

    @Test func aConsumerThatCannotResumeBecauseAnotherHoldsTheQueueLosesTheLease() {
        var machine = Self.machine()
        #expect(machine.declared() == .hold)
        #expect(machine.consumerEnded(.locked, now: Self.start) == .probe)
        #expect(machine.answered(by: Self.other, now: Self.start) == .lose(Self.other))
    }

    @Test func aLockedQueueAfterAReconnectWhoseHolderStaysSilentLosesTheLeaseAfterTheGrace() {
        var machine = Self.machine()
        #expect(machine.declared() == .hold)
        #expect(machine.consumerEnded(.locked, now: Self.start) == .probe)
        #expect(machine.unanswered(now: Self.start + .seconds(16)) == .lose(nil))
    }

    @Test func aConsumerEndedOtherwiseIsDeclaredAgain() {
        var machine = Self.machine()
        #expect(machine.declared() == .hold)
        #expect(machine.consumerEnded(.failed, now: Self.start) == .declare)
        #expect(machine.declared() == .hold)
    }

    @Test func aClosedConnectionEndsTheLeaseQuietly() {
        var machine = Self.machine()
        #expect(machine.declared() == .hold)
        #expect(machine.consumerEnded(.closed, now: Self.start) == .stop)
        #expect(machine.declared() == .stop)
    }

    @Test func otherFailuresWhileAcquiringAreRetried() {
        var machine = Self.machine()
        #expect(machine.failed() == .declareAfter(.milliseconds(250)))
        #expect(machine.declared() == .hold)
    }
}
