import DocflowCore
import Foundation
import GRDB

/// The crash-loop breaker's bookkeeping: how many times each `running` execution was resumed
/// since it last ran in a process that stopped gracefully, and whether the last process did.
package enum Resumptions {
    /// The process is stopping gracefully: the executions it leaves `running` did not stop it, so
    /// the next start does not count their resumption against them.
    package static func markCleanShutdown(_ db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO clean_shutdown (id, stopped_at) VALUES (1, ?)",
            arguments: [StoredDate.string(Date())])
    }

    /// At start, in one transaction before any execution is launched: clears the clean-shutdown
    /// marker (zeroing every count if it was there), then counts one more resumption for each
    /// `running` execution resumed fewer than `limit` times. Those are returned to resume, oldest
    /// first; the others, resumed `limit` times and each time followed by a crash, to fail.
    package static func resumeRunning(_ db: Database, limit: Int) throws -> (
        resume: [Execution], exhausted: [Execution]
    ) {
        let clean = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM clean_shutdown)") ?? false
        try db.execute(sql: "DELETE FROM clean_shutdown")
        if clean {
            try db.execute(sql: "UPDATE executions SET resumptions = 0 WHERE status = 'running' AND resumptions > 0")
        }
        let exhausted = Set(
            try String.fetchAll(
                db, sql: "SELECT id FROM executions WHERE status = 'running' AND resumptions >= ?",
                arguments: [limit]))
        try db.execute(
            sql: "UPDATE executions SET resumptions = resumptions + 1 WHERE status = 'running' AND resumptions < ?",
            arguments: [limit])
        let running = try ExecutionRepository.fetchRunning(db)
        return (running.filter { !exhausted.contains($0.id) }, running.filter { exhausted.contains($0.id) })
    }
}
