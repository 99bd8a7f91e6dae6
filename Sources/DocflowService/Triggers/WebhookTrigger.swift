import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import GRDB

/// `POST /hooks/{workflow_id}` (contract section 3): starts a `webhook` workflow with the JSON
/// body as its `trigger_data`, after checking the signature when the workflow has a secret.
///
/// A request is started once: a signed request is accepted once per signature (a replay within
/// its 5-minute window finds the execution it started), and an `Idempotency-Key` header makes a
/// resent hook start the workflow once. Both answer a repeat 202 with the first execution and
/// `"duplicate": true`, and start nothing.
struct WebhookTrigger: Sendable {
    let store: Store
    let engine: Engine
    /// After a start commits: its status event is in the outbox.
    let didCommit: @Sendable () -> Void

    func handle(workflowID: String, body: Data, signature: String?, idempotencyKey: String?) async throws
        -> APIResponse
    {
        guard let workflow = try await store.read({ db in try WorkflowRepository.fetch(db, id: workflowID) }) else {
            throw APIError.notFound("workflow \(workflowID) does not exist")
        }
        var verified: WebhookSignature.Verified?
        if let secret = workflow.triggerConfig["secret"]?.stringValue {
            do {
                verified = try WebhookSignature.verify(signature, body: body, secret: secret)
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
        let engine = self.engine
        let seen = verified
        // One transaction for the signature seen, the claim and the start: of concurrent copies
        // of one request, exactly one starts.
        let response = try await store.write { db -> APIResponse in
            if let verified = seen,
                let earlier = try WebhookSignaturesSeen.execution(db, workflowID: workflowID, digest: verified.digest)
            {
                // The engine counts the claims it refuses; a replayed signature never reaches it.
                engine.metrics.workflow(workflowID).duplicate(.webhook)
                return try Self.duplicate(db, executionID: earlier)
            }
            let started = try engine.start(request, in: db).execution
            var executionID = started?.id
            if executionID == nil, let claim = request.claim {
                // Refused: an earlier request with the same Idempotency-Key took the claim.
                executionID = try TriggerClaims.execution(db, workflowID: workflowID, key: claim)
            }
            guard let executionID else { throw APIError.conflict("workflow \(workflowID) is disabled") }
            if let verified = seen {
                try WebhookSignaturesSeen.record(
                    db, workflowID: workflowID, digest: verified.digest, signedAt: verified.timestamp,
                    executionID: executionID)
            }
            if let started { return APIResponse(status: 202, body: started.startedJSON()) }
            return try Self.duplicate(db, executionID: executionID)
        }
        didCommit()
        return response
    }

    /// The answer to a repeat: the execution the first request started, as it stands now.
    private static func duplicate(_ db: GRDB.Database, executionID: String) throws -> APIResponse {
        var body =
            try ExecutionRepository.fetch(db, id: executionID)?.startedJSON().objectValue
            ?? ["execution_id": .string(executionID)]
        body["duplicate"] = true
        return APIResponse(status: 202, body: .object(body))
    }
}
