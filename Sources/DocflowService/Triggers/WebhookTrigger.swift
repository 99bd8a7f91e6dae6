import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation

/// `POST /hooks/{workflow_id}` (contract section 3): starts a `webhook` workflow with the JSON
/// body as its `trigger_data`, after checking the signature when the workflow has a secret.
/// An `Idempotency-Key` header makes a resent hook start the workflow once.
struct WebhookTrigger: Sendable {
    let store: Store
    let engine: Engine

    func handle(workflowID: String, body: Data, signature: String?, idempotencyKey: String?) async throws
        -> APIResponse
    {
        guard let workflow = try await store.read({ db in try WorkflowRepository.fetch(db, id: workflowID) }) else {
            throw APIError.notFound("workflow \(workflowID) does not exist")
        }
        if let secret = workflow.triggerConfig["secret"]?.stringValue {
            do {
                try WebhookSignature.verify(signature, body: body, secret: secret)
            } catch {
                throw APIError(status: 401, code: "unauthorized", message: error.description)
            }
        }
        guard workflow.triggerType == .webhook else {
            throw APIError.conflict(
                "workflow \(workflowID) is not triggered by webhooks (its trigger_type is \(workflow.triggerType.rawValue))"
            )
        }
        guard workflow.enabled else { throw APIError.conflict("workflow \(workflowID) is disabled") }
        let triggerData: JSONValue
        if body.isEmpty {
            triggerData = .object([:])
        } else {
            do throws(JSONValue.ParseError) {
                triggerData = try JSONValue.parse(body)
            } catch {
                throw APIError.unreadableJSON("webhook body", error, rootField: "body")
            }
        }
        let request = StartRequest.webhook(workflow, idempotencyKey: idempotencyKey, triggerData: triggerData)
        var execution = try await engine.start(request).execution
        if execution == nil { execution = try await earlier(workflowID: workflowID, claim: request.claim) }
        guard let execution else { throw APIError.conflict("workflow \(workflowID) is disabled") }
        return APIResponse(status: 202, body: execution.startedJSON())
    }

    /// The execution an earlier delivery of the same hook started.
    private func earlier(workflowID: String, claim: String?) async throws -> Execution? {
        guard let claim else { return nil }
        return try await store.read { db in
            try TriggerClaims.execution(db, workflowID: workflowID, key: claim).flatMap {
                try ExecutionRepository.fetch(db, id: $0)
            }
        }
    }
}
