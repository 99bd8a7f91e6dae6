import DocflowCore
import DocflowStore
import Foundation
import GRDB
import Logging
import Synchronization

/// A change of an execution's state, written with its status event in the same transaction.
enum Transition: Sendable {
    /// A new execution: its row and `workflow.started`, written only if its workflow is still
    /// enabled.
    case started(Execution)
    /// A new execution from a trigger, written only if its workflow is still enabled and
    /// `(workflow, claim)` was not claimed before: the same event or slot never starts it twice.
    case triggered(Execution, claim: String)
    /// A failed execution made to run again from its failed step (`Execution.reopened`), the run
    /// that failed kept in its history: `workflow.started` again. Written only if it is still
    /// `failed`.
    case retried(Execution)
    /// A step's log entry at its place `seq` in the log, and its `workflow.step.*` event; with
    /// `task`, the message that sends the attempt to a worker, relayed after the event.
    case step(StepRun, seq: Int, of: Execution, task: OutboxMessage? = nil)
    /// The end: `workflow.completed`, `.failed` or `.cancelled`.
    case finished(Execution)
    /// The runner of an execution whose `triggered` transition was refused gave up: nothing of it
    /// was written, and nothing after this refers to it.
    case abandoned(executionID: String)

    var executionID: String {
        switch self {
        case .started(let execution), .triggered(let execution, _), .retried(let execution),
            .step(_, _, let execution, _), .finished(let execution):
            execution.id
        case .abandoned(let id): id
        }
    }
}

/// A transition came after the journal's writer returned.
struct JournalStopped: Error, CustomStringConvertible {
    var description: String { "the journal has stopped: docflow is shutting down" }
}

/// Whether a queued transition was written, once its transaction is over.
final class CommitTicket: Sendable {
    private struct State {
        var result: Result<Bool, any Error>?
        var waiters: [CheckedContinuation<Bool, any Error>] = []
        var callbacks: [@Sendable (Result<Bool, any Error>) -> Void] = []
    }

    private let state = Mutex(State())
    /// Asks the journal to commit now, for a transition queued without hurry.
    private let expedite: (@Sendable () -> Void)?

    init(expedite: (@Sendable () -> Void)? = nil) {
        self.expedite = expedite
    }

    /// True when written, false when a `triggered` transition was refused; throws when the
    /// database would not take it. Waiting makes the commit urgent.
    func wait() async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<Bool, any Error>? in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let result {
                continuation.resume(with: result)
            } else {
                expedite?()
            }
        }
    }

    /// Calls `callback` with the outcome, at once if it is known, else on the journal's writer
    /// thread right after the commit: keep it short (an ack, a launch).
    func onResolve(_ callback: @escaping @Sendable (Result<Bool, any Error>) -> Void) {
        let result = state.withLock { state -> Result<Bool, any Error>? in
            if state.result == nil { state.callbacks.append(callback) }
            return state.result
        }
        if let result { callback(result) }
    }

    func resolve(_ result: Result<Bool, any Error>) {
        let (waiters, callbacks) = state.withLock { state in
            state.result = result
            defer {
                state.waiters.removeAll()
                state.callbacks.removeAll()
            }
            return (state.waiters, state.callbacks)
        }
        for callback in callbacks { callback(result) }
        for waiter in waiters { waiter.resume(with: result) }
    }
}

