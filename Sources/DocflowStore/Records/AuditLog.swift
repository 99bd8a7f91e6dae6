import DocflowCore
import Foundation
import GRDB

/// One change as the audit log keeps it.
package struct AuditEntry: Sendable, Equatable {
    /// Increasing; the paging cursor.
    package var id: Int64
    package var at: Date
    /// `api_key`, `broker_user`, `anonymous` or `cli`.
    package var actorKind: String
    package var actor: String
    /// `create`, `update`, `delete`, `revoke`.
    package var action: String
    /// `workflow`, `integration`, `schedule`, `schema` or `api_key`.
    package var resourceType: String
    package var resourceID: String?
    package var requestID: String?
    /// `http`, `amqp` or `cli`.
    package var transport: String

    package init(
        id: Int64 = 0, at: Date = Date(), actorKind: String, actor: String, action: String, resourceType: String,
        resourceID: String?, requestID: String?, transport: String
    ) {
        self.id = id
        self.at = at
        self.actorKind = actorKind
        self.actor = actor
        self.action = action
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.requestID = requestID
        self.transport = transport
    }

    package func json() -> JSONValue {
        [
            "id": .string(String(id)), "at": .string(RFC3339.string(from: at, milliseconds: true)),
            "actor": ["kind": .string(actorKind), "name": .string(actor)], "action": .string(action),
            "resource_type": .string(resourceType), "resource_id": resourceID.map(JSONValue.string) ?? .null,
            "request_id": requestID.map(JSONValue.string) ?? .null, "transport": .string(transport),
        ]
    }
}

/// The `audit_log` table: written in the transaction of the change it records, read newest first.
package enum AuditLog {
    package struct Filter: Sendable, Equatable {
        package var actor: String?
        package var action: String?
        package var resourceType: String?
        package var resourceID: String?
        package var since: Date?
        package var until: Date?
        /// Entries with a smaller id only: the `next_cursor` of the page before.
        package var before: Int64?

        package init() {}
    }

    package static func record(_ db: Database, _ entry: AuditEntry) throws {
        try db.execute(
            sql: """
                INSERT INTO audit_log (at, actor_kind, actor, action, resource_type, resource_id, request_id, transport)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                StoredDate.string(entry.at), entry.actorKind, entry.actor, entry.action, entry.resourceType,
                entry.resourceID, entry.requestID, entry.transport,
            ])
    }

    /// Up to `limit` entries matching `filter`, newest first.
    package static func list(_ db: Database, _ filter: Filter, limit: Int) throws -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func match(_ column: String, _ value: (any DatabaseValueConvertible)?, _ op: String = "=") {
            guard let value else { return }
            conditions.append("\(column) \(op) ?")
            arguments.append(value)
        }
        match("actor", filter.actor)
        match("action", filter.action)
        match("resource_type", filter.resourceType)
        match("resource_id", filter.resourceID)
        match("at", filter.since.map(StoredDate.string), ">=")
        match("at", filter.until.map(StoredDate.string), "<")
        match("id", filter.before, "<")
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(limit)
        return try Row.fetchAll(
            db, sql: "SELECT * FROM audit_log \(whereClause) ORDER BY id DESC LIMIT ?",
            arguments: StatementArguments(arguments)
        ).map { row in
            AuditEntry(
                id: row["id"], at: try StoredDate.date(row["at"]), actorKind: row["actor_kind"], actor: row["actor"],
                action: row["action"], resourceType: row["resource_type"], resourceID: row["resource_id"],
                requestID: row["request_id"], transport: row["transport"])
        }
    }
}
