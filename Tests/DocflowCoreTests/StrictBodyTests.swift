import Foundation
import Testing

@testable import DocflowCore

/// Unknown fields are errors naming them, at every level a workflow or schedule body has: a
/// misspelt key must not make a workflow that does something else than asked.
@Suite struct StrictBodyTests {
    static func fields(_ result: Result<WorkflowDraft, ValidationFailure>) -> [String] {
        guard case .failure(let failure) = result else { return [] }
        return failure.details.map(\.field)
    }

    @Test func aMisspeltFilterIsRefusedInsteadOfMatchingEveryEvent() {
        let body: JSONValue = [
            "name": "w", "trigger_type": "event", "definition": ["steps": [["id": "p", "type": "parse"]]],
            "trigger_config": ["event": "document.uploaded", "filter": ["file_type": "pdf"]],
        ]
        #expect(Self.fields(WorkflowValidator.validateCreate(body)) == ["trigger_config.filter"])
    }

    @Test func unknownKeysAreNamedAtEveryLevelAndReadOnlyOnesAreAccepted() {
        let body: JSONValue = [
            "name": "w", "trigger_type": "manual", "colour": "red",
            "id": "ignored", "created_at": "2024-01-01T00:00:00Z",
            "definition": [
                "steps": [["id": "p", "type": "parse", "tiemout_ms": 5, "retry": ["attempts": 3]]], "version": 2,
            ],
        ]
        #expect(Self.fields(WorkflowValidator.validateCreate(body)) == ["colour"])
        var fixed = body.objectValue!
        fixed["colour"] = nil
        #expect(
            Self.fields(WorkflowValidator.validateCreate(.object(fixed)))
                == ["definition.version", "definition.steps[0].tiemout_ms", "definition.steps[0].retry.attempts"])
        #expect(
            Self.fields(
                WorkflowValidator.validateCreate([
                    "name": "w", "trigger_type": "manual", "definition": ["steps": [["id": "p", "type": "parse"]]],
                    "id": "x", "updated_at": "2024-01-01T00:00:00Z",
                ])
            ).isEmpty)
    }

    @Test func anUpdateWithAnUnknownFieldChangesNothing() {
        let existing = Workflow(
            id: "w1", name: "w", description: nil,
            definition: WorkflowDefinition(steps: [StepDefinition(id: "p", type: .parse)]), triggerType: .manual,
            triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        guard case .failure(let failure) = WorkflowValidator.validateUpdate(["enabld": false], existing: existing)
        else {
            Issue.record("an update with only an unknown field was accepted")
            return
        }
        #expect(failure.details == [FieldError(field: "enabld", message: "is not a field of a workflow")])
    }

    @Test func aScheduleBodyWithCronInsteadOfCronExpressionIsRefused() {
        guard
            case .failure(let failure) = ScheduleValidator.validate(
                ["cron": "0 9 * * *"], existing: nil, workflowID: "w1")
        else {
            Issue.record("accepted")
            return
        }
        #expect(failure.details.map(\.field).contains("cron"))
        // What a client read back is accepted as it is.
        let read: JSONValue = [
            "workflow_id": "w1", "cron_expression": "0 9 * * *", "timezone": "UTC", "enabled": true,
            "next_run_at": .null, "last_run_at": .null, "created_at": .null, "updated_at": .null,
        ]
        if case .failure(let failure) = ScheduleValidator.validate(read, existing: nil, workflowID: "w1") {
            Issue.record("a schedule as read was refused: \(failure.details)")
        }
    }
}
