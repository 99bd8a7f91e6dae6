import DocflowCore
import DocflowStore
import Foundation
import GRDB

/// The workflow routes of the seed: list, create, get, update, delete.
struct WorkflowsAPI: Sendable {
    let store: Store
    let names: Names
    /// Called after a commit that wrote status events, so they go out at once.
    let didCommit: @Sendable () -> Void

    func register(in router: inout Router) {
        router.on("GET", "/api/workflows") { _, _ in
            let workflows = try await store.read { db in try WorkflowRepository.fetchAll(db) }
            return .ok(["workflows": .array(workflows.map { $0.json() })])
        }
        router.on("POST", "/api/workflows") { request, _ in
            try await mutate(request) { db in
                let draft = try WorkflowValidator.validateCreate(request.body ?? .null).get()
                let now = Date()
                let workflow = Workflow(id: UUID().uuidString.lowercased(), draft: draft, createdAt: now, updatedAt: now)
                try WorkflowRepository.insert(db, workflow)
                try Outbox.append(db, StatusEvents.definition(.created, workflow, names: names))
                return .created(workflow.json())
            }
        }
        router.on("GET", "/api/workflows/{id}") { _, parameters in
            let id = parameters["id"]
            guard let workflow = try await store.read({ db in try WorkflowRepository.fetch(db, id: id) }) else {
                throw APIError.notFound("workflow \(id) does not exist")
            }
            return .ok(workflow.json())
        }
        router.on("PUT", "/api/workflows/{id}") { request, parameters in
            let id = parameters["id"]
            return try await mutate(request) { db in
                guard var workflow = try WorkflowRepository.fetch(db, id: id) else {
                    throw APIError.notFound("workflow \(id) does not exist")
                }
                let draft = try WorkflowValidator.validateUpdate(request.body ?? .null, existing: workflow).get()
                workflow = Workflow(id: id, draft: draft, createdAt: workflow.createdAt, updatedAt: Date())
                try WorkflowRepository.update(db, workflow)
                try Outbox.append(db, StatusEvents.definition(.updated, workflow, names: names))
                return .ok(workflow.json())
            }
        }
        router.on("DELETE", "/api/workflows/{id}") { request, parameters in
            let id = parameters["id"]
            return try await mutate(request) { db in
                guard let workflow = try WorkflowRepository.fetch(db, id: id) else {
                    throw APIError.notFound("workflow \(id) does not exist")
                }
                try WorkflowRepository.delete(db, id: id)
                try Outbox.append(db, StatusEvents.definition(.deleted, workflow, names: names))
                return .noContent
            }
        }
    }

    /// Runs a change in one transaction with its idempotency record: a request whose
    /// `message_id` was seen in the last 24 hours gets the first reply and changes nothing.
    func mutate(_ request: APIRequest, _ change: @Sendable @escaping (Database) throws -> APIResponse) async throws
        -> APIResponse
    {
        let response = try await store.write { db -> APIResponse in
            if let messageID = request.messageID,
                let recorded = try ProcessedMessages.reply(db, messageID: messageID)
            {
                return try APIResponse(envelope: JSONValue.parse(recorded))
            }
            let response = try change(db)
            if let messageID = request.messageID {
                try ProcessedMessages.record(db, messageID: messageID, reply: response.envelope.encoded())
            }
            return response
        }
        didCommit()
        return response
    }
}
