import DocflowCore
import Foundation
import GRDB

/// Workflow definitions in the `workflows` table.
package enum WorkflowRepository {
    package static func insert(_ db: Database, _ workflow: Workflow) throws {
        try WorkflowRow(workflow).insert(db)
    }

    package static func update(_ db: Database, _ workflow: Workflow) throws {
        try WorkflowRow(workflow).update(db)
    }

    /// Removes the workflow with its schedule and executions; false when there was none.
    @discardableResult
    package static func delete(_ db: Database, id: String) throws -> Bool {
        try WorkflowRow.deleteOne(db, key: id)
    }

    package static func fetch(_ db: Database, id: String) throws -> Workflow? {
        try WorkflowRow.fetchOne(db, key: id)?.workflow()
    }

    /// Every workflow, oldest first.
    package static func fetchAll(_ db: Database) throws -> [Workflow] {
        try WorkflowRow.order(Column("created_at"), Column("id")).fetchAll(db).map { try $0.workflow() }
    }

    /// Up to `limit` workflows, oldest first (by `created_at`, then id), after `cursor`.
    package static func page(_ db: Database, after cursor: PageCursor?, limit: Int) throws -> Page<Workflow> {
        // One more than asked says whether a page follows.
        let query = pageQuery(after: cursor, limit: limit + 1)
        let rows = try WorkflowRow.fetchAll(db, sql: query.sql, arguments: query.arguments)
        let shown = rows.prefix(limit)
        let next =
            rows.count > limit ? shown.last.map { PageCursor(list: .workflows, time: $0.created_at, id: $0.id) } : nil
        return Page(items: try shown.map { try $0.workflow() }, next: next)
    }

    /// The statement of `page`: one range of `workflows_by_created_id`, so a page deep in the list
    /// costs what the first does.
    package static func pageQuery(after cursor: PageCursor?, limit: Int) -> (sql: String, arguments: StatementArguments)
    {
        var sql = "SELECT * FROM workflows INDEXED BY workflows_by_created_id"
        var arguments: StatementArguments = []
        if let cursor {
            sql += " WHERE (created_at, id) > (?, ?)"
            arguments += [cursor.time, cursor.id]
        }
        sql += " ORDER BY created_at, id LIMIT ?"
        arguments += [limit]
        return (sql, arguments)
    }

    /// Enabled event-triggered workflows, for the trigger index.
    package static func fetchEnabledEventWorkflows(_ db: Database) throws -> [Workflow] {
        try WorkflowRow.filter(Column("enabled") == true && Column("trigger_type") == TriggerType.event.rawValue)
            .fetchAll(db).map { try $0.workflow() }
    }
}

struct WorkflowRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "workflows"

    var id: String
    var name: String
    var description: String?
    var definition: String
    var trigger_type: String
    var trigger_config: String
    var trigger_event: String?
    var enabled: Bool
    var created_at: String
    var updated_at: String

    init(_ workflow: Workflow) {
        id = workflow.id
        name = workflow.name
        description = workflow.description
        definition = workflow.definition.json().encodedString()
        trigger_type = workflow.triggerType.rawValue
        trigger_config = JSONValue.object(workflow.triggerConfig).encodedString()
        trigger_event = workflow.triggerType == .event ? workflow.triggerConfig["event"]?.stringValue : nil
        enabled = workflow.enabled
        created_at = StoredDate.string(workflow.createdAt)
        updated_at = StoredDate.string(workflow.updatedAt)
    }

    func workflow() throws -> Workflow {
        guard let triggerType = TriggerType(rawValue: trigger_type) else {
            throw StoreError.corrupt("workflow \(id) has trigger_type \(trigger_type)")
        }
        return Workflow(
            id: id, name: name, description: description,
            definition: try WorkflowDefinition(
                json: try StoredJSON.parse(definition, what: "workflow \(id) definition")),
            triggerType: triggerType,
            triggerConfig: try StoredJSON.parse(trigger_config, what: "workflow \(id) trigger_config").objectValue
                ?? [:],
            enabled: enabled, createdAt: try StoredDate.date(created_at), updatedAt: try StoredDate.date(updated_at))
    }
}

/// A stored row that does not read back: a bug or a hand-edited database.
package enum StoreError: Error, CustomStringConvertible {
    case corrupt(String)

    package var description: String {
        switch self {
        case .corrupt(let what): "database holds an unreadable value: \(what)"
        }
    }
}

/// Times are stored as RFC 3339 text with milliseconds, so they sort and read back exactly.
enum StoredDate {
    static func string(_ date: Date) -> String {
        RFC3339.string(from: date, milliseconds: true)
    }

    static func date(_ text: String) throws -> Date {
        guard let date = RFC3339.date(from: text) else { throw StoreError.corrupt("time \(text)") }
        return date
    }
}

enum StoredJSON {
    static func parse(_ text: String, what: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(text)
        } catch {
            throw StoreError.corrupt("\(what): \(error)")
        }
    }
}
