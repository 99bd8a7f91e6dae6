import DocflowCore
import DocflowStore
import Foundation

/// The query parameters of a list route, read strictly: an unknown parameter or a bad value is
/// a `validation_failed` naming the parameter, every problem of the request at once, rather
/// than a filter silently ignored and a list that looks right but is not.
struct ListQuery {
    private let query: [String: String]
    private var problems: [FieldError] = []

    /// `allowed` are the route's parameters; any other is a problem.
    init(_ request: APIRequest, allowed: Set<String>) {
        query = request.query
        let accepted = allowed.sorted().joined(separator: ", ")
        for name in request.query.keys.sorted() where !allowed.contains(name) {
            problems.append(
                FieldError(field: name, message: "is not a parameter of \(request.path); it takes \(accepted)"))
        }
    }

    /// Throws every problem found so far.
    func check() throws {
        if !problems.isEmpty { throw APIError.validation(ValidationFailure(details: problems)) }
    }

    private mutating func problem(_ name: String, _ message: String) {
        problems.append(FieldError(field: name, message: message))
    }

    /// The value as given; nil when absent.
    func text(_ name: String) -> String? { query[name] }

    /// A page size from 1 to `maximum`; `standard` when absent.
    mutating func limit(standard: Int, maximum: Int) -> Int {
        guard let text = query["limit"] else { return standard }
        guard let value = Int(text), (1...maximum).contains(value) else {
            problem("limit", "must be an integer from 1 to \(maximum)")
            return standard
        }
        return value
    }

    /// An RFC 3339 time.
    mutating func time(_ name: String) -> Date? {
        guard let text = query[name] else { return nil }
        guard let date = RFC3339.date(from: text) else {
            problem(name, "must be an RFC 3339 time, such as 2026-12-04T10:00:00Z")
            return nil
        }
        return date
    }

    /// One of the values of `Value`, such as an execution status.
    mutating func oneOf<Value: RawRepresentable & CaseIterable>(_ name: String, _: Value.Type) -> Value?
    where Value.RawValue == String {
        guard let text = query[name] else { return nil }
        guard let value = Value(rawValue: text) else {
            problem(name, "must be one of " + Value.allCases.map(\.rawValue).joined(separator: ", "))
            return nil
        }
        return value
    }

    /// A non-empty string, such as an id.
    mutating func identifier(_ name: String) -> String? {
        guard let text = query[name] else { return nil }
        guard !text.isEmpty else {
            problem(name, "must not be empty")
            return nil
        }
        return text
    }

    /// The `next_cursor` of an earlier page of `list`.
    mutating func cursor(of list: PageCursor.List) -> PageCursor? {
        guard let text = query["cursor"] else { return nil }
        guard let cursor = PageCursor(token: text, of: list) else {
            problem("cursor", "must be the next_cursor of an earlier page of this list")
            return nil
        }
        return cursor
    }

    /// The `status`, `workflow_id`, `trigger_type`, `started_after` and `started_before` filters
    /// of the executions lists; a window that ends before it starts is a problem too.
    mutating func executionFilter(workflowID: String?) -> ExecutionFilter {
        var filter = ExecutionFilter()
        filter.workflowID = workflowID ?? identifier("workflow_id")
        filter.status = oneOf("status", ExecutionStatus.self)
        filter.triggeredBy = oneOf("trigger_type", TriggerType.self)
        filter.startedAfter = time("started_after")
        filter.startedBefore = time("started_before")
        if let after = filter.startedAfter, let before = filter.startedBefore, before < after {
            problem("started_before", "must not be before started_after")
        }
        return filter
    }

    /// The workflows list's: a page after a cursor.
    static let workflowParameters: Set<String> = ["cursor", "limit"]

    /// The filters `executionFilter` reads, with `cursor` and `limit`.
    static let executionParameters: Set<String> = [
        "status", "trigger_type", "started_after", "started_before", "cursor", "limit",
    ]
}

extension Page {
    /// `next_cursor`: the token of the page after this one, or null on the last page.
    var nextCursorJSON: JSONValue { next.map { .string($0.token) } ?? .null }
}
