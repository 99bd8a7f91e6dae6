import Foundation
import Testing

@testable import DocflowCore

/// Step configs are held to `APIFields` when a client sends them, and only then: what docflow
/// ships passes, and a definition stored before the rule still loads and can be enabled.
@Suite struct APIFieldsTests {
    @Test func everyBuiltInTemplateMakesAValidWorkflow() {
        for template in WorkflowTemplates.all {
            let result = WorkflowValidator.validateCreate(template.createBody(name: nil, description: nil))
            if case .failure(let failure) = result { Issue.record("\(template.id): \(failure.details)") }
        }
    }

    @Test func anUnknownConfigKeyIsRefusedOnCreateButAStoredOneStillLoads() throws {
        let steps: JSONValue = ["steps": [["id": "t", "type": "transform", "config": ["expression": ".", "old": 1]]]]
        let body: JSONValue = ["name": "w", "trigger_type": "manual", "definition": steps]
        guard case .failure(let failure) = WorkflowValidator.validateCreate(body) else {
            Issue.record("an unknown config key was accepted")
            return
        }
        #expect(
            failure.details
                == [
                    FieldError(
                        field: "definition.steps[0].config.old",
                        message: "is not a field of the config of a transform step")
                ])
        let stored = try WorkflowDefinition(json: steps)
        let existing = Workflow(
            id: "w1", name: "w", description: nil, definition: stored, triggerType: .manual, triggerConfig: [:],
            enabled: false, createdAt: Date(), updatedAt: Date())
        // An update that leaves the definition alone is not refused for what it already held.
        guard case .success(let draft) = WorkflowValidator.validateUpdate(["enabled": true], existing: existing) else {
            Issue.record("enabling a stored workflow was refused")
            return
        }
        #expect(draft.enabled)
        // One that sends the definition again is held to the rule.
        guard case .failure = WorkflowValidator.validateUpdate(["definition": steps], existing: existing) else {
            Issue.record("a definition sent again with an unknown config key was accepted")
            return
        }
    }

    @Test func integrationAndSchemaBodiesNameTheirUnknownKeys() {
        guard
            case .failure(let integration) = IntegrationValidator.validate([
                "name": "n", "integration_type": "email", "config": ["to": "a@example.com", "cc": "b@example.com"],
                "colour": "red",
            ])
        else {
            Issue.record("accepted")
            return
        }
        #expect(integration.details.map(\.field) == ["colour", "config.cc"])
        guard
            case .failure(let schema) = SchemaValidator.validate(
                ["name": "s", "fields": [["name": "a", "type": "string", "kind": "x"]], "strict": true], id: "s")
        else {
            Issue.record("accepted")
            return
        }
        #expect(schema.details.map(\.field) == ["strict", "fields[0].kind"])
    }
}
