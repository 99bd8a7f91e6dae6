import Synchronization
import Testing

@testable import DocflowService

@Suite("Waiting that cancellation ends")
struct CancellationTests {
    @Test func anOutcomeWakesEveryWaiterWithTheFirstResult() async throws {
        let outcome = Outcome<Int>()
        let waiters = (0..<3).map { _ in Task { try await outcome.value() } }
        try await Task.sleep(for: .milliseconds(20))
        outcome.resolve(.success(1))
        outcome.resolve(.success(2))
        for waiter in waiters { #expect(try await waiter.value == 1) }
        #expect(try await outcome.value() == 1)
    }

    @Test func aCancelledWaiterStopsWaitingAndTheOthersStillGetTheResult() async throws {
        let outcome = Outcome<Int>()
        let cancelled = Task { try await outcome.value() }
        let patient = Task { try await outcome.value() }
        try await Task.sleep(for: .milliseconds(20))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        outcome.resolve(.success(7))
        #expect(try await patient.value == 7)
    }

    @Test func untilCancelledReturnsTheOperationsResult() async throws {
        #expect(try await untilCancelled { 42 } == 42)
        await #expect(throws: CancellationError.self) {
            try await untilCancelled { () async throws -> Int in throw CancellationError() }
        }
    }

    @Test func untilCancelledReturnsAtOnceWhenCancelledWithoutWaitingForTheOperation() async throws {
        let finished = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)
        let caller = Task {
            // An operation that ignores cancellation, as `Journal.commit` does, and goes on until
            // the test lets it end: the caller can only return first if it does not wait for it.
            try await untilCancelled(cancelling: false) {
                while !release.load(ordering: .sequentiallyConsistent) {
                    try? await Task.sleep(for: .milliseconds(10))
                }
                finished.store(true, ordering: .sequentiallyConsistent)
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        let finishedFirst = finished.load(ordering: .sequentiallyConsistent)
        #expect(!finishedFirst)
        release.store(true, ordering: .sequentiallyConsistent)
    }
}
