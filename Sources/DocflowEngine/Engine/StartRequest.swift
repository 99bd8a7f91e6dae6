import DocflowCore
import Foundation

/// What asks for a new execution: the workflow, its trigger and `trigger_data`, and the claim
/// that keeps the same trigger from starting the workflow twice. Build one with the trigger's
/// factory (`event`, `schedule`, `webhook`, `manual`), which names its claim, and hand it to
/// `Engine.start`.
package struct StartRequest: Sendable {
    package var workflow: Workflow
    package var trigger: TriggerType
    package var triggerData: JSONValue
    /// Written with the execution, once per workflow: a second start with the same claim is
    /// refused, whatever the broker redelivers and across crashes. A claimed start also checks,
    /// in the same transaction, that the workflow is still enabled.
    package var claim: String?
    /// Run the steps without side effects while the start commits (`StepCapabilities.Effects`);
    /// a refused start then drops out without a trace. For a first delivery of an event, which
    /// is rarely a duplicate.
    package var speculative: Bool
    /// The finished execution this one reruns, recorded as its `rerun_of`.
    package var rerunOf: String?

    package init(
        workflow: Workflow, trigger: TriggerType, triggerData: JSONValue, claim: String? = nil,
        speculative: Bool = false, rerunOf: String? = nil
    ) {
        self.workflow = workflow
        self.trigger = trigger
        self.triggerData = triggerData
        self.claim = claim
        self.speculative = speculative
        self.rerunOf = rerunOf
    }

    /// The new execution this request starts.
    func execution() -> Execution {
        var execution = Execution(workflow: workflow, triggeredBy: trigger, triggerData: triggerData)
        execution.rerunOf = rerunOf
        return execution
    }

    /// A platform event: claimed by its id; a first delivery starts speculatively.
    package static func event(_ workflow: Workflow, eventID: String, triggerData: JSONValue, redelivered: Bool)
        -> StartRequest
    {
        StartRequest(
            workflow: workflow, trigger: .event, triggerData: triggerData, claim: "event:\(eventID)",
            speculative: !redelivered)
    }

    /// A cron slot: claimed by the slot, so it fires at most once.
    package static func schedule(_ workflow: Workflow, slot: Date, triggerData: JSONValue) -> StartRequest {
        StartRequest(
            workflow: workflow, trigger: .scheduled, triggerData: triggerData,
            claim: "schedule:\(RFC3339.string(from: slot))")
    }

    /// An external webhook: claimed by its `Idempotency-Key`, when it sends one.
    package static func webhook(_ workflow: Workflow, idempotencyKey: String?, triggerData: JSONValue) -> StartRequest {
        let claim = idempotencyKey.flatMap { $0.isEmpty ? nil : "webhook:\($0)" }
        return StartRequest(workflow: workflow, trigger: .webhook, triggerData: triggerData, claim: claim)
    }

    /// `execute` through the API: its request's idempotency record, not a claim, keeps a resent
    /// request from starting twice.
    package static func manual(_ workflow: Workflow, triggerData: JSONValue) -> StartRequest {
        StartRequest(workflow: workflow, trigger: .manual, triggerData: triggerData)
    }

    /// A rerun of a finished execution through the API: a new manual execution of the workflow as
    /// it is now, linked to `original`. Like `manual`, its request's idempotency record keeps a
    /// resent request from starting twice.
    package static func rerun(_ workflow: Workflow, of original: String, triggerData: JSONValue) -> StartRequest {
        StartRequest(workflow: workflow, trigger: .manual, triggerData: triggerData, rerunOf: original)
    }
}

/// What became of a start.
package enum StartOutcome: Sendable {
    /// Written, and running (or queued for a slot).
    case started(Execution)
    /// Nothing was written: the claim was taken before (the trigger already started the
    /// workflow), or the workflow is disabled.
    case refused

    package var execution: Execution? {
        if case .started(let execution) = self { execution } else { nil }
    }
}
