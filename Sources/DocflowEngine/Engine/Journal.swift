import DocflowCore
import DocflowStore
import Foundation
import GRDB
import Logging
import Synchronization

/// A change of an execution's state, written with its status event in the same transaction.
public enum Transition: Sendable {
    /// A new execution: its row and `workflow.started`.
    case started(Execution)
    /// A new execution from a trigger, written only if its workflow is still enabled and
    /// `(workflow, claim)` was not claimed before: the same event or slot never starts it twice.
    case triggered(Execution, claim: String)
    /// A failed execution made to run again from its failed step: `workflow.started` again.
    case retried(Execution)
    /// A step's log entry at its place `seq` in the log, and its `workflow.step.*` event.
    case step(StepRun, seq: Int, of: Execution)
    /// The end: `workflow.completed`, `.failed` or `.cancelled`.
    case finished(Execution)
}

/// Writes execution history with group commit: transitions from every running execution queue
/// up while a transaction commits, and the next transaction takes them all. Order is kept, so the
/// status events of one execution are published in the order they happened.
///
/// `append` does not wait for the commit (an execution moves on while its history is written);
/// `commit` does. Nothing is published before it is committed: events go through the outbox.
public final class Journal: Sendable {
    private struct Entry {
        let transition: Transition
        /// Built by the caller, outside the one write transaction everyone waits for.
        let events: [OutboxMessage]
        let done: CheckedContinuation<Bool, any Error>?
    }

    private struct State {
        var pending: [Entry] = []
        var stopped = false
    }

    private let store: Store
    private let statusExchange: String
    private let logger: Logger
    private let didCommit: @Sendable () -> Void
    private let state = Mutex(State())
    private let wakeup = WakeSignal()
    /// Past this many queued transitions, `append` waits for the commit: memory stays bounded.
    private let backpressureLimit = 20_000

    public init(store: Store, statusExchange: String, logger: Logger, didCommit: @escaping @Sendable () -> Void) {
        self.store = store
        self.statusExchange = statusExchange
        self.logger = logger
        self.didCommit = didCommit
    }

    /// Queues a transition; returns at once unless the queue is full.
    public func append(_ transition: Transition) async {
        let full = state.withLock { $0.pending.count >= backpressureLimit }
        if full {
            _ = try? await commit(transition)
            return
        }
        let entry = Entry(transition: transition, events: events(for: transition), done: nil)
        state.withLock { $0.pending.append(entry) }
        wakeup.signal()
    }

    /// Queues a transition and returns once it is committed: true when it was written, false
    /// when a `triggered` one was refused (claimed before, or its workflow disabled).
    @discardableResult
    public func commit(_ transition: Transition) async throws -> Bool {
        let events = events(for: transition)
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.pending.append(Entry(transition: transition, events: events, done: continuation)) }
            wakeup.signal()
        }
    }

    /// Writes a transition inside a caller's transaction, for changes that start executions
    /// together with something else (a trigger claim, an idempotency record).
    @discardableResult
    public func write(_ db: Database, _ transition: Transition) throws -> Bool {
        try Self.apply(db, transition, events: events(for: transition))
    }

    private func events(for transition: Transition) -> [OutboxMessage] {
        switch transition {
        case .started(let execution), .retried(let execution), .triggered(let execution, _), .finished(let execution):
            [StatusEvents.execution(execution, exchange: statusExchange)]
        case .step(let run, _, let execution):
            [StatusEvents.step(run, of: execution, exchange: statusExchange)]
        }
    }

    /// The writer loop; returns after `stop()` once everything queued is written.
    public func run() async {
        while true {
            let batch = state.withLock { state -> [Entry]? in
                if state.pending.isEmpty {
                    return state.stopped ? nil : []
                }
                defer { state.pending.removeAll(keepingCapacity: true) }
                return state.pending
            }
            guard let batch else { return }
            if batch.isEmpty {
                await wakeup.wait(timeout: .seconds(1))
                continue
            }
            await write(batch)
        }
    }

    /// Stops taking new work once what is queued is written.
    public func stop() {
        state.withLock { $0.stopped = true }
        wakeup.signal()
    }

    private func write(_ batch: [Entry]) async {
        do {
            let applied = try await writeTransaction(batch)
            didCommit()
            for (entry, written) in zip(batch, applied) { entry.done?.resume(returning: written) }
        } catch {
            // One bad transition (say, for a workflow deleted meanwhile) must not hold back the
            // others: write them one by one.
            for entry in batch { await writeAlone(entry) }
            didCommit()
        }
    }

    private func writeAlone(_ entry: Entry) async {
        var delay = Duration.milliseconds(50)
        while true {
            do {
                let applied = try await writeTransaction([entry])
                entry.done?.resume(returning: applied[0])
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                logger.error("dropped a history entry the database refuses", metadata: ["error": "\(error)"])
                entry.done?.resume(throwing: error)
                return
            } catch {
                // History must not be dropped for a passing reason: keep trying, loudly.
                logger.critical("cannot write execution history; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func writeTransaction(_ entries: [Entry]) async throws -> [Bool] {
        let work = entries.map { ($0.transition, $0.events) }
        return try await store.write { db in
            try work.map { try Self.apply(db, $0.0, events: $0.1) }
        }
    }

    static func apply(_ db: Database, _ transition: Transition, events: [OutboxMessage]) throws -> Bool {
        switch transition {
        case .triggered(let execution, let claim):
            guard try WorkflowRepository.isEnabled(db, id: execution.workflowID),
                try TriggerClaims.claim(db, workflowID: execution.workflowID, key: claim, executionID: execution.id)
            else { return false }
            try ExecutionRepository.insert(db, execution)
            for event in events { try Outbox.append(db, event) }
        case .started(let execution):
            try ExecutionRepository.insert(db, execution)
            for event in events { try Outbox.append(db, event) }
        case .retried(let execution):
            try ExecutionRepository.reopen(db, executionID: execution.id)
            for (seq, run) in execution.log.enumerated() {
                try ExecutionRepository.saveStep(db, executionID: execution.id, run: run, seq: seq)
            }
            for event in events { try Outbox.append(db, event) }
        case .step(let run, let seq, let execution):
            try ExecutionRepository.saveStep(db, executionID: execution.id, run: run, seq: seq)
            for event in events { try Outbox.append(db, event) }
        case .finished(let execution):
            try ExecutionRepository.finish(
                db, executionID: execution.id, status: execution.status, completedAt: execution.completedAt ?? Date(),
                error: execution.error)
            for event in events { try Outbox.append(db, event) }
        }
        return true
    }
}
