import Synchronization
import Testing

@testable import DocflowEngine

/// `CommitTicket`: how a queued transition's outcome reaches those who wait for it.
@Suite struct CommitTicketTests {
    struct Refused: Error {}

    @Test func callbacksRegisteredBeforeTheCommitRunOnceWithItsOutcome() {
        let ticket = CommitTicket()
        let seen = Mutex<[Bool]>([])
        ticket.onResolve { result in seen.withLock { $0.append((try? result.get()) ?? false) } }
        ticket.onResolve { result in seen.withLock { $0.append((try? result.get()) ?? false) } }
        #expect(seen.withLock { $0 }.isEmpty)
        ticket.resolve(.success(true))
        #expect(seen.withLock { $0 } == [true, true])
    }

    @Test func aCallbackRegisteredAfterTheCommitRunsAtOnce() {
        let ticket = CommitTicket()
        ticket.resolve(.success(false))
        let seen = Mutex<Bool?>(nil)
        ticket.onResolve { result in seen.withLock { $0 = try? result.get() } }
        #expect(seen.withLock { $0 } == false)
    }

    @Test func waitersGetTheOutcomeOrTheError() async throws {
        let written = CommitTicket()
        async let first = written.wait()
        async let second = written.wait()
        try await Task.sleep(for: .milliseconds(20))
        written.resolve(.success(true))
        #expect(try await first == true)
        #expect(try await second == true)

        let failed = CommitTicket()
        failed.resolve(.failure(Refused()))
        await #expect(throws: Refused.self) { try await failed.wait() }
    }

    @Test func waitingAsksForAnUrgentCommitOnlyWhileUnresolved() async throws {
        let asked = Mutex(0)
        let ticket = CommitTicket(expedite: { asked.withLock { $0 += 1 } })
        async let outcome = ticket.wait()
        while asked.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(1)) }
        ticket.resolve(.success(true))
        #expect(try await outcome == true)
        _ = try await ticket.wait()
        #expect(asked.withLock { $0 } == 1)
    }
}
