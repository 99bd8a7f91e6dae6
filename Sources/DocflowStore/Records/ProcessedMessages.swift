import Foundation
import GRDB

/// Replies to mutating API requests by `message_id`, so a redelivered or resent request gets the
/// first reply again instead of changing anything twice.
package enum ProcessedMessages {
    package static let retention: TimeInterval = 24 * 3600

    /// The reply recorded for `messageID` within the retention window.
    package static func reply(_ db: Database, messageID: String, now: Date = Date()) throws -> Data? {
        try Data.fetchOne(
            db, sql: "SELECT reply FROM processed_messages WHERE message_id = ? AND created_at > ?",
            arguments: [messageID, now.timeIntervalSince1970 - retention])
    }

    package static func record(_ db: Database, messageID: String, reply: Data, now: Date = Date()) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO processed_messages (message_id, reply, created_at) VALUES (?, ?, ?)",
            arguments: [messageID, reply, now.timeIntervalSince1970])
    }

    /// Forgets replies older than the retention window; returns how many.
    @discardableResult
    package static func prune(_ db: Database, now: Date = Date()) throws -> Int {
        try db.execute(
            sql: "DELETE FROM processed_messages WHERE created_at <= ?",
            arguments: [now.timeIntervalSince1970 - retention])
        return db.changesCount
    }
}
