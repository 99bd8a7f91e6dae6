import DocflowCore
import Foundation
import GRDB

/// What an executions list asks for; every filter set must match.
package struct ExecutionFilter: Sendable, Equatable {
    package var workflowID: String?
    /// Only this execution: a list of one or none.
    package var executionID: String?
    package var status: ExecutionStatus?
    package var triggeredBy: TriggerType?
    /// Started at or after this instant (to the millisecond).
    package var startedAfter: Date?
    /// Started before this instant (to the millisecond).
    package var startedBefore: Date?

    package init(
        workflowID: String? = nil, executionID: String? = nil, status: ExecutionStatus? = nil,
        triggeredBy: TriggerType? = nil, startedAfter: Date? = nil, startedBefore: Date? = nil
    ) {
        self.workflowID = workflowID
        self.executionID = executionID
        self.status = status
        self.triggeredBy = triggeredBy
        self.startedAfter = startedAfter
        self.startedBefore = startedBefore
    }
}

/// The statement that finds a page of executions: the `(started_at, id)` keys of the first
/// `limit` executions that match a filter, newest first, after a cursor.
///
/// Its cost depends on the page, not on the table: each filter combination reads one range of
/// one of the v10 indexes, whose columns are the equality filters then `(started_at, id)`, so
/// the rows come out in order and the read stops at the limit. Status and trigger type share
/// two indexes (with and without the workflow first): a filter on only one of them becomes a
/// `UNION ALL` of one range per value of the other, which SQLite merges in order. Every range
/// names its index (`INDEXED BY`), so a schema change that would make SQLite sort or scan is
/// an error at once instead of a list that slows down as history grows.
package struct ExecutionSearch {
    package let sql: String
    package let arguments: StatementArguments

    package init(_ filter: ExecutionFilter, after cursor: PageCursor?, limit: Int) {
        var shared: [(sql: String, value: (any DatabaseValueConvertible)?)] = []
        if let workflowID = filter.workflowID { shared.append(("workflow_id = ?", workflowID)) }
        if let executionID = filter.executionID { shared.append(("id = ?", executionID)) }
        if let after = filter.startedAfter { shared.append(("started_at >= ?", StoredDate.string(after))) }
        if let before = filter.startedBefore { shared.append(("started_at < ?", StoredDate.string(before))) }

        let byWorkflow = filter.workflowID != nil
        let index: String?
        let ranges: [(status: ExecutionStatus?, trigger: TriggerType?)]
        switch (filter.status, filter.triggeredBy) {
        case _ where filter.executionID != nil:
            // One primary-key lookup; the other filters only check it.
            index = nil
            ranges = [(filter.status, filter.triggeredBy)]
        case (nil, nil):
            index = byWorkflow ? "executions_by_workflow_start" : "executions_by_start"
            ranges = [(nil, nil)]
        case (let status?, let trigger?):
            index = byWorkflow ? "executions_by_workflow_status_trigger" : "executions_by_status_trigger"
            ranges = [(status, trigger)]
        case (let status?, nil):
            index = byWorkflow ? "executions_by_workflow_status_trigger" : "executions_by_status_trigger"
            ranges = TriggerType.allCases.map { (status, $0) }
        case (nil, let trigger?):
            index = byWorkflow ? "executions_by_workflow_status_trigger" : "executions_by_status_trigger"
            ranges = ExecutionStatus.allCases.map { ($0, trigger) }
        }

        var arguments: [(any DatabaseValueConvertible)?] = []
        let selects = ranges.map { range in
            var terms = shared
            if let status = range.status { terms.append(("status = ?", status.rawValue)) }
            if let trigger = range.trigger { terms.append(("triggered_by = ?", trigger.rawValue)) }
            var sql = "SELECT started_at, id FROM executions"
            if let index { sql += " INDEXED BY \(index)" }
            var conditions = terms.map(\.sql)
            arguments += terms.map(\.value)
            if let cursor {
                conditions.append("(started_at, id) < (?, ?)")
                arguments += [cursor.time, cursor.id]
            }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            return sql
        }
        arguments.append(limit)
        self.sql = selects.joined(separator: " UNION ALL ") + " ORDER BY started_at DESC, id DESC LIMIT ?"
        self.arguments = StatementArguments(arguments)
    }
}

extension ExecutionRepository {
    /// Up to `limit` executions that match `filter`, newest first (by `started_at`, then id),
    /// after `cursor`.
    package static func page(_ db: Database, _ filter: ExecutionFilter, after cursor: PageCursor?, limit: Int) throws
        -> Page<Execution>
    {
        // One more than asked says whether a page follows.
        let search = ExecutionSearch(filter, after: cursor, limit: limit + 1)
        let keys = try Row.fetchAll(db, sql: search.sql, arguments: search.arguments)
        let shown = keys.prefix(limit)
        // The keys and the rows are read in one transaction: every key has its row.
        let executions = try shown.compactMap { key in try fetch(db, id: key["id"]) }
        let next =
            keys.count > limit
            ? shown.last.map { key in PageCursor(list: .executions, time: key["started_at"], id: key["id"]) } : nil
        return Page(items: executions, next: next)
    }
}
