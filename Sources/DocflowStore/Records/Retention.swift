import Foundation
import GRDB

/// How much history docflow keeps: finished executions up to an age and up to a count per
/// workflow (running ones are never pruned), and the trigger claims and idempotency records
/// that go with them. Unset limits keep everything.
package struct RetentionPolicy: Sendable, Equatable {
    /// Finished executions that started longer ago than this are pruned; trigger claims too.
    package var maxAge: TimeInterval?
    /// A workflow's finished executions beyond its newest this many are pruned.
    package var maxPerWorkflow: Int?
    /// Rows deleted per transaction: small, so the journal's commits go between them.
    package var batchSize = 500

    package init(maxAge: TimeInterval? = 30 * 86_400, maxPerWorkflow: Int? = 10_000) {
        self.maxAge = maxAge
        self.maxPerWorkflow = maxPerWorkflow
    }
}

/// The pruning the janitor does, one small batch per call, each in its own transaction. Every
/// query walks an index (migration v11), so a batch costs the same at any history size.
package enum Retention {
    /// Deletes up to `limit` finished executions that started before `cutoff`, with their
    /// steps; returns how many.
    package static func pruneExecutions(_ db: Database, startedBefore cutoff: Date, limit: Int) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM executions WHERE id IN (
                    SELECT id FROM executions INDEXED BY executions_by_start
                    WHERE started_at < ? AND status != 'running' ORDER BY started_at LIMIT ?)
                """,
            arguments: [StoredDate.string(cutoff), limit])
        return db.changesCount
    }

    /// Deletes up to `limit` of a workflow's finished executions older than its newest `keep`;
    /// returns how many.
    package static func pruneExecutions(_ db: Database, workflowID: String, keeping keep: Int, limit: Int) throws
        -> Int
    {
        guard
            let cutoff = try String.fetchOne(
                db,
                sql: """
                    SELECT started_at FROM executions INDEXED BY executions_by_workflow_start WHERE workflow_id = ?
                    ORDER BY started_at DESC LIMIT 1 OFFSET ?
                    """,
                arguments: [workflowID, max(keep - 1, 0)])
        else { return 0 }
        try db.execute(
            sql: """
                DELETE FROM executions WHERE id IN (
                    SELECT id FROM executions INDEXED BY executions_by_workflow_start
                    WHERE workflow_id = ? AND started_at < ? AND status != 'running' ORDER BY started_at LIMIT ?)
                """,
            arguments: [workflowID, cutoff, limit])
        return db.changesCount
    }

    /// The workflows that have executions (a workflow deleted takes its executions with it).
    package static func workflowsWithExecutions(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT id FROM workflows")
    }

    /// Deletes up to `limit` trigger claims taken before `cutoff` (none by age when nil), or
    /// whose workflow no longer exists; returns how many. A claim guards against an event or schedule slot coming
    /// again, which happens within minutes, not within the retention age.
    package static func pruneClaims(_ db: Database, claimedBefore cutoff: Date?, limit: Int) throws -> Int {
        var removed = 0
        if let cutoff {
            try db.execute(
                sql: """
                    DELETE FROM trigger_claims WHERE rowid IN (
                        SELECT rowid FROM trigger_claims INDEXED BY trigger_claims_by_age WHERE claimed_at < ? LIMIT ?)
                    """,
                arguments: [StoredDate.string(cutoff), limit])
            removed = db.changesCount
        }
        // Claims of deleted workflows: one workflow id at a time, through the primary key.
        let orphans = try String.fetchAll(
            db,
            sql: """
                SELECT DISTINCT workflow_id FROM trigger_claims
                WHERE workflow_id NOT IN (SELECT id FROM workflows) LIMIT 16
                """)
        for workflowID in orphans where removed < limit {
            try db.execute(
                sql: """
                    DELETE FROM trigger_claims WHERE rowid IN (
                        SELECT rowid FROM trigger_claims WHERE workflow_id = ? LIMIT ?)
                    """,
                arguments: [workflowID, limit - removed])
            removed += db.changesCount
        }
        return removed
    }

    /// Deletes up to `limit` idempotency records older than their window; returns how many.
    package static func pruneProcessedMessages(_ db: Database, now: Date = Date(), limit: Int) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM processed_messages WHERE message_id IN (
                    SELECT message_id FROM processed_messages WHERE created_at <= ? LIMIT ?)
                """,
            arguments: [now.timeIntervalSince1970 - ProcessedMessages.retention, limit])
        return db.changesCount
    }

    /// Gives up to `pages` free pages back to the file system; returns how many are left free.
    package static func giveBackSpace(_ db: Database, pages: Int) throws -> Int {
        try db.execute(sql: "PRAGMA incremental_vacuum(\(max(pages, 1)))")
        return try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
    }

    /// Pages in use and free, for the logs and the tests.
    package static func pageCounts(_ db: Database) throws -> (used: Int, free: Int) {
        let total = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        return (total - free, free)
    }
}
