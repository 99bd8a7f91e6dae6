import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import GRDB

/// Retry, rerun and bulk retry: ways to run again what ran, each adding to the history rather
/// than rewriting it. A retry keeps the run it ends in the execution's `previous_runs`; a rerun is
/// a new execution that names the one it reruns.
struct ExecutionHistoryAPI: Sendable {
    let context: APIContext

    /// Bulk retry's page size: 100 unless asked, at most this many in one request.
    static let maxBulkRetry = 1000

    func register(in router: inout Router) {
        let context = self.context
        let engine = context.engine
        router.on("POST", "/api/workflows/{id}/executions/{execution_id}/retry") { request, parameters in
            let (workflowID, executionID) = (parameters["id"], parameters["execution_id"])
            var body = StrictRequestBody(request, what: "a retry request", fields: APIFields.retryExecution)
            try body.check()
            return try await context.mutate(request, audit: nil) { db in
                let execution = try Self.execution(db, executionID, of: workflowID)
                guard execution.status == .failed else {
                    throw APIError.conflict(
                        "execution \(execution.id) is \(execution.status.rawValue); only failed executions can be retried"
                    )
                }
                guard let retried = try engine.retry(execution, in: db) else {
                    throw APIError.conflict("execution \(execution.id) could not be retried; it is no longer failed")
                }
                return .accepted(retried.startedJSON())
            }.response
        }
        router.on("POST", "/api/workflows/{id}/executions/{execution_id}/rerun") { request, parameters in
            let (workflowID, executionID) = (parameters["id"], parameters["execution_id"])
            var body = StrictRequestBody(request, what: "a rerun request", fields: APIFields.rerunExecution)
            let triggerData = body.object("trigger_data")
            try body.check()
            return try await context.mutate(request, audit: nil) { db in
                let original = try Self.execution(db, executionID, of: workflowID)
                guard original.status.isFinished else {
                    throw APIError.conflict(
                        "execution \(original.id) is running; only finished executions can be rerun")
                }
                guard let workflow = try WorkflowRepository.fetch(db, id: workflowID) else {
                    throw APIError.notFound("workflow \(workflowID) does not exist")
                }
                let disabled = APIError.conflict(
                    "workflow \(workflowID) is disabled; enable it to rerun its executions")
                guard workflow.enabled else { throw disabled }
                let start = StartRequest.rerun(
                    workflow, of: original.id, triggerData: triggerData ?? original.triggerData)
                guard let execution = try engine.start(start, in: db).execution else { throw disabled }
                var reply = execution.startedJSON().objectValue ?? [:]
                reply["rerun_of"] = .string(original.id)
                return .accepted(.object(reply))
            }.response
        }
        router.on("POST", "/api/executions/retry") { request, _ in
            var body = StrictRequestBody(request, what: "a bulk retry request", fields: APIFields.bulkRetry)
            var query = ListQuery(body.asQuery(request), allowed: body.fields)
            var filter = query.executionFilter(workflowID: nil)
            let limit = query.limit(standard: 100, maximum: Self.maxBulkRetry)
            body.take(query)
            if let status = filter.status, status != .failed {
                body.problem("status", "must be failed: only failed executions are retried")
            }
            try body.check()
            filter.status = .failed
            return try await context.mutate(request, audit: nil) { [filter] db in
                let failed = try ExecutionRepository.page(db, filter, after: nil, limit: limit).items
                let retried = try failed.compactMap { execution in try engine.retry(execution, in: db)?.id }
                return .accepted([
                    "retried": .array(retried.map(JSONValue.string)), "count": .number(Double(retried.count)),
                ])
            }.response
        }
    }

    /// The execution, read in the caller's transaction; 404 unless it is one of that workflow's.
    static func execution(_ db: Database, _ executionID: String, of workflowID: String) throws -> Execution {
        guard let execution = try ExecutionRepository.fetch(db, id: executionID), execution.workflowID == workflowID
        else { throw APIError.notFound("execution \(executionID) of workflow \(workflowID) does not exist") }
        return execution
    }
}

/// The body of a POST that takes a few optional fields (`APIFields`), read strictly: a field it
/// does not take, or a value of the wrong type, is a `validation_failed` naming it, every problem
/// at once. (The router refuses query parameters the route does not declare.)
struct StrictRequestBody {
    let fields: Set<String>
    private let members: [String: JSONValue]
    private var problems: [FieldError] = []

    /// `what` names the body in messages ("is not a field of a rerun request").
    init(_ request: APIRequest, what: String, fields: Set<String>) {
        self.fields = fields
        let takes = fields.isEmpty ? "none" : fields.sorted().joined(separator: ", ")
        switch request.body {
        case nil, .null?:
            members = [:]
        case .object(let object)?:
            members = object
            for key in object.keys.sorted() where !fields.contains(key) {
                problems.append(FieldError(field: key, message: "is not a field of \(what); it takes \(takes)"))
            }
        default:
            members = [:]
            problems.append(FieldError(field: "body", message: "must be an object"))
        }
    }

    mutating func problem(_ field: String, _ message: String) {
        problems.append(FieldError(field: field, message: message))
    }

    /// An object member; nil when absent or `null`.
    mutating func object(_ name: String) -> JSONValue? {
        switch members[name] {
        case nil, .null?: return nil
        case .object(let object)?: return .object(object)
        default:
            problem(name, "must be an object")
            return nil
        }
    }

    /// The known members as the query of a list (strings as they are, whole numbers written
    /// out), for `ListQuery` to read with the list's own rules; members of another type are
    /// problems here.
    mutating func asQuery(_ request: APIRequest) -> APIRequest {
        var query: [String: String] = [:]
        for (name, value) in members where fields.contains(name) {
            switch value {
            case .null: continue
            case .string(let text): query[name] = text
            case .number(let number) where name == "limit" && number.rounded() == number && abs(number) < 1e15:
                query[name] = String(Int(number))
            default: problem(name, name == "limit" ? "must be an integer" : "must be a string")
            }
        }
        return APIRequest(method: request.method, path: request.path, query: query)
    }

    /// Adds the problems `query` found.
    mutating func take(_ query: ListQuery) {
        do { try query.check() } catch let error as APIError { problems += error.details } catch {}
    }

    func check() throws {
        if !problems.isEmpty { throw APIError.validation(ValidationFailure(details: problems)) }
    }
}
