import DocflowCore
import Foundation
import GRDB

/// Integrations in `integrations`.
package enum IntegrationRepository {
    package static func save(_ db: Database, _ integration: Integration) throws {
        try db.execute(
            sql: """
                INSERT INTO integrations (id, workflow_id, name, integration_type, config, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET workflow_id = excluded.workflow_id, name = excluded.name,
                integration_type = excluded.integration_type, config = excluded.config, updated_at = excluded.updated_at
                """,
            arguments: [
                integration.id, integration.workflowID, integration.name, integration.type.rawValue,
                JSONValue.object(integration.config).encodedString(), StoredDate.string(integration.createdAt),
                StoredDate.string(integration.updatedAt),
            ])
    }

    package static func fetch(_ db: Database, id: String) throws -> Integration? {
        try Row.fetchOne(db, sql: "SELECT * FROM integrations WHERE id = ?", arguments: [id]).map(integration)
    }

    /// Oldest first; with `workflowID`, only that workflow's.
    package static func list(_ db: Database, workflowID: String? = nil) throws -> [Integration] {
        if let workflowID {
            return try Row.fetchAll(
                db, sql: "SELECT * FROM integrations WHERE workflow_id = ? ORDER BY created_at, rowid",
                arguments: [workflowID]
            ).map(integration)
        }
        return try Row.fetchAll(db, sql: "SELECT * FROM integrations ORDER BY created_at, rowid").map(integration)
    }

    @discardableResult
    package static func delete(_ db: Database, id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM integrations WHERE id = ?", arguments: [id])
        return db.changesCount > 0
    }

    private static func integration(_ row: Row) throws -> Integration {
        let id: String = row["id"]
        let type: String = row["integration_type"]
        guard let integrationType = IntegrationType(rawValue: type) else {
            throw StoreError.corrupt("integration \(id) has type \(type)")
        }
        return Integration(
            id: id, workflowID: row["workflow_id"], name: row["name"], type: integrationType,
            config: try StoredJSON.parse(row["config"], what: "integration \(id) config").objectValue ?? [:],
            createdAt: try StoredDate.date(row["created_at"]), updatedAt: try StoredDate.date(row["updated_at"]))
    }
}
