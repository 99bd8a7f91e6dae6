import DocflowCore
import DocflowStore
import Foundation
import GRDB
import GRDBSQLite
import Testing

/// A list of executions costs what its page costs, not what the history holds (issue 16).
///
/// The cost is counted in SQLite VM steps, which are deterministic where a clock is not, on two
/// tables filled alike with 1,024 and 1,048,576 executions: their newest rows are the same, so
/// every query of the lists must take the same steps on both. Wall-clock times are printed for
/// the docs, never asserted.
@Suite("Execution search cost")
struct ExecutionSearchCostTests {
    static let small = 1 << 10
    static let large = 1 << 20
    static let limit = 10
    static let newest = RFC3339.date(from: "2026-06-01T12:00:00Z")!

    /// A query of the lists: a filter and whether it asks for the second page.
    struct Query: CustomStringConvertible {
        var filter: ExecutionFilter
        var secondPage: Bool

        var description: String {
            var parts: [String] = []
            if let workflowID = filter.workflowID { parts.append("workflow_id=\(workflowID)") }
            if filter.executionID != nil { parts.append("execution_id") }
            if let status = filter.status { parts.append("status=\(status.rawValue)") }
            if let trigger = filter.triggeredBy { parts.append("trigger_type=\(trigger.rawValue)") }
            if filter.startedAfter != nil { parts.append("started_after") }
            if filter.startedBefore != nil { parts.append("started_before") }
            if secondPage { parts.append("cursor") }
            return parts.isEmpty ? "(none)" : parts.joined(separator: "&")
        }
    }

    /// Every combination of the filters, with and without a time window, first and second page;
    /// then one execution by id (of a table of `count`) and a workflow that has none.
    static func queries(count: Int) -> [Query] {
        var queries: [Query] = []
        for workflowID in [nil, "workflow-1"] {
            for status in [nil, ExecutionStatus.failed] {
                for trigger in [nil, TriggerType.webhook] {
                    for window in [false, true] {
                        for secondPage in [false, true] {
                            var filter = ExecutionFilter(workflowID: workflowID, status: status, triggeredBy: trigger)
                            if window {
                                filter.startedAfter = newest.addingTimeInterval(-250)
                                filter.startedBefore = newest.addingTimeInterval(-50)
                            }
                            queries.append(Query(filter: filter, secondPage: secondPage))
                        }
                    }
                }
            }
        }
        queries.append(Query(filter: ExecutionFilter(workflowID: "workflow-9"), secondPage: false))
        // A failed execution of workflow-1, 27 from the newest.
        let id = executionID(count - 27)
        queries.append(Query(filter: ExecutionFilter(workflowID: "workflow-1", executionID: id), secondPage: false))
        queries.append(Query(filter: ExecutionFilter(executionID: id, status: .failed), secondPage: false))
        return queries
    }

