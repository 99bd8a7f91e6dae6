import Foundation
import GRDB

/// Signatures of webhook requests already accepted, kept while they could still verify: the
/// same signed request replayed within its window finds the execution it started instead of
/// starting another. Recorded in the transaction that starts the execution.
package enum WebhookSignaturesSeen {
    /// The execution a request with this signature started, if one did.
    package static func execution(_ db: Database, workflowID: String, digest: Data) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT execution_id FROM webhook_signatures_seen WHERE workflow_id = ? AND digest = ?",
            arguments: [workflowID, digest])
    }

    /// `signedAt` is the signature's own timestamp (unix seconds): the row can go once that is
    /// out of the window.
    package static func record(
        _ db: Database, workflowID: String, digest: Data, signedAt: Int, executionID: String
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO webhook_signatures_seen (workflow_id, digest, execution_id, signed_at)
                VALUES (?, ?, ?, ?)
                """,
            arguments: [workflowID, digest, executionID, signedAt])
    }

    /// Forgets signatures whose timestamp is older than `before` (unix seconds); returns how many.
    @discardableResult
    package static func prune(_ db: Database, before: Int) throws -> Int {
        try db.execute(sql: "DELETE FROM webhook_signatures_seen WHERE signed_at < ?", arguments: [before])
        return db.changesCount
    }
}
