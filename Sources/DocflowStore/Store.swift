import Foundation
import GRDB

/// docflow's SQLite database: a WAL-mode pool with one writer and several readers.
///
/// Repositories are functions over a `Database`, so a caller composes one transaction out of
/// several of them (a workflow change, its status event and its idempotency record commit
/// together or not at all).
package final class Store: Sendable {
    package enum Synchronous: String, Sendable, CaseIterable {
        /// Every commit reaches the disk before it returns: nothing committed is lost on power loss.
        case full = "FULL"
        /// Commits survive a process crash; the last ones may be lost on power loss.
        case normal = "NORMAL"
    }

    package let path: String
    package let pool: DatabasePool

    /// Opens (creating it and its folder if needed) and migrates the database at `path`.
    package init(path: String, synchronous: Synchronous = .full) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "docflow"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        self.path = path
        try Self.createWithIncrementalVacuum(path)
        self.pool = try DatabasePool(path: path, configuration: configuration)
        try Migrations.migrator.migrate(pool)
    }

    /// Pruned history gives its space back to the file system (`Retention.giveBackSpace`) only in
    /// incremental auto-vacuum mode, which SQLite sets only on a database with no page yet. So a
    /// new file is made in that mode here, with a rollback-journal connection of its own, before
    /// the WAL pool opens it. An older docflow's file is left as it is: its pruned pages are
    /// reused, and given back only by a manual `VACUUM` (docs/operations.md, Retention).
    private static func createWithIncrementalVacuum(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute(sql: "VACUUM")
        }
        try queue.close()
    }

    package func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    package func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await pool.write(body)
    }

    /// Whether a write transaction can commit right now (for readiness checks).
    package func isWritable() async -> Bool {
        do {
            try await pool.write { db in try db.execute(sql: "DELETE FROM health_probe") }
            return true
        } catch {
            return false
        }
    }
}
