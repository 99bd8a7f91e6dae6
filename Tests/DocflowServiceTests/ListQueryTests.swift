import DocflowCore
import DocflowStore
import Foundation
import Testing

@testable import DocflowService

/// The list routes read their query strictly: every unknown parameter and bad value is named.
@Suite("List query")
struct ListQueryTests {
    private func filter(_ query: [String: String]) throws -> (ExecutionFilter, PageCursor?, Int) {
        var list = ListQuery(
            APIRequest(method: "GET", path: "/api/executions", query: query),
            allowed: ListQuery.executionParameters.union(["workflow_id"]))
        let filter = list.executionFilter(workflowID: nil)
        let cursor = list.cursor(of: .executions)
        let limit = list.limit(standard: 50, maximum: 500)
        try list.check()
        return (filter, cursor, limit)
    }

    private func problems(_ query: [String: String]) -> [FieldError] {
        do {
            _ = try filter(query)
            return []
        } catch let error as APIError {
            #expect(error.status == 400)
            #expect(error.code == "validation_failed")
            return error.details
        } catch {
            Issue.record("unexpected \(error)")
            return []
        }
    }

    @Test func everyFilterIsRead() throws {
        let cursor = PageCursor(list: .executions, time: "2026-06-01T12:00:00.000Z", id: "e-1")
        let (filter, readCursor, limit) = try filter([
            "status": "failed", "workflow_id": "w-1", "trigger_type": "webhook",
            "started_after": "2026-06-01T11:00:00Z", "started_before": "2026-06-01T13:00:00+01:00",
            "cursor": cursor.token, "limit": "7",
        ])
        #expect(filter.status == .failed)
        #expect(filter.workflowID == "w-1")
        #expect(filter.triggeredBy == .webhook)
        #expect(filter.startedAfter == RFC3339.date(from: "2026-06-01T11:00:00Z"))
        #expect(filter.startedBefore == RFC3339.date(from: "2026-06-01T12:00:00Z"))
        #expect(readCursor == cursor)
        #expect(limit == 7)
    }

    @Test func nothingAskedIsEverythingFiftyAtATime() throws {
        let (filter, cursor, limit) = try filter([:])
        #expect(filter == ExecutionFilter())
        #expect(cursor == nil)
        #expect(limit == 50)
    }

    @Test(arguments: [
        ("status", "done"), ("trigger_type", "cron"), ("started_after", "yesterday"),
        ("started_before", "2026-13-01T00:00:00Z"), ("cursor", "not-a-cursor"), ("limit", "0"),
        ("limit", "10000"), ("limit", "ten"), ("workflow_id", ""),
    ])
    func aBadValueIsNamed(_ name: String, _ value: String) {
        #expect(problems([name: value]).map(\.field) == [name])
    }

    @Test func unknownParametersAreNamedWithWhatTheRouteTakes() {
        let found = problems(["filter": "x", "enabled": "true"])
        #expect(found.map(\.field) == ["enabled", "filter"])
        #expect(found.first?.message.contains("started_after") == true)
    }

    @Test func everyProblemIsReportedAtOnce() {
        let found = problems(["status": "done", "limit": "0", "sort": "asc"])
        #expect(Set(found.map(\.field)) == ["status", "limit", "sort"])
    }

    @Test func aWindowThatEndsBeforeItStartsIsRefused() {
        let found = problems(["started_after": "2026-06-01T12:00:00Z", "started_before": "2026-06-01T11:00:00Z"])
        #expect(found.map(\.field) == ["started_before"])
    }

    @Test func aWorkflowsCursorIsNotAnExecutionsCursor() {
        let cursor = PageCursor(list: .workflows, time: "2026-06-01T12:00:00.000Z", id: "w-1")
        #expect(problems(["cursor": cursor.token]).map(\.field) == ["cursor"])
    }
}
