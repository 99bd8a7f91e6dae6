import DocflowCore
import Foundation
import GRDB

/// Custom extraction schemas in `extraction_schemas`; built-ins live in code.
package enum SchemaRepository {
    package static func save(_ db: Database, _ schema: ExtractionSchema) throws {
        let fields = JSONValue.object(["fields": schema.json()["fields"] ?? .array([])]).encodedString()
        let now = StoredDate.string(Date())
        try db.execute(
            sql: """
                INSERT INTO extraction_schemas (id, name, description, fields, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,
                fields = excluded.fields, updated_at = excluded.updated_at
                """,
            arguments: [schema.id, schema.name, schema.description, fields, now, now])
    }

    package static func fetch(_ db: Database, id: String) throws -> ExtractionSchema? {
        try Row.fetchOne(db, sql: "SELECT * FROM extraction_schemas WHERE id = ?", arguments: [id]).map(schema)
    }

    package static func list(_ db: Database) throws -> [ExtractionSchema] {
        try Row.fetchAll(db, sql: "SELECT * FROM extraction_schemas ORDER BY created_at, rowid").map(schema)
    }

    @discardableResult
    package static func delete(_ db: Database, id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM extraction_schemas WHERE id = ?", arguments: [id])
        return db.changesCount > 0
    }

    private static func schema(_ row: Row) throws -> ExtractionSchema {
        let id: String = row["id"]
        let stored = try StoredJSON.parse(row["fields"], what: "schema \(id) fields")
        var body: [String: JSONValue] = ["name": .string(row["name"]), "fields": stored["fields"] ?? .array([])]
        if let description: String = row["description"] { body["description"] = .string(description) }
        switch SchemaValidator.validate(.object(body), id: id) {
        case .success(var schema):
            schema.builtIn = false
            return schema
        case .failure(let failure):
            throw StoreError.corrupt("schema \(id): \(failure.message)")
        }
    }
}