    static func executionID(_ row: Int) -> String {
        let digits = String(row)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    /// A store whose executions table holds `count` executions, two a second up to `newest`.
    /// Workflow (of two), status and trigger type go through every combination every 32 rows,
    /// so the newest rows are the same whatever the count (a multiple of 32), and each
    /// combination has two pages within the newest 1,024.
    static func store(executions count: Int) throws -> (store: Store, directory: URL) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-search-\(UUID().uuidString.prefix(8))")
        let store = try Store(path: directory.appendingPathComponent("docflow.sqlite").path, synchronous: .normal)
        let definition = #"{"steps":[{"id":"t","type":"transform","config":{"expression":"."}}]}"#
        try store.pool.write { db in
            // The fill writes every index; a large cache keeps it from spilling mid-transaction.
            try db.execute(sql: "PRAGMA cache_size = -262144")
            for workflow in 0..<2 {
                try db.execute(
                    sql: """
                        INSERT INTO workflows (id, name, definition, trigger_type, trigger_config, enabled,
                        created_at, updated_at) VALUES (?, 'w', ?, 'manual', '{}', 1, ?, ?)
                        """,
                    arguments: [
                        "workflow-\(workflow)", definition, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z",
                    ])
            }
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :count)
                    INSERT INTO executions
                    (id, workflow_id, workflow_name, status, triggered_by, trigger_data, definition, started_at)
                    SELECT printf('00000000-0000-4000-8000-%012d', i), 'workflow-' || (i % 2), 'w',
                    CASE (i / 2) % 4 WHEN 0 THEN 'running' WHEN 1 THEN 'completed' WHEN 2 THEN 'failed'
                    ELSE 'cancelled' END,
                    CASE (i / 8) % 4 WHEN 0 THEN 'manual' WHEN 1 THEN 'scheduled' WHEN 2 THEN 'webhook'
                    ELSE 'event' END,
                    '{}', :definition,
                    strftime('%Y-%m-%dT%H:%M:%fZ', :newest, printf('-%d seconds', (:count - 1 - i) / 2))
                    FROM n
                    """,
                arguments: [
                    "count": count, "definition": definition,
                    "newest": RFC3339.string(from: newest).replacingOccurrences(of: "Z", with: ""),
                ])
        }
        return (store, directory)
    }

    /// The statement a query's page runs: after the first page's cursor for a second page.
    static func search(_ db: Database, _ query: Query) throws -> ExecutionSearch {
        var cursor: PageCursor?
        if query.secondPage {
            cursor = try ExecutionRepository.page(db, query.filter, after: nil, limit: limit).next
        }
        return ExecutionSearch(query.filter, after: cursor, limit: limit + 1)
    }

    /// The rows a statement returns and the VM steps it took.
    static func run(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> (rows: Int, steps: Int) {
        let statement = try db.makeStatement(sql: sql)
        try statement.setArguments(arguments)
        let rows = try Row.fetchAll(statement).count
        return (rows, Int(sqlite3_stmt_status(statement.sqliteStatement, SQLITE_STMTSTATUS_VM_STEP, 0)))
    }

    /// The query docflow ran before v10 for a workflow's list: it sorts all of the workflow's
    /// executions to return the newest few.
    static let unindexedList = "SELECT * FROM executions WHERE workflow_id = 'workflow-1' ORDER BY rowid DESC LIMIT 11"

    /// The median of five runs of `body`, in milliseconds.
    static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        var runs: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            try body()
            let took = ContinuousClock.now - start
            runs.append(Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15)
        }
        return runs.sorted()[2]
    }

    static func format(_ milliseconds: Double) -> String { String(format: "%.3f", milliseconds) }

    struct Measured {
        var rows: [String: Int] = [:]
        var steps: [String: Int] = [:]
        var unindexedSteps = 0
        var report: [String] = []
    }

    static func measure(executions count: Int) throws -> Measured {
        let fillStart = ContinuousClock.now
        let (store, directory) = try store(executions: count)
        defer { try? FileManager.default.removeItem(at: directory) }
        let filled = ContinuousClock.now - fillStart
        return try store.pool.read { db in
            var measured = Measured()
            for query in queries(count: count) {
                let search = try search(db, query)
                let (rows, steps) = try run(db, search.sql, search.arguments)
                measured.rows[query.description] = rows
                measured.steps[query.description] = steps
            }
            measured.unindexedSteps = try run(db, unindexedList, []).steps

            let secondPage = try ExecutionRepository.page(
                db, ExecutionFilter(workflowID: "workflow-1"), after: nil, limit: 50
            ).next
            let pages: [(String, ExecutionFilter, PageCursor?)] = [
                ("GET /api/executions", ExecutionFilter(), nil),
                (
                    "?status=failed&started_after=<an hour ago>",
                    ExecutionFilter(status: .failed, startedAfter: newest.addingTimeInterval(-3600)), nil
                ),
                ("?trigger_type=webhook", ExecutionFilter(triggeredBy: .webhook), nil),
                ("a workflow's list, second page", ExecutionFilter(workflowID: "workflow-1"), secondPage),
            ]
            measured.report.append("\(count) executions (filled in \(filled)); median of 5 runs:")
            for (name, filter, cursor) in pages {
                let search = ExecutionSearch(filter, after: cursor, limit: 51)
                let keys = try milliseconds { _ = try Row.fetchAll(db, sql: search.sql, arguments: search.arguments) }
                let page = try milliseconds { _ = try ExecutionRepository.page(db, filter, after: cursor, limit: 50) }
                measured.report.append(
                    "  \(name): a page of 50 in \(format(page)) ms, its search statement \(format(keys)) ms")
            }
            let before = try milliseconds { _ = try Row.fetchAll(db, sql: unindexedList) }
            measured.report.append("  before v10, a workflow's list of 11: \(format(before)) ms")
            return measured
        }
    }

    @Test func everyListQueryTakesTheSameStepsAtAThousandAndAMillionExecutions() throws {
        let small = try Self.measure(executions: Self.small)
        let large = try Self.measure(executions: Self.large)
        print((small.report + large.report).joined(separator: "\n"))
        for query in Self.queries(count: Self.small).map(\.description) {
            let steps = (small.steps[query] ?? -1, large.steps[query] ?? -1)
            print("  \(query): \(steps.0) VM steps at \(Self.small), \(steps.1) at \(Self.large)")
            #expect(small.rows[query] == large.rows[query], "\(query)")
            #expect(steps.0 == steps.1, "\(query)")
        }
        // The measure sees a list that grows with the history: the query of before v10 does.
        print(
            "  before v10: \(small.unindexedSteps) VM steps at \(Self.small), \(large.unindexedSteps) at \(Self.large)")
        #expect(large.unindexedSteps > 100 * small.unindexedSteps)
    }

    @Test func everyListQueryReadsAnIndexRangeWithoutSortingOrScanningTheTable() throws {
        let (store, directory) = try Self.store(executions: 256)
        defer { try? FileManager.default.removeItem(at: directory) }
        try store.pool.read { db in
            var plans: [(String, String, StatementArguments)] = try Self.queries(count: 256).map { query in
                let search = try Self.search(db, query)
                return (query.description, search.sql, search.arguments)
            }
            let workflows = try WorkflowRepository.page(db, after: nil, limit: 1)
            #expect(workflows.items.map(\.id) == ["workflow-0"])
            for (name, cursor) in [("workflows", nil), ("workflows after a cursor", workflows.next)] {
                let query = WorkflowRepository.pageQuery(after: cursor, limit: 3)
                plans.append((name, query.sql, query.arguments))
            }
            #expect(workflows.next != nil)
            for (name, sql, arguments) in plans {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map {
                    $0["detail"] as String
                }
                for line in plan {
                    #expect(!line.contains("TEMP B-TREE"), "\(name): \(plan)")
                    #expect(!(line.hasPrefix("SCAN ") && !line.contains(" INDEX ")), "\(name): \(plan)")
                }
                #expect(plan.contains { $0.hasPrefix("SEARCH ") || $0.hasPrefix("SCAN ") }, "\(name): \(plan)")
            }
        }
    }
}
