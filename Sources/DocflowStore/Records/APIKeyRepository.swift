import DocflowCore
import Foundation
import GRDB

/// What an API key may do: `read` calls `GET` routes only, `write` calls every route.
package enum APIKeyScope: String, Sendable, CaseIterable {
    case read
    case write
}

/// An API key as stored: everything but its secret, of which only a SHA-256 is kept.
package struct APIKeyRecord: Sendable, Equatable {
    package var id: String
    package var name: String
    package var scope: APIKeyScope
    package var secretSHA256: Data
    package var createdAt: Date
    package var expiresAt: Date?
    package var revokedAt: Date?

    package init(
        id: String, name: String, scope: APIKeyScope, secretSHA256: Data, createdAt: Date, expiresAt: Date? = nil,
        revokedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.scope = scope
        self.secretSHA256 = secretSHA256
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// Neither revoked nor expired at `now`.
    package func isLive(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }
}

/// The `api_keys` table.
package enum APIKeyRepository {
    package enum Failure: Error, Equatable {
        /// A live key already has this name.
        case nameTaken(String)
    }

    package static func insert(_ db: Database, _ key: APIKeyRecord) throws {
        let taken =
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL)",
                arguments: [key.name]) ?? false
        guard !taken else { throw Failure.nameTaken(key.name) }
        try db.execute(
            sql: """
                INSERT INTO api_keys (id, name, scope, secret_sha256, created_at, expires_at, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                key.id, key.name, key.scope.rawValue, key.secretSHA256, StoredDate.string(key.createdAt),
                key.expiresAt.map(StoredDate.string), key.revokedAt.map(StoredDate.string),
            ])
    }

    package static func fetch(_ db: Database, id: String) throws -> APIKeyRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).map(record)
    }

    /// Every key, revoked ones included, oldest first.
    package static func list(_ db: Database) throws -> [APIKeyRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id").map(record)
    }

    /// Whether any key is live at `now`: without one, the HTTP API answers nobody.
    package static func anyLive(_ db: Database, at now: Date) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?))",
            arguments: [StoredDate.string(now)]) ?? false
    }

    /// Revokes the live key with this id or name; the revoked record, or nil when none matched.
    package static func revoke(_ db: Database, idOrName: String, at now: Date) throws -> APIKeyRecord? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT * FROM api_keys WHERE (id = ? OR name = ?) AND revoked_at IS NULL",
                arguments: [idOrName, idOrName])
        else { return nil }
        var key = try record(row)
        key.revokedAt = now
        try db.execute(
            sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ?", arguments: [StoredDate.string(now), key.id])
        return key
    }

    private static func record(_ row: Row) throws -> APIKeyRecord {
        let id: String = row["id"]
        guard let scope = APIKeyScope(rawValue: row["scope"]) else { throw StoreError.corrupt("API key \(id) scope") }
        return APIKeyRecord(
            id: id, name: row["name"], scope: scope, secretSHA256: row["secret_sha256"],
            createdAt: try StoredDate.date(row["created_at"]),
            expiresAt: try (row["expires_at"] as String?).map(StoredDate.date),
            revokedAt: try (row["revoked_at"] as String?).map(StoredDate.date))
    }
}
