import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import GRDB

/// Execute, the executions lists and cancel; retry and rerun are in `ExecutionHistoryAPI`.
struct ExecutionsAPI: Sendable {
    let context: APIContext

    func register(in router: inout Router) {
        let store = context.store
        let engine = context.engine
        router.on("POST", "/api/workflows/{id}/execute") { request, parameters in
            let id = parameters["id"]
            let triggerData: JSONValue
            switch request.body?["trigger_data"] {
            case nil, .null?: triggerData = .object([:])
            case .object(let fields)?: triggerData = .object(fields)
            default: throw APIError.validation(field: "trigger_data", "must be an object")
            }
            if let body = request.body {
                guard let fields = body.objectValue else {
                    throw APIError.validation(field: "body", "must be an object")
                }
                try APIError.rejectUnknown(fields, known: APIFields.execute, what: "an execute request")
            }
            return try await execute(workflowID: id, triggerData: triggerData, request: request)
        }
        let everyExecution = ListQuery.executionParameters.union(["workflow_id"])
        let workflowExecutions = ListQuery.executionParameters.union(["execution_id"])
        router.on("GET", "/api/executions", query: everyExecution, handlerChecksQuery: true) { request, _ in
            var query = ListQuery(request, allowed: everyExecution)
            let filter = query.executionFilter(workflowID: nil)
            let cursor = query.cursor(of: .executions)
            let limit = query.limit(standard: 50, maximum: 500)
            try query.check()
            let page = try await store.read { db in
                try ExecutionRepository.page(db, filter, after: cursor, limit: limit)
            }
            return .ok(["executions": .array(page.items.map { $0.json() }), "next_cursor": page.nextCursorJSON])
        }
        router.on("GET", "/api/workflows/{id}/executions", query: workflowExecutions, handlerChecksQuery: true) {
            request, parameters in
            let id = parameters["id"]
            var query = ListQuery(request, allowed: workflowExecutions)
            var asked = query.executionFilter(workflowID: id)
            asked.executionID = query.text("execution_id")
            let filter = asked
            let cursor = query.cursor(of: .executions)
            // The seed's list: 20 unless asked, at most 100, as before cursors came.
            let limit = query.limit(standard: 20, maximum: 100)
            _ = try await context.workflow(id)
            try query.check()
            let page = try await store.read { db in
                try ExecutionRepository.page(db, filter, after: cursor, limit: limit)
            }
            return .ok(["executions": .array(page.items.map { $0.json() }), "next_cursor": page.nextCursorJSON])
        }
        router.on("POST", "/api/workflows/{id}/executions/{execution_id}/cancel") { _, parameters in
            let execution = try await context.execution(parameters["execution_id"], of: parameters["id"])
            guard execution.status == .running else {
                throw APIError.conflict(
                    "execution \(execution.id) is \(execution.status.rawValue); only running executions can be cancelled"
                )
            }
            try await engine.cancel(execution)
            return .ok(try await context.execution(execution.id, of: execution.workflowID).json())
        }
    }

    /// Creates and starts an execution in one transaction with the request's idempotency record;
    /// a replayed request starts nothing and gets the first reply.
    func execute(workflowID: String, triggerData: JSONValue, request: APIRequest) async throws -> APIResponse {
        let engine = context.engine
        // Starting an execution is not a change of definitions: the execution is its own record.
        return try await context.mutate(request, audit: nil) { db in
            guard let workflow = try WorkflowRepository.fetch(db, id: workflowID) else {
                throw APIError.notFound("workflow \(workflowID) does not exist")
            }
            guard workflow.enabled else {
                throw APIError.conflict("workflow \(workflowID) is disabled; enable it to execute it")
            }
            guard let execution = try engine.start(.manual(workflow, triggerData: triggerData), in: db).execution else {
                throw APIError.conflict("workflow \(workflowID) is disabled; enable it to execute it")
            }
            return .accepted(execution.startedJSON())
        }.response
    }
}

extension APIResponse {
    /// 202: the execution runs after the reply.
    static func accepted(_ body: JSONValue) -> APIResponse { APIResponse(status: 202, body: body) }
}

extension APIContext {
    func execution(_ executionID: String, of workflowID: String) async throws -> Execution {
        let execution = try await store.read { db in try ExecutionRepository.fetch(db, id: executionID) }
        guard let execution, execution.workflowID == workflowID else {
            throw APIError.notFound("execution \(executionID) of workflow \(workflowID) does not exist")
        }
        return execution
    }
}

/// Carries a value out of a database transaction closure.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?

    func set(_ value: Value) {
        lock.withLock { stored = value }
    }

    var value: Value? { lock.withLock { stored } }
}