/// Writes execution history with group commit: transitions from every running execution queue
/// up while a transaction commits, and the next transaction takes them all. Order is kept, so the
/// status events of one execution are published in the order they happened.
///
/// Only the engine queues transitions (`Engine+Start.swift` and the runners): a trigger or the
/// API starts an execution through `Engine.start`.
///
/// `append` does not wait for the commit (an execution moves on while its history is written);
/// `commit` does. Nothing is published before it is committed: the events of one transaction go
/// into the outbox as one row, and `didCommit` hands that batch to the relay once it is durable.
package final class Journal: Sendable {
    private struct Entry {
        let transition: Transition
        /// Built by the caller, outside the one write transaction everyone waits for.
        let events: [OutboxMessage]
        let done: CommitTicket?
    }

    private struct State {
        var policy = GroupCommitPolicy<Entry>()
        /// Executions whose `triggered` transition was refused, until their runner gives up:
        /// transitions of theirs still queued are dropped, not written.
        var refused: Set<String> = []
    }

    private let store: Store
    private let logger: Logger
    private let didCommit: @Sendable (OutboxBatch?) -> Void
    /// The largest status event, in bytes.
    private let maxEventBytes: Int
    private let state = Mutex(State())
    /// Wakes the writer thread when the policy says it must.
    private let wakeup = DispatchSemaphore(value: 0)
    /// - Parameters:
    ///   - maxEventBytes: the largest status event; larger ones have their outputs omitted.
    ///   - didCommit: called after each commit with the status events it made durable.
    package init(
        store: Store, logger: Logger, maxEventBytes: Int = MessageLimits().maxMessageBytes,
        didCommit: @escaping @Sendable (OutboxBatch?) -> Void
    ) {
        self.maxEventBytes = maxEventBytes
        self.store = store
        self.logger = logger
        self.didCommit = didCommit
    }

    /// Queues a transition; returns at once unless the queue is full. It is committed with the
    /// next urgent one, or within a few milliseconds.
    func append(_ transition: Transition) async {
        let full = state.withLock { $0.policy.isFull }
        if full {
            _ = try? await commit(transition)
            return
        }
        queue(Entry(transition: transition, events: events(for: transition), done: nil), urgent: false)
    }

    /// Queues a transition and returns once it is committed: true when it was written, false
    /// when a `triggered` one was refused (claimed before, or its workflow disabled).
    @discardableResult
    func commit(_ transition: Transition) async throws -> Bool {
        try await enqueue(transition).wait()
    }

    /// Queues a transition at once (so later ones queue behind it) and returns a ticket that says
    /// when it is committed. Not `urgent`, it waits for company like `append` until someone
    /// waits for the ticket.
    func enqueue(_ transition: Transition, urgent: Bool = true) -> CommitTicket {
        var expedite: (@Sendable () -> Void)?
        if !urgent { expedite = { [weak self] in self?.expedite() } }
        let ticket = CommitTicket(expedite: expedite)
        queue(Entry(transition: transition, events: events(for: transition), done: ticket), urgent: urgent)
        return ticket
    }

    private func queue(_ entry: Entry, urgent: Bool) {
        let wake = state.withLock { state -> Bool? in
            if state.policy.finished { return nil }
            return state.policy.queue(entry, urgent: urgent, now: monotonicNanoseconds())
        }
        guard let wake else {
            // The writer has returned (shutdown): nobody may wait for a commit that never comes.
            // The execution stays `running` in the database and resumes on the next start.
            logger.warning(
                "the journal has stopped; a transition was not written",
                metadata: ["execution_id": "\(entry.transition.executionID)"])
            entry.done?.resolve(.failure(JournalStopped()))
            return
        }
        if wake { wakeup.signal() }
    }

    private func expedite() {
        let wake = state.withLock { $0.policy.expedite() }
        if wake { wakeup.signal() }
    }

    /// Writes a transition inside a caller's transaction, for changes that start executions
    /// together with something else (a trigger claim, an idempotency record).
    @discardableResult
    func write(_ db: Database, _ transition: Transition) throws -> Bool {
        let events = events(for: transition)
        guard try Self.apply(db, transition, skipRow: false) else { return false }
        try Outbox.append(db, events)
        return true
    }

    private func events(for transition: Transition) -> [OutboxMessage] {
        switch transition {
        case .started(let execution), .retried(let execution), .triggered(let execution, _), .finished(let execution):
            [StatusEvents.execution(execution, maxBytes: maxEventBytes)]
        case .step(let run, _, let execution, let task):
            if let task {
                [StatusEvents.step(run, of: execution, maxBytes: maxEventBytes), task]
            } else {
                [StatusEvents.step(run, of: execution, maxBytes: maxEventBytes)]
            }
        case .abandoned:
            []
        }
    }

    /// Runs the writer, on a thread of its own (a commit blocks it, and its wake-ups never wait
    /// behind other work for a turn on the executor); returns after `stop()` once everything
    /// queued is written.
    package func run() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                nameCurrentThread("docflow-journal")
                writerLoop()
                done.resume()
            }
            thread.name = "docflow-journal"
            thread.start()
        }
    }

    private func writerLoop() {
        while true {
            let now = monotonicNanoseconds()
            switch state.withLock({ $0.policy.next(now: now) }) {
            case .commit(let batch):
                write(batch)
            case .sleep(let until):
                _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(until &- now)))
            case .sleepLong:
                _ = wakeup.wait(timeout: .now() + .seconds(1))
            case .finish:
                return
            }
        }
    }

    /// Stops taking new work once what is queued is written.
    package func stop() {
        state.withLock { $0.policy.stop() }
        wakeup.signal()
    }

    private func write(_ batch: [Entry]) {
        do {
            let (applied, outbox) = try writeTransaction(batch)
            didCommit(outbox)
            for (entry, written) in zip(batch, applied) { entry.done?.resolve(.success(written)) }
        } catch {
            // One bad transition (say, for a workflow deleted meanwhile) must not hold back the
            // others: write them one by one.
            for entry in batch { writeAlone(entry) }
        }
    }

    private func writeAlone(_ entry: Entry) {
        var delay = Duration.milliseconds(50)
        while true {
            do {
                let (applied, outbox) = try writeTransaction([entry])
                didCommit(outbox)
                entry.done?.resolve(.success(applied[0]))
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                logger.error("dropped a history entry the database refuses", metadata: ["error": "\(error)"])
                entry.done?.resolve(.failure(error))
                return
            } catch {
                // History must not be dropped for a passing reason: keep trying, loudly.
                logger.critical("cannot write execution history; retrying", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: Double(delay.milliseconds) / 1000)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// One transaction for the whole batch. A step's row is written once per batch, in its latest
    /// state (a step that started and completed within one group commit is one write, not two);
    /// every event is kept, in order, in one outbox row.
    private func writeTransaction(_ entries: [Entry]) throws -> ([Bool], OutboxBatch?) {
        var latestStep: [StepKey: Int] = [:]
        for (position, entry) in entries.enumerated() {
            if case .step(let run, _, let execution, _) = entry.transition {
                latestStep[StepKey(execution: execution.id, step: run.stepID)] = position
            }
        }
        let work = entries.enumerated().map { position, entry -> (Transition, [OutboxMessage], Bool) in
            var superseded = false
            if case .step(let run, _, let execution, _) = entry.transition {
                superseded = latestStep[StepKey(execution: execution.id, step: run.stepID)] != position
            }
            return (entry.transition, entry.events, superseded)
        }
        let refused = state.withLock { $0.refused }
        let (applied, outbox, stillRefused) = try store.pool.write { db in
            var events: [OutboxMessage] = []
            var refused = refused
            let applied = try work.map { transition, transitionEvents, superseded -> Bool in
                if case .abandoned(let id) = transition {
                    refused.remove(id)
                    return false
                }
                if !refused.isEmpty, refused.contains(transition.executionID) { return false }
                guard try Self.apply(db, transition, skipRow: superseded) else {
                    refused.insert(transition.executionID)
                    return false
                }
                events.append(contentsOf: transitionEvents)
                return true
            }
            let seq = try Outbox.append(db, events)
            return (applied, seq.map { OutboxBatch(seq: $0, messages: events) }, refused)
        }
        state.withLock { $0.refused = stillRefused }
        return (applied, outbox)
    }

    private struct StepKey: Hashable {
        let execution: String
        let step: String
    }

    /// Writes a transition's rows; false when a `triggered` one is refused. With `skipRow`, a
    /// step transition that a later one in the same transaction overwrites writes nothing.
    static func apply(_ db: Database, _ transition: Transition, skipRow: Bool) throws -> Bool {
        switch transition {
        case .triggered(let execution, let claim):
            guard try WorkflowRepository.isEnabled(db, id: execution.workflowID),
                try TriggerClaims.claim(db, workflowID: execution.workflowID, key: claim, executionID: execution.id)
            else { return false }
            try ExecutionRepository.insert(db, execution)
        case .started(let execution):
            // The workflow may have been disabled since the caller read it.
            guard try WorkflowRepository.isEnabled(db, id: execution.workflowID) else { return false }
            try ExecutionRepository.insert(db, execution)
        case .retried(let execution):
            // Refused when the execution is no longer `failed`: another retry reopened it first.
            guard try ExecutionRepository.reopen(db, execution) else { return false }
        case .step(let run, let seq, let execution, _):
            if !skipRow { try ExecutionRepository.saveStep(db, executionID: execution.id, run: run, seq: seq) }
        case .finished(let execution):
            try ExecutionRepository.finish(
                db, executionID: execution.id, status: execution.status, completedAt: execution.completedAt ?? Date(),
                error: execution.error)
        case .abandoned:
            return false
        }
        return true
    }
}
