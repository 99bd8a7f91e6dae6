import DocflowCore
import Foundation
import GRDB

/// Cron schedules in `schedules`, one per workflow.
package enum ScheduleRepository {
    package static func save(_ db: Database, _ schedule: Schedule) throws {
        try db.execute(
            sql: """
                INSERT INTO schedules
                (workflow_id, cron_expression, timezone, enabled, next_run_at, last_run_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (workflow_id) DO UPDATE SET
                cron_expression = excluded.cron_expression, timezone = excluded.timezone, enabled = excluded.enabled,
                next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at, updated_at = excluded.updated_at
                """,
            arguments: [
                schedule.workflowID, schedule.cronExpression, schedule.timezone, schedule.enabled,
                schedule.nextRunAt.map(StoredDate.string), schedule.lastRunAt.map(StoredDate.string),
                StoredDate.string(schedule.createdAt), StoredDate.string(schedule.updatedAt),
            ])
    }

    package static func fetch(_ db: Database, workflowID: String) throws -> Schedule? {
        try Row.fetchOne(db, sql: "SELECT * FROM schedules WHERE workflow_id = ?", arguments: [workflowID])
            .map(schedule)
    }

    @discardableResult
    package static func delete(_ db: Database, workflowID: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM schedules WHERE workflow_id = ?", arguments: [workflowID])
        return db.changesCount > 0
    }

    /// Enabled schedules whose next slot is at or before `now`, earliest first.
    package static func due(_ db: Database, now: Date, limit: Int = 100) throws -> [Schedule] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= ?
                ORDER BY next_run_at LIMIT ?
                """,
            arguments: [StoredDate.string(now), limit]
        ).map(schedule)
    }

    /// The earliest next slot of any enabled schedule.
    package static func nextSlot(_ db: Database) throws -> Date? {
        let text = try String.fetchOne(
            db, sql: "SELECT MIN(next_run_at) FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL")
        return try text.map(StoredDate.date)
    }

    private static func schedule(_ row: Row) throws -> Schedule {
        let next: String? = row["next_run_at"]
        let last: String? = row["last_run_at"]
        return Schedule(
            workflowID: row["workflow_id"], cronExpression: row["cron_expression"], timezone: row["timezone"],
            enabled: row["enabled"], nextRunAt: try next.map(StoredDate.date), lastRunAt: try last.map(StoredDate.date),
            createdAt: try StoredDate.date(row["created_at"]), updatedAt: try StoredDate.date(row["updated_at"]))
    }
}

/// One row per (workflow, cause): the same event id or schedule slot never starts a workflow twice.
package enum TriggerClaims {
    /// Records the claim; false when it was already claimed.
    package static func claim(_ db: Database, workflowID: String, key: String, executionID: String) throws -> Bool {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO trigger_claims (workflow_id, trigger_key, execution_id, claimed_at)
                VALUES (?, ?, ?, ?)
                """)
        try statement.execute(arguments: [workflowID, key, executionID, StoredDate.string(Date())])
        return db.changesCount > 0
    }

    /// The execution that took the claim, if it was taken.
    package static func execution(_ db: Database, workflowID: String, key: String) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT execution_id FROM trigger_claims WHERE workflow_id = ? AND trigger_key = ?",
            arguments: [workflowID, key])
    }
}

extension WorkflowRepository {
    /// Whether the workflow exists and is enabled, without reading its definition.
    package static func isEnabled(_ db: Database, id: String) throws -> Bool {
        let statement = try db.cachedStatement(sql: "SELECT enabled FROM workflows WHERE id = ?")
        return try Bool.fetchOne(statement, arguments: [id]) ?? false
    }
}
