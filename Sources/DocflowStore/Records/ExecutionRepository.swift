import DocflowCore
import Foundation
import GRDB

/// Executions and their step logs, in `executions` and `execution_steps`.
package enum ExecutionRepository {
    package static func insert(_ db: Database, _ execution: Execution) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO executions
                (id, workflow_id, workflow_name, status, triggered_by, trigger_data, definition, started_at, completed_at, error,
                rerun_of)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        try statement.execute(
            arguments: [
                execution.id, execution.workflowID, execution.workflowName, execution.status.rawValue,
                execution.triggeredBy.rawValue, execution.triggerData.encodedString(),
                execution.definition.json().encodedString(), StoredDate.string(execution.startedAt),
                execution.completedAt.map(StoredDate.string), execution.error, execution.rerunOf,
            ])
        for (seq, run) in execution.log.enumerated() {
            try saveStep(db, executionID: execution.id, run: run, seq: seq)
        }
    }

    /// Writes a log entry; `seq` is its place in the log.
    package static func saveStep(_ db: Database, executionID: String, run: StepRun, seq: Int) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO execution_steps
                (execution_id, step_id, type, status, attempts, started_at, completed_at, duration_ms, output, error, next_step, seq, queued_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (execution_id, step_id) DO UPDATE SET
                status = excluded.status, attempts = excluded.attempts, started_at = excluded.started_at,
                completed_at = excluded.completed_at, duration_ms = excluded.duration_ms, output = excluded.output,
                error = excluded.error, next_step = excluded.next_step, seq = excluded.seq, queued_ms = excluded.queued_ms
                """)
        try statement.execute(arguments: [
            executionID, run.stepID, run.type.rawValue, run.status.rawValue, run.attempts,
            run.startedAt.map(StoredDate.string), run.completedAt.map(StoredDate.string), run.durationMs,
            run.output?.encodedString(), run.error, run.next?.rawValue, seq, run.queuedMs,
        ])
    }

    package static func finish(
        _ db: Database, executionID: String, status: ExecutionStatus, completedAt: Date, error: String?
    ) throws {
        let statement = try db.cachedStatement(
            sql: "UPDATE executions SET status = ?, completed_at = ?, error = ? WHERE id = ?")
        try statement.execute(arguments: [status.rawValue, StoredDate.string(completedAt), error, executionID])
    }

    /// Makes a failed execution run again from its failed step, as `reopened` (`Execution.reopened`)
    /// has it: the run that failed is kept as `reopened.previousRuns.last`, with its step rows as
    /// they were; the log keeps its completed steps; it has not been resumed yet. False, and
    /// nothing written, when the execution is not `failed` (a concurrent retry took it).
    package static func reopen(_ db: Database, _ reopened: Execution) throws -> Bool {
        guard let ended = reopened.previousRuns.last else { return false }
        try db.execute(
            sql: """
                UPDATE executions SET status = 'running', completed_at = NULL, error = NULL, resumptions = 0
                WHERE id = ? AND status = 'failed'
                """,
            arguments: [reopened.id])
        guard db.changesCount == 1 else { return false }
        try db.execute(
            sql: """
                INSERT INTO execution_runs (execution_id, run, status, error, started_at, completed_at, retried_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                reopened.id, ended.number, ended.status.rawValue, ended.error, StoredDate.string(ended.startedAt),
                ended.completedAt.map(StoredDate.string), StoredDate.string(ended.retriedAt),
            ])
        let saveRunStep = try db.cachedStatement(
            sql: """
                INSERT INTO execution_run_steps
                (execution_id, run, seq, step_id, type, status, attempts, started_at, completed_at, duration_ms, queued_ms,
                output, error, next_step)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (seq, run) in ended.log.enumerated() {
            try saveRunStep.execute(arguments: [
                reopened.id, ended.number, seq, run.stepID, run.type.rawValue, run.status.rawValue, run.attempts,
                run.startedAt.map(StoredDate.string), run.completedAt.map(StoredDate.string), run.durationMs,
                run.queuedMs, run.output?.encodedString(), run.error, run.next?.rawValue,
            ])
        }
        try db.execute(sql: "DELETE FROM execution_steps WHERE execution_id = ?", arguments: [reopened.id])
        for (seq, run) in reopened.log.enumerated() {
            try saveStep(db, executionID: reopened.id, run: run, seq: seq)
        }
        return true
    }

    package static func exists(_ db: Database, id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM executions WHERE id = ?)", arguments: [id]) ?? false
    }

    /// The execution's status, without its log; nil when it does not exist.
    package static func status(_ db: Database, id: String) throws -> ExecutionStatus? {
        try String.fetchOne(db, sql: "SELECT status FROM executions WHERE id = ?", arguments: [id])
            .flatMap(ExecutionStatus.init(rawValue:))
    }

    package static func fetch(_ db: Database, id: String) throws -> Execution? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM executions WHERE id = ?", arguments: [id]) else {
            return nil
        }
        return try execution(from: row, log: steps(db, executionID: id), runs: runs(db, executionID: id))
    }

    /// Newest first; with `executionID`, only that one.
    package static func list(_ db: Database, workflowID: String, limit: Int, executionID: String? = nil) throws
        -> [Execution]
    {
        try page(db, ExecutionFilter(workflowID: workflowID, executionID: executionID), after: nil, limit: limit).items
    }

    /// How many executions of a workflow are `running`.
    package static func runningCount(_ db: Database, workflowID: String) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM executions WHERE workflow_id = ? AND status = 'running'",
            arguments: [workflowID]) ?? 0
    }

    /// Executions left `running`, oldest first: after a restart they resume.
    package static func fetchRunning(_ db: Database) throws -> [Execution] {
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM executions WHERE status = 'running' ORDER BY rowid")
        return try rows.map { row in
            try execution(from: row, log: steps(db, executionID: row["id"]), runs: runs(db, executionID: row["id"]))
        }
    }

    private static func steps(_ db: Database, executionID: String) throws -> [StepRun] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM execution_steps WHERE execution_id = ? ORDER BY seq", arguments: [executionID]
        ).map { row in try step(from: row, executionID: executionID) }
    }

    /// The runs retries ended, oldest first, each with its log.
    private static func runs(_ db: Database, executionID: String) throws -> [ExecutionRun] {
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM execution_runs WHERE execution_id = ? ORDER BY run", arguments: [executionID])
        guard !rows.isEmpty else { return [] }
        var logs: [Int: [StepRun]] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT * FROM execution_run_steps WHERE execution_id = ? ORDER BY run, seq",
            arguments: [executionID])
        {
            logs[row["run"], default: []].append(try step(from: row, executionID: executionID))
        }
        return try rows.map { row in
            let number: Int = row["run"]
            let status: String = row["status"]
            guard let runStatus = ExecutionStatus(rawValue: status) else {
                throw StoreError.corrupt("run \(number) of execution \(executionID)")
            }
            let completedAt: String? = row["completed_at"]
            return ExecutionRun(
                number: number, status: runStatus, error: row["error"],
                startedAt: try StoredDate.date(row["started_at"]),
                completedAt: try completedAt.map(StoredDate.date), retriedAt: try StoredDate.date(row["retried_at"]),
                log: logs[number] ?? [])
        }
    }

    /// A step row of `execution_steps` or `execution_run_steps`.
    private static func step(from row: Row, executionID: String) throws -> StepRun {
        let type: String = row["type"]
        let status: String = row["status"]
        guard let stepType = StepType(rawValue: type), let stepStatus = StepStatus(rawValue: status) else {
            throw StoreError.corrupt("step \(row["step_id"] as String) of execution \(executionID)")
        }
        let output: String? = row["output"]
        let next: String? = row["next_step"]
        let startedAt: String? = row["started_at"]
        let completedAt: String? = row["completed_at"]
        var run = StepRun(
            stepID: row["step_id"], type: stepType, status: stepStatus, attempts: row["attempts"],
            startedAt: try startedAt.map(StoredDate.date), completedAt: try completedAt.map(StoredDate.date),
            durationMs: row["duration_ms"],
            output: try output.map { try StoredJSON.parse($0, what: "step output") },
            error: row["error"], next: next.map(StepTarget.init))
        run.queuedMs = row["queued_ms"]
        return run
    }

    private static func execution(from row: Row, log: [StepRun], runs: [ExecutionRun]) throws -> Execution {
        let id: String = row["id"]
        let status: String = row["status"]
        let triggeredBy: String = row["triggered_by"]
        guard let executionStatus = ExecutionStatus(rawValue: status), let trigger = TriggerType(rawValue: triggeredBy)
        else { throw StoreError.corrupt("execution \(id)") }
        let completedAt: String? = row["completed_at"]
        return Execution(
            id: id, workflowID: row["workflow_id"], workflowName: row["workflow_name"], status: executionStatus,
            triggeredBy: trigger,
            triggerData: try StoredJSON.parse(row["trigger_data"], what: "execution \(id) trigger_data"),
            definition: try WorkflowDefinition(
                json: try StoredJSON.parse(row["definition"], what: "execution \(id) definition")),
            startedAt: try StoredDate.date(row["started_at"]), completedAt: try completedAt.map(StoredDate.date),
            error: row["error"], log: log, previousRuns: runs, rerunOf: row["rerun_of"])
    }
}
