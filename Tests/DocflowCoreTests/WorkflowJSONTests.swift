import Foundation
import Testing

@testable import DocflowCore

private let january2024 = Date(timeIntervalSince1970: 1_704_067_200)

private func sampleWorkflow(triggerConfig: [String: JSONValue] = ["secret": "s3cret"]) -> Workflow {
    Workflow(
        id: "0b8e6a84-5a53-4b4c-9d3f-2f1b0c1a7e11", name: "Invoices", description: nil,
        definition: WorkflowDefinition(steps: [StepDefinition(id: "parse", type: .parse)]),
        triggerType: .webhook, triggerConfig: triggerConfig, enabled: true,
        createdAt: january2024, updatedAt: january2024.addingTimeInterval(90.75))
}

@Suite struct WorkflowJSONTests {
    @Test func definitionRoundTripsThroughJSON() throws {
        let definition = WorkflowDefinition(steps: [
            StepDefinition(
                id: "parse", type: .parse, config: ["keep": ["nested": [1, 2.5, true, .null]]], next: .step("check"),
                retry: RetryPolicy(maxAttempts: 4, initialIntervalMs: 250, backoff: .linear, maxIntervalMs: 5000),
                timeoutMs: 120_000, onError: .continue),
            StepDefinition(id: "skipped", type: .transform, config: ["expression": ".x"]),
            StepDefinition(
                id: "check", type: .condition, config: ["expression": ".ok", "then": "extract", "else": "end"]),
            StepDefinition(id: "extract", type: .extract, config: ["schema_id": "invoice-schema"], next: .end),
            StepDefinition(id: "notify", type: .integration, config: ["template": "{{x}}"]),
        ])
        // Through text too, so the numbers' encoding is part of the trip.
        let text = definition.json().encodedString()
        #expect(try WorkflowDefinition(json: JSONValue.parse(text)) == definition)
    }

    @Test func definitionJSONLeavesOutUnsetOptionalKeys() {
        let definition = WorkflowDefinition(steps: [StepDefinition(id: "parse", type: .parse)])
        #expect(definition.json() == ["steps": [["id": "parse", "type": "parse", "config": [:]]]])
    }

    @Test func definitionJSONWritesEveryRetryKeyAndTheStepOptions() {
        let step = StepDefinition(
            id: "x", type: .parse, next: .end, retry: RetryPolicy(maxAttempts: 3), timeoutMs: 10, onError: .continue)
        #expect(
            step.json() == [
                "id": "x", "type": "parse", "config": [:], "next": "end", "timeout_ms": 10, "on_error": "continue",
                "retry": [
                    "max_attempts": 3, "initial_interval_ms": 1000, "backoff": "exponential", "max_interval_ms": 60_000,
                ],
            ])
    }

    @Test func definitionFromJSONReportsEveryProblemUnderDefinition() {
        let json: JSONValue = ["steps": [["id": "a", "type": "extract"], ["id": "a", "type": "parse", "next": "a"]]]
        #expect(
            throws: ValidationFailure(details: [
                FieldError(field: "definition.steps[0].config.schema_id", message: "is required"),
                FieldError(field: "definition.steps[1].id", message: "duplicates the id of definition.steps[0]"),
            ])
        ) {
            try WorkflowDefinition(json: json)
        }
    }

    @Test func definitionFromJSONAcceptsIntegrationStepsWithoutIntegrationId() throws {
        // A disabled workflow may store them; the enabled rule belongs to WorkflowValidator.
        let definition = try WorkflowDefinition(json: ["steps": [["id": "n", "type": "integration"]]])
        #expect(definition.steps == [StepDefinition(id: "n", type: .integration)])
    }

    @Test func workflowJSONHasTheSeedKeysWithRFC3339Times() {
        let json = sampleWorkflow(triggerConfig: ["path": "x"]).json()
        #expect(
            json == [
                "id": "0b8e6a84-5a53-4b4c-9d3f-2f1b0c1a7e11",
                "name": "Invoices",
                "description": .null,
                "definition": ["steps": [["id": "parse", "type": "parse", "config": [:]]]],
                "trigger_type": "webhook",
                "trigger_config": ["path": "x"],
                "enabled": true,
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:01:30Z",
            ])
    }

    @Test func workflowJSONMasksTheTriggerSecret() {
        #expect(sampleWorkflow().json()["trigger_config"] == ["secret": "********"])
    }

    @Test func workflowJSONShowsTheSecretWhenAskedNotToMask() {
        #expect(sampleWorkflow().json(maskSecrets: false)["trigger_config"] == ["secret": "s3cret"])
    }

    @Test func fieldErrorEncodesAsFieldAndMessage() throws {
        let data = try JSONEncoder().encode(FieldError(field: "name", message: "is required"))
        #expect(try JSONValue.parse(data) == ["field": "name", "message": "is required"])
    }

    @Test func validationFailureMessageNamesEveryProblem() {
        let failure = ValidationFailure(details: [
            FieldError(field: "name", message: "is required"),
            FieldError(field: "definition", message: "is required"),
        ])
        #expect(failure.message == "the request has 2 problems: name is required; definition is required")
    }
}

@Suite struct RFC3339Tests {
    @Test func writesUTCWithZAndWholeSeconds() {
        #expect(RFC3339.string(from: january2024) == "2024-01-01T00:00:00Z")
        #expect(RFC3339.string(from: january2024.addingTimeInterval(0.999)) == "2024-01-01T00:00:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        func withMilliseconds(_ date: Date) -> String { RFC3339.string(from: date, milliseconds: true) }
        #expect(withMilliseconds(january2024.addingTimeInterval(0.25)) == "2024-01-01T00:00:00.250Z")
        #expect(withMilliseconds(january2024.addingTimeInterval(59.0019)) == "2024-01-01T00:00:59.001Z")
        #expect(withMilliseconds(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00Z")
    }

    @Test func readsZuluTimes() {
        #expect(RFC3339.date(from: "2024-01-01T00:00:00Z") == january2024)
        #expect(RFC3339.date(from: "2024-01-01t00:00:00z") == january2024)
        #expect(RFC3339.date(from: "2024-01-01 00:00:00Z") == january2024)
    }

    @Test func readsOffsetsAsTheSameInstant() {
        #expect(RFC3339.date(from: "2024-01-01T02:30:00+02:30") == january2024)
        #expect(RFC3339.date(from: "2023-12-31T19:00:00-05:00") == january2024)
    }

    @Test func readsFractionalSeconds() throws {
        let date = try #require(RFC3339.date(from: "2024-01-15T10:00:30.250Z"))
        #expect(date.timeIntervalSince1970 == 1_705_312_830.25)
    }

    @Test func rejectsMalformedTimestamps() {
        for text in [
            "", "2024-01-01", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+0200", "2024-01-01T00:00:00Zjunk",
            "２０２４-01-01T00:00:00Z",
        ] {
            #expect(RFC3339.date(from: text) == nil, "\(text)")
        }
    }

    @Test func agreesWithFoundationOverFourCenturies() {
        let style = Date.ISO8601FormatStyle()
        var seconds: Int64 = -11_000_000_000
        while seconds < 13_000_000_000 {
            let date = Date(timeIntervalSince1970: Double(seconds))
            let text = RFC3339.string(from: date)
            #expect(text == style.format(date))
            #expect(RFC3339.date(from: text) == date)
            seconds += 86_400 * 97 + 3_607
        }
    }
}
