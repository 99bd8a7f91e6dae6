import DocflowCore
import DocflowStore
import Foundation
import GRDB

/// The one way an execution starts. Every trigger and the API hand a `StartRequest` to one of
/// these; they own the claim, the speculative start, the abandon of a refused one, and the
/// launch after the commit. They differ only in what the caller waits for.
extension Engine {
    /// Starts without waiting: returns at once (it may run on a connection's thread), and calls
    /// `onResolve` once the start is committed or refused, on the journal's thread (keep it
    /// short: an ack). A speculative request runs its steps without side effects meanwhile;
    /// the others launch after the commit.
    package func start(
        _ request: StartRequest, onResolve: @escaping @Sendable (Result<StartOutcome, any Error>) -> Void
    ) {
        let execution = request.execution()
        let speculative = request.speculative
        let counts = metrics.workflow(execution.workflowID)
        // A speculative start needs no commit of its own: its end, or its first step with side
        // effects, asks for one.
        let ticket = journal.enqueue(Self.transition(execution, request.claim), urgent: !speculative)
        if speculative { launch(execution, start: ticket, workflowMetrics: counts) }
        ticket.onResolve { [self] result in
            switch result {
            case .success(true):
                // Counted once committed: a speculative start that is refused started nothing.
                counts.started(execution.triggeredBy)
                if !speculative { launch(execution, workflowMetrics: counts) }
                onResolve(.success(.started(execution)))
            case .success(false):
                // Without a claim, only a disabled workflow refuses a start: no duplicate.
                if request.claim != nil { counts.duplicate(execution.triggeredBy) }
                // A speculative runner tells the journal itself when it gives up.
                if !speculative { journal.abandon(execution.id) }
                onResolve(.success(.refused))
            case .failure(let error):
                onResolve(.failure(error))
            }
        }
    }

    /// Starts and returns once the start is committed (or refused).
    package func start(_ request: StartRequest) async throws -> StartOutcome {
        var request = request
        request.speculative = false
        return try await withCheckedThrowingContinuation { continuation in
            start(request) { continuation.resume(with: $0) }
        }
    }

    /// Writes the start inside the caller's transaction, with what else it writes (an idempotency
    /// record, a schedule's next slot); the execution is launched if and when that transaction
    /// commits. The caller wakes the outbox relay after its commit.
    package func start(_ request: StartRequest, in db: Database) throws -> StartOutcome {
        let execution = request.execution()
        precondition(db.isInsideTransaction, "a start must be written inside a transaction")
        let counts = metrics.workflow(execution.workflowID)
        guard try journal.write(db, Self.transition(execution, request.claim)) else {
            if request.claim != nil { counts.duplicate(execution.triggeredBy) }
            return .refused
        }
        db.afterNextTransaction(onCommit: { [self] db in
            // A savepoint rolled back inside the transaction takes the row with it, and GRDB still
            // calls this: run only what was written.
            guard (try? ExecutionRepository.exists(db, id: execution.id)) == true else { return }
            counts.started(execution.triggeredBy)
            launch(execution, workflowMetrics: counts)
        })
        return .started(execution)
    }

    /// Runs a failed execution again from its failed step, keeping what completed before it,
    /// inside the caller's transaction (with its idempotency record, or with other retries); it is
    /// launched if and when that transaction commits. The run that failed stays in the
    /// execution's history (`previousRuns`). Not a new start: it is counted again only in the
    /// outcome it reaches. nil, and nothing written, unless the execution is `failed` in the
    /// database (a retry read from an older transaction, or a second retry, is refused). The
    /// caller wakes the outbox relay after its commit.
    package func retry(_ failed: Execution, in db: Database, at now: Date = Date()) throws -> Execution? {
        precondition(db.isInsideTransaction, "a retry must be written inside a transaction")
        guard failed.status == .failed else { return nil }
        let reopened = failed.reopened(at: now)
        guard try journal.write(db, .retried(reopened)) else { return nil }
        db.afterNextTransaction(onCommit: { [self] db in
            // A savepoint rolled back inside the transaction takes the change with it: launch only
            // what was written.
            guard (try? ExecutionRepository.status(db, id: reopened.id)) == .running else { return }
            relaunch(reopened)
        })
        return reopened
    }

    /// Resumes every execution left `running` by an earlier process: steps that completed are
    /// kept, the one in flight runs again (at-least-once). Every resumption is committed before any
    /// is launched; an execution already resumed `maxResumptions` times, each time followed by a
    /// crash, is failed instead, so that it cannot crash the worker again. Returns how many resume.
    @discardableResult
    package func resumeInterrupted() async throws -> Int {
        let limit = Self.maxResumptions
        let (resumed, exhausted) = try await store.write { db in try Resumptions.resumeRunning(db, limit: limit) }
        for execution in exhausted { launch(execution, crashLooped: true) }
        for execution in resumed {
            logger.info(
                "resuming an interrupted execution",
                metadata: ["execution_id": "\(execution.id)", "workflow_id": "\(execution.workflowID)"])
            launch(execution)
        }
        return resumed.count
    }

    private static func transition(_ execution: Execution, _ claim: String?) -> Transition {
        if let claim { .triggered(execution, claim: claim) } else { .started(execution) }
    }
}

extension Journal {
    /// A refused start's runner gave up, or it never had one: the journal forgets the execution
    /// (transitions of it still queued are dropped, and nothing of it is published).
    func abandon(_ executionID: String) {
        _ = enqueue(.abandoned(executionID: executionID), urgent: false)
    }
}
