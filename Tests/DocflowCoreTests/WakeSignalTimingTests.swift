import DocflowCore
import Synchronization
import Testing

/// `WakeSignal` (one waiting loop) and `Latch` (any number of waiters), without a broker or a
/// database.
/// Timing (the type's name): waits held to deadlines run alone, after the parallel tests.
@Suite("WakeSignal") struct WakeSignalTimingTests {
    @Test func aSignalSentWhileNobodyWaitsIsKeptForTheNextWait() async {
        let signal = WakeSignal()
        signal.signal()
        let began = ContinuousClock.now
        await signal.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - began < .seconds(5))
    }

    @Test func aKeptSignalWakesOneWaitOnly() async {
        let signal = WakeSignal()
        signal.signal()
        signal.signal()
        await signal.wait(timeout: .seconds(30))
        let began = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(200))
        #expect(ContinuousClock.now - began >= .milliseconds(200))
    }

    @Test func aWaitEndsAtItsTimeoutWithoutASignal() async {
        let signal = WakeSignal()
        let began = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(100))
        let waited = ContinuousClock.now - began
        #expect(waited >= .milliseconds(100) && waited < .seconds(5))
    }

    @Test func aSignalWakesAWaiter() async {
        let signal = WakeSignal()
        let began = ContinuousClock.now
        async let waited: Void = signal.wait(timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        signal.signal()
        await waited
        #expect(ContinuousClock.now - began < .seconds(5))
    }

    @Test func aLateTimerOfAnEarlierWaitDoesNotEndALaterOne() async {
        let signal = WakeSignal()
        await signal.wait(timeout: .milliseconds(1))
        // The first wait's timer is gone; this one waits for its own 300 ms.
        let began = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(300))
        #expect(ContinuousClock.now - began >= .milliseconds(300))
    }

    @Test func aLatchWakesEveryWaiterWhenItOpens() async {
        let latch = Latch()
        let opened = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 { group.addTask { await latch.wait(timeout: .seconds(30)) } }
            try? await Task.sleep(for: .milliseconds(50))
            latch.open()
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(opened == 100)
        #expect(await latch.wait(timeout: .zero))
    }

    @Test func aLatchWaitReportsItsTimeout() async {
        let latch = Latch()
        let began = ContinuousClock.now
        #expect(await latch.wait(timeout: .milliseconds(100)) == false)
        #expect(ContinuousClock.now - began >= .milliseconds(100))
    }

    @Test func aCancelledLatchWaitReturnsAtOnce() async {
        let latch = Latch()
        let waiter = Task { await latch.wait(timeout: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        let began = ContinuousClock.now
        waiter.cancel()
        #expect(await waiter.value == false)
        #expect(ContinuousClock.now - began < .seconds(5))
    }
}
