import Testing

@testable import DocflowEngine

/// The journal's decision when to commit, with the clock in the test's hands.
@Suite struct GroupCommitPolicyTests {
    private typealias Policy = GroupCommitPolicy<Int>

    private static let ms: UInt64 = 1_000_000
    /// Well past the start, so a fresh policy counts as idle.
    private static let t0: UInt64 = 10_000 * ms

    /// A policy whose writer committed at `t0`, so it is busy, not sleeping long.
    private static func busy() -> Policy {
        var policy = Policy()
        _ = policy.queue(0, urgent: true, now: t0)
        #expect(policy.next(now: t0).summary == "commit [0]")
        #expect(policy.next(now: t0).summary == "sleep until +5ms")
        return policy
    }

    @Test func anUrgentEntryCommitsAtOnce() {
        var policy = Self.busy()
        #expect(policy.queue(1, urgent: false, now: Self.t0) == false)
        #expect(policy.queue(2, urgent: true, now: Self.t0 + Self.ms) == true)
        #expect(policy.next(now: Self.t0 + Self.ms).summary == "commit [1, 2]")
        #expect(policy.urgent == false)
    }

    @Test func aLazyEntryWaitsUpTo5msForCompany() {
        var policy = Self.busy()
        #expect(policy.queue(1, urgent: false, now: Self.t0 + Self.ms) == false)
        #expect(policy.next(now: Self.t0 + 2 * Self.ms).summary == "sleep until +6ms")
        #expect(policy.queue(2, urgent: false, now: Self.t0 + 3 * Self.ms) == false)
        #expect(policy.next(now: Self.t0 + 5 * Self.ms).summary == "sleep until +6ms")
        #expect(policy.next(now: Self.t0 + 6 * Self.ms).summary == "commit [1, 2]")
    }

    @Test func aFullBatchCommitsWithoutWaiting() {
        var policy = Self.busy()
        for entry in 1...1023 { _ = policy.queue(entry, urgent: false, now: Self.t0) }
        #expect(policy.next(now: Self.t0).summary == "sleep until +5ms")
        _ = policy.queue(1024, urgent: false, now: Self.t0)
        guard case .commit(let batch) = policy.next(now: Self.t0) else {
            Issue.record("a batch of 1,024 did not commit")
            return
        }
        #expect(batch == Array(1...1024))
        #expect(policy.pending.isEmpty)
    }

    @Test func theWriterIsWokenOnlyWhenItWouldNotLookByItself() {
        var policy = Self.busy()
        // Busy: it comes back within 5 ms.
        #expect(policy.queue(1, urgent: false, now: Self.t0) == false)
        // Urgent once, not twice.
        #expect(policy.queue(2, urgent: true, now: Self.t0) == true)
        #expect(policy.queue(3, urgent: true, now: Self.t0) == false)
        #expect(policy.next(now: Self.t0).summary == "commit [1, 2, 3]")
        // Expediting a queue wakes the writer once; an empty queue never.
        #expect(policy.queue(4, urgent: false, now: Self.t0) == false)
        #expect(policy.expedite() == true)
        #expect(policy.expedite() == false)
        #expect(policy.next(now: Self.t0).summary == "commit [4]")
        #expect(policy.expedite() == false)
    }

    @Test func anIdleWriterSleepsLongAndTheFirstEntryWakesIt() {
        var policy = Self.busy()
        #expect(policy.next(now: Self.t0 + 1000 * Self.ms).summary == "sleep until +1005ms")
        #expect(policy.next(now: Self.t0 + 1001 * Self.ms).summary == "sleep long")
        #expect(policy.sleepsLong)
        #expect(policy.queue(1, urgent: false, now: Self.t0 + 2000 * Self.ms) == true)
        // Only the first: the writer is awake for the rest.
        #expect(policy.queue(2, urgent: false, now: Self.t0 + 2000 * Self.ms) == false)
        #expect(policy.next(now: Self.t0 + 2000 * Self.ms).summary == "sleep until +2005ms")
        #expect(!policy.sleepsLong)
    }

    @Test func aFreshPolicySleepsLong() {
        var policy = Policy()
        #expect(policy.next(now: Self.t0).summary == "sleep long")
        #expect(policy.queue(1, urgent: false, now: Self.t0) == true)
    }

    @Test func stopDrainsWhatIsQueuedThenFinishes() {
        var policy = Self.busy()
        _ = policy.queue(1, urgent: false, now: Self.t0)
        _ = policy.queue(2, urgent: false, now: Self.t0)
        policy.stop()
        #expect(policy.next(now: Self.t0).summary == "commit [1, 2]")
        #expect(!policy.finished)
        #expect(policy.next(now: Self.t0).summary == "finish")
        #expect(policy.finished)
    }

    @Test func theQueueIsFullAt20000() {
        var policy = Self.busy()
        for entry in 1..<20_000 { _ = policy.queue(entry, urgent: false, now: Self.t0) }
        #expect(!policy.isFull)
        _ = policy.queue(20_000, urgent: false, now: Self.t0)
        #expect(policy.isFull)
    }

    @Test func theClockIsReadOnlyForTheFirstEntryOfABatch() {
        var policy = Self.busy()
        var reads = 0
        func now() -> UInt64 {
            reads += 1
            return Self.t0
        }
        for entry in 1...3 { _ = policy.queue(entry, urgent: false, now: now()) }
        #expect(reads == 1)
    }
}

extension GroupCommitPolicy<Int>.Decision {
    /// The decision in a few words, times relative to the tests' `t0`.
    fileprivate var summary: String {
        let t0: UInt64 = 10_000 * 1_000_000
        switch self {
        case .commit(let entries): return "commit \(entries)"
        case .sleep(let until): return "sleep until +\((until - t0) / 1_000_000)ms"
        case .sleepLong: return "sleep long"
        case .finish: return "finish"
        }
    }
}
