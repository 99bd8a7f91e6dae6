import DocflowCore
import Foundation
import Testing

/// Names and descriptions of workflows, integrations and schemas: no control characters in a
/// name, and a length limit on both, each reported under its field.
@Suite("Name and description limits")
struct TextLimitsTests {
    private static let controlCharacters = [
        "\u{0}", "\u{1}", "\u{7}", "\n", "\t", "\u{1B}", "\u{7F}", "\u{85}", "\u{9F}",
    ]

    private func workflow(_ overrides: [String: JSONValue]) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "name": "Test", "trigger_type": "manual", "definition": ["steps": [["id": "parse", "type": "parse"]]],
        ]
        for (key, value) in overrides { fields[key] = value }
        return fields
    }

    private func workflowProblems(_ overrides: [String: JSONValue]) -> [FieldError] {
        guard case .failure(let failure) = WorkflowValidator.validateCreate(.object(workflow(overrides))) else {
            return []
        }
        return failure.details
    }

    private func integrationProblems(_ overrides: [String: JSONValue]) -> [FieldError] {
        var fields: [String: JSONValue] = [
            "name": "Alerts", "integration_type": "slack", "config": ["webhook_url": "https://hooks.example.com/x"],
        ]
        for (key, value) in overrides { fields[key] = value }
        guard case .failure(let failure) = IntegrationValidator.validate(.object(fields)) else { return [] }
        return failure.details
    }

    private func schemaProblems(_ overrides: [String: JSONValue]) -> [FieldError] {
        var fields: [String: JSONValue] = [
            "id": "receipts", "name": "Receipts", "fields": [["name": "total", "type": "string"]],
        ]
        for (key, value) in overrides { fields[key] = value }
        guard case .failure(let failure) = SchemaValidator.validate(.object(fields), id: nil) else { return [] }
        return failure.details
    }

    @Test func theLimitsAreFixed() {
        #expect(TextLimits.maxNameLength == 200)
        #expect(TextLimits.maxDescriptionLength == 10_000)
    }

    // MARK: - Workflows

    @Test(arguments: controlCharacters)
    func aWorkflowNameWithAControlCharacterIsRejected(control: String) {
        let problems = workflowProblems(["name": .string("Invoice\(control)Processing")])
        #expect(problems == [FieldError(field: "name", message: "must not contain control characters")])
    }

    @Test func surroundingWhitespaceIsTrimmedNotRejected() throws {
        let draft = try WorkflowValidator.validateCreate(.object(workflow(["name": "\n\t Invoices \n"]))).get()
        #expect(draft.name == "Invoices")
    }

    @Test func aWorkflowNameOf200CharactersIsAcceptedAnd201Rejected() throws {
        let longest = String(repeating: "é", count: 200)
        #expect(
            try WorkflowValidator.validateCreate(.object(workflow(["name": .string(longest)]))).get().name == longest)
        #expect(
            workflowProblems(["name": .string(longest + "x")]) == [
                FieldError(field: "name", message: "must be at most 200 characters")
            ])
    }

    @Test func combiningMarksCountTowardTheNameLimit() {
        // One user-perceived character, 301 Unicode scalars.
        let name = "e" + String(repeating: "\u{301}", count: 300)
        #expect(workflowProblems(["name": .string(name)]).map(\.field) == ["name"])
    }

    @Test func aWorkflowDescriptionOf10000CharactersIsAcceptedAnd10001Rejected() throws {
        let longest = String(repeating: "a", count: 9_999) + "\n"
        let draft = try WorkflowValidator.validateCreate(.object(workflow(["description": .string(longest)]))).get()
        #expect(draft.description == longest)
        #expect(
            workflowProblems(["description": .string(longest + "b")]) == [
                FieldError(field: "description", message: "must be at most 10000 characters")
            ])
    }

    @Test func aTenMegabyteDescriptionIsRejected() {
        let description = String(repeating: "x", count: 10 * 1024 * 1024)
        #expect(workflowProblems(["description": .string(description)]).map(\.field) == ["description"])
    }

    @Test func anUpdateIsHeldToTheSameLimits() throws {
        let draft = try WorkflowValidator.validateCreate(.object(workflow([:]))).get()
        let existing = Workflow(id: "w1", draft: draft, createdAt: Date(), updatedAt: Date())
        let update: JSONValue = ["name": "a\u{0}b", "description": .string(String(repeating: "d", count: 10_001))]
        guard case .failure(let failure) = WorkflowValidator.validateUpdate(update, existing: existing) else {
            Issue.record("accepted")
            return
        }
        #expect(Set(failure.details.map(\.field)) == ["name", "description"])
    }

    // MARK: - Integrations and schemas

    @Test func anIntegrationNameWithNULIsRejected() {
        #expect(
            integrationProblems(["name": "Alerts\u{0}"]) == [
                FieldError(field: "name", message: "must not contain control characters")
            ])
    }

    @Test func anIntegrationNameOver200CharactersIsRejected() {
        #expect(integrationProblems(["name": .string(String(repeating: "n", count: 200))]).isEmpty)
        #expect(
            integrationProblems(["name": .string(String(repeating: "n", count: 201))]) == [
                FieldError(field: "name", message: "must be 1 to 200 characters")
            ])
    }

    @Test func aSchemaNameWithAControlCharacterIsRejected() {
        #expect(
            schemaProblems(["name": "Re\u{1B}[31mceipts"]) == [
                FieldError(field: "name", message: "must not contain control characters")
            ])
    }

    @Test func schemaDescriptionsAreLimited() {
        let long = JSONValue.string(String(repeating: "d", count: 10_001))
        #expect(schemaProblems(["description": long]).map(\.field) == ["description"])
        let fields: JSONValue = [["name": "total", "type": "string", "description": long]]
        #expect(schemaProblems(["fields": fields]).map(\.field) == ["fields[0].description"])
    }
}
