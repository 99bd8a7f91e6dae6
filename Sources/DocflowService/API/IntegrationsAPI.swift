import DocflowCore
import DocflowStore
import Foundation
import GRDB

/// The integration routes of the seed: list (with `workflow_id`), create, and update and delete
/// with `?id=`.
struct IntegrationsAPI: Sendable {
    let context: APIContext

    func register(in router: inout Router) {
        let store = context.store
        router.on("GET", "/api/workflows/integrations", query: ["workflow_id"]) { request, _ in
            let workflowID = request.query["workflow_id"]
            let integrations = try await store.read { db in try IntegrationRepository.list(db, workflowID: workflowID) }
            return .ok(["integrations": .array(integrations.map { $0.json() })])
        }
        router.on("POST", "/api/workflows/integrations") { request, _ in
            let draft = try IntegrationValidator.validate(
                request.body ?? .null, templateLimits: context.templateLimits
            ).get()
            return try await context.mutate(request, audit: Audited("integration", "create")) { db in
                try Self.checkWorkflow(db, draft.workflowID)
                let now = Date()
                let integration = Integration(
                    id: UUID().uuidString.lowercased(), workflowID: draft.workflowID, name: draft.name,
                    type: draft.type,
                    config: draft.config, createdAt: now, updatedAt: now)
                try IntegrationRepository.save(db, integration)
                return .created(integration.json())
            }.response
        }
        router.on("PUT", "/api/workflows/integrations", query: ["id"]) { request, _ in
            let id = try Self.id(request)
            return try await context.mutate(request, audit: Audited("integration", "update", id: id)) { db in
                guard let existing = try IntegrationRepository.fetch(db, id: id) else {
                    throw APIError.notFound("integration \(id) does not exist")
                }
                let draft = try IntegrationValidator.validate(
                    request.body ?? .null, existing: existing, templateLimits: context.templateLimits
                ).get()
                try Self.checkWorkflow(db, draft.workflowID)
                let integration = Integration(
                    id: id, workflowID: draft.workflowID, name: draft.name, type: draft.type, config: draft.config,
                    createdAt: existing.createdAt, updatedAt: Date())
                try IntegrationRepository.save(db, integration)
                return .ok(integration.json())
            }.response
        }
        router.on("DELETE", "/api/workflows/integrations", query: ["id"]) { request, _ in
            let id = try Self.id(request)
            return try await context.mutate(request, audit: Audited("integration", "delete", id: id)) { db in
                guard try IntegrationRepository.delete(db, id: id) else {
                    throw APIError.notFound("integration \(id) does not exist")
                }
                return .noContent
            }.response
        }
    }

    static func id(_ request: APIRequest) throws -> String {
        guard let id = request.query["id"], !id.isEmpty else {
            throw APIError.validation(field: "id", "is required: ?id=<integration id>")
        }
        return id
    }

    static func checkWorkflow(_ db: GRDB.Database, _ workflowID: String?) throws {
        guard let workflowID else { return }
        guard try WorkflowRepository.fetch(db, id: workflowID) != nil else {
            throw APIError.notFound("workflow \(workflowID) does not exist")
        }
    }
}
