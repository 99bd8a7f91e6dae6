import Foundation
import Testing

@testable import DocflowCore

/// The seed's create example, as in /work/shared/examples/create-workflow.json.
private let seedCreateExample = """
    {
      "name": "Invoice Processing",
      "description": "Automatically extract data from invoices",
      "definition": {
        "steps": [
          {"id": "parse", "type": "parse", "config": {}},
          {"id": "extract", "type": "extract", "config": {"schema_id": "invoice-schema"}},
          {"id": "notify", "type": "integration", "config": {"integration_id": "slack-uuid", "template": "Invoice processed: {{invoice_number}}"}}
        ]
      },
      "trigger_type": "event",
      "trigger_config": {"event": "document.uploaded", "filters": {"file_type": "pdf", "knowledge_base_id": "kb-uuid"}},
      "enabled": true
    }
    """

private func json(_ text: String) -> JSONValue {
    do {
        return try JSONValue.parse(text)
    } catch {
        Issue.record("test JSON does not parse: \(error)")
        return .null
    }
}

/// A valid manual workflow with the given steps and top-level fields replaced (`nil` removes a field).
private func body(steps: [JSONValue]? = nil, _ overrides: [String: JSONValue?] = [:]) -> JSONValue {
    var fields: [String: JSONValue] = [
        "name": "Test",
        "trigger_type": "manual",
        "definition": ["steps": .array(steps ?? [["id": "parse", "type": "parse"]])],
    ]
    for (key, value) in overrides { fields[key] = value }
    return .object(fields)
}

private func create(_ body: JSONValue) -> [FieldError] {
    switch WorkflowValidator.validateCreate(body) {
    case .success: []
    case .failure(let failure): failure.details
    }
}

private func draft(_ body: JSONValue) -> WorkflowDraft? {
    try? WorkflowValidator.validateCreate(body).get()
}

private func error(_ field: String, _ message: String) -> FieldError {
    FieldError(field: field, message: message)
}

@Suite struct WorkflowValidationTests {
    // MARK: - Body and top-level fields

    @Test func seedCreateExampleIsValid() throws {
        let draft = try WorkflowValidator.validateCreate(json(seedCreateExample)).get()
        #expect(draft.name == "Invoice Processing")
        #expect(draft.description == "Automatically extract data from invoices")
        #expect(draft.triggerType == .event)
        #expect(draft.triggerConfig["event"] == "document.uploaded")
        #expect(draft.triggerConfig["filters"] == ["file_type": "pdf", "knowledge_base_id": "kb-uuid"])
        #expect(draft.enabled)
        #expect(draft.definition.steps.map(\.id) == ["parse", "extract", "notify"])
        #expect(draft.definition.steps.map(\.type) == [.parse, .extract, .integration])
        #expect(draft.definition.step("extract")?.config["schema_id"] == "invoice-schema")
    }

    @Test func bodyThatIsNotAnObjectIsRejected() {
        #expect(create(["name"]) == [error("body", "must be an object")])
    }

    @Test func nameIsRequired() {
        #expect(create(body(["name": nil])) == [error("name", "is required")])
    }

    @Test func nameMustBeAString() {
        #expect(create(body(["name": 12])) == [error("name", "must be a string")])
    }

    @Test func blankNameIsRejected() {
        #expect(create(body(["name": "  \n "])) == [error("name", "must not be empty")])
    }

    @Test func nameIsTrimmed() {
        #expect(draft(body(["name": "  Invoices \t"]))?.name == "Invoices")
    }

    @Test func nameMayHave200CharactersButNotMore() {
        #expect(create(body(["name": .string(String(repeating: "n", count: 200))])).isEmpty)
        #expect(
            create(body(["name": .string(String(repeating: "n", count: 201))]))
                == [error("name", "must be at most 200 characters")])
    }

    @Test func descriptionMayBeNullOrAbsent() {
        #expect(draft(body(["description": .null]))?.description == nil)
        #expect(draft(body())?.description == nil)
        #expect(draft(body(["description": "about"]))?.description == "about")
    }

    @Test func descriptionMustBeAStringOrNull() {
        #expect(create(body(["description": ["x"]])) == [error("description", "must be a string or null")])
    }

    @Test func enabledDefaultsToTrue() {
        #expect(draft(body())?.enabled == true)
    }

    @Test func enabledMustBeABoolean() {
        #expect(create(body(["enabled": "yes"])) == [error("enabled", "must be a boolean")])
    }

    @Test func triggerTypeIsRequired() {
        #expect(create(body(["trigger_type": nil])) == [error("trigger_type", "is required")])
    }

    @Test func unknownTriggerTypeListsTheAllowedValues() {
        let expected = [error("trigger_type", "must be one of manual, scheduled, webhook, event")]
        #expect(create(body(["trigger_type": "cron"])) == expected)
        #expect(create(body(["trigger_type": 1])) == expected)
    }

    // MARK: - trigger_config

    @Test func triggerConfigDefaultsToAnEmptyObject() {
        #expect(draft(body())?.triggerConfig == [:])
    }

    @Test func triggerConfigMustBeAnObject() {
        #expect(create(body(["trigger_config": "x"])) == [error("trigger_config", "must be an object")])
    }

    @Test func manualTriggerConfigHasNoFields() {
        #expect(create(body(["trigger_config": [:]])).isEmpty)
        #expect(
            create(body(["trigger_config": ["anything": [1, "two"], "secret": ""]])) == [
                error("trigger_config.anything", "is not a field of trigger_config for trigger_type manual"),
                error("trigger_config.secret", "is not a field of trigger_config for trigger_type manual"),
            ])
    }

    @Test func eventTriggerRequiresAnEvent() {
        #expect(
            create(body(["trigger_type": "event", "trigger_config": [:]]))
                == [error("trigger_config.event", "is required")])
    }

    @Test func eventTriggerRejectsAnEventThePlatformDoesNotSend() {
        let errors = create(body(["trigger_type": "event", "trigger_config": ["event": "document.deleted"]]))
        #expect(
            errors == [
                error(
                    "trigger_config.event",
                    "must be one of document.uploaded, document.processed, extraction.completed, chat.message")
            ])
    }

    @Test func eventTriggerAcceptsEveryPlatformEvent() {
        for event in PlatformEvent.allCases {
            let config: JSONValue = ["event": .string(event.rawValue)]
            #expect(create(body(["trigger_type": "event", "trigger_config": config])).isEmpty)
        }
    }

    @Test func eventFiltersMustBeAnObject() {
        let config: JSONValue = ["event": "chat.message", "filters": ["pdf"]]
        #expect(
            create(body(["trigger_type": "event", "trigger_config": config]))
                == [error("trigger_config.filters", "must be an object")])
    }

    @Test func eventFilterValuesMayBeScalarsOrArraysOfScalars() {
        let filters: JSONValue = ["file_type": ["pdf", "docx"], "size": 3, "public": true, "kb": "kb-1"]
        let config: JSONValue = ["event": "document.uploaded", "filters": filters]
        #expect(create(body(["trigger_type": "event", "trigger_config": config])).isEmpty)
    }

    @Test func eventFilterValueThatIsAnObjectIsReportedUnderItsKey() {
        let config: JSONValue = ["event": "document.uploaded", "filters": ["file_type": ["is": "pdf"]]]
        #expect(
            create(body(["trigger_type": "event", "trigger_config": config]))
                == [error("trigger_config.filters.file_type", "must be a string, number, boolean or an array of them")])
    }

    @Test func eventFilterArrayItemThatIsNotAScalarIsReportedWithItsIndex() {
        let config: JSONValue = ["event": "document.uploaded", "filters": ["file_type": ["pdf", .null]]]
        #expect(
            create(body(["trigger_type": "event", "trigger_config": config]))
                == [
                    error(
                        "trigger_config.filters.file_type[1]", "must be a string, number, boolean or an array of them")
                ])
    }

    @Test func scheduledTriggerCronExpressionAndTimezoneMustBeStrings() {
        let config: JSONValue = ["cron_expression": 5, "timezone": false]
        #expect(
            create(body(["trigger_type": "scheduled", "trigger_config": config]))
                == [
                    error("trigger_config.cron_expression", "must be a string"),
                    error("trigger_config.timezone", "must be a string"),
                ])
        let valid: JSONValue = ["cron_expression": "0 9 * * 1-5", "timezone": "America/New_York"]
        #expect(create(body(["trigger_type": "scheduled", "trigger_config": valid])).isEmpty)
    }

    @Test func webhookSecretMustBeANonEmptyString() {
        #expect(
            create(body(["trigger_type": "webhook", "trigger_config": ["secret": ""]]))
                == [error("trigger_config.secret", "must not be empty")])
        #expect(
            create(body(["trigger_type": "webhook", "trigger_config": ["secret": 42]]))
                == [error("trigger_config.secret", "must be a string")])
        #expect(create(body(["trigger_type": "webhook", "trigger_config": ["secret": "s3cret"]])).isEmpty)
        #expect(create(body(["trigger_type": "webhook"])).isEmpty)
    }

    // MARK: - definition and steps

    @Test func definitionIsRequired() {
        #expect(create(body(["definition": nil])) == [error("definition", "is required")])
    }

    @Test func definitionMustBeAnObject() {
        #expect(create(body(["definition": []])) == [error("definition", "must be an object")])
    }

    @Test func stepsAreRequired() {
        #expect(create(body(["definition": [:]])) == [error("definition.steps", "is required")])
    }

    @Test func stepsMustBeAnArray() {
        #expect(create(body(["definition": ["steps": [:]]])) == [error("definition.steps", "must be an array")])
    }

    @Test func stepsMustNotBeEmpty() {
        #expect(create(body(steps: [])) == [error("definition.steps", "must not be empty")])
    }

    @Test func definitionMayHave100StepsButNotMore() {
        func steps(_ count: Int) -> [JSONValue] {
            (0..<count).map { ["id": .string("s\($0)"), "type": "parse"] }
        }
        #expect(create(body(steps: steps(100))).isEmpty)
        #expect(create(body(steps: steps(101))) == [error("definition.steps", "must have at most 100 steps")])
    }

    @Test func stepMustBeAnObject() {
        #expect(
            create(body(steps: [["id": "a", "type": "parse"], "b"]))
                == [error("definition.steps[1]", "must be an object")])
    }

    @Test func stepIdIsRequired() {
        #expect(create(body(steps: [["type": "parse"]])) == [error("definition.steps[0].id", "is required")])
    }

    @Test func stepIdMustBe1To64LettersDigitsUnderscoresOrHyphens() {
        let message = "must be 1 to 64 characters from A-Z, a-z, 0-9, _ and -"
        for bad: JSONValue in ["", "has space", "dot.ted", "ünï", .string(String(repeating: "x", count: 65))] {
            #expect(create(body(steps: [["id": bad, "type": "parse"]])) == [error("definition.steps[0].id", message)])
        }
        let good: JSONValue = .string("Step_1-" + String(repeating: "x", count: 57))
        #expect(create(body(steps: [["id": good, "type": "parse"]])).isEmpty)
    }

    @Test func stepIdMustBeAString() {
        #expect(
            create(body(steps: [["id": 7, "type": "parse"]])) == [error("definition.steps[0].id", "must be a string")])
    }

    @Test func stepIdEndIsReserved() {
        #expect(
            create(body(steps: [["id": "end", "type": "parse"]]))
                == [error("definition.steps[0].id", "must not be \"end\": it is reserved for ending the workflow")])
    }

    @Test func duplicateStepIdIsReportedOnTheLaterStep() {
        let steps: [JSONValue] = [
            ["id": "a", "type": "parse"], ["id": "b", "type": "parse"], ["id": "a", "type": "parse"],
        ]
        #expect(
            create(body(steps: steps)) == [error("definition.steps[2].id", "duplicates the id of definition.steps[0]")])
    }

    @Test func stepTypeIsRequired() {
        #expect(create(body(steps: [["id": "a"]])) == [error("definition.steps[0].type", "is required")])
    }

    @Test func unknownStepTypeListsTheAllowedValues() {
        #expect(
            create(body(steps: [["id": "a", "type": "email"]]))
                == [
                    error(
                        "definition.steps[0].type", "must be one of parse, extract, transform, condition, integration")
                ])
    }

    @Test func missingConfigMeansAnEmptyConfig() {
        #expect(draft(body(steps: [["id": "a", "type": "parse"]]))?.definition.steps[0].config == [:])
    }

    @Test func stepConfigMustBeAnObject() {
        #expect(
            create(body(steps: [["id": "a", "type": "parse", "config": "x"]]))
                == [error("definition.steps[0].config", "must be an object")])
    }

    @Test func configThatIsNotAnObjectIsReportedWithoutItsMissingKeys() {
        #expect(
            create(body(steps: [["id": "c", "type": "condition", "config": ["expression"]]]))
                == [error("definition.steps[0].config", "must be an object")])
    }

    @Test func extractStepRequiresSchemaId() {
        let steps: [JSONValue] = [
            ["id": "parse", "type": "parse"], ["id": "extract", "type": "extract", "config": [:]],
        ]
        #expect(create(body(steps: steps)) == [error("definition.steps[1].config.schema_id", "is required")])
    }

    @Test func extractSchemaIdMustBeANonEmptyString() {
        #expect(
            create(body(steps: [["id": "x", "type": "extract", "config": ["schema_id": ""]]]))
                == [error("definition.steps[0].config.schema_id", "must not be empty")])
        #expect(
            create(body(steps: [["id": "x", "type": "extract", "config": ["schema_id": 1]]]))
                == [error("definition.steps[0].config.schema_id", "must be a string")])
    }

    @Test func transformStepRequiresANonEmptyExpression() {
        #expect(
            create(body(steps: [["id": "t", "type": "transform"]]))
                == [error("definition.steps[0].config.expression", "is required")])
        #expect(
            create(body(steps: [["id": "t", "type": "transform", "config": ["expression": ""]]]))
                == [error("definition.steps[0].config.expression", "must not be empty")])
    }

    @Test func conditionStepRequiresExpressionThenAndElse() {
        #expect(
            create(body(steps: [["id": "c", "type": "condition", "config": [:]]]))
                == [
                    error("definition.steps[0].config.expression", "is required"),
                    error("definition.steps[0].config.then", "is required"),
                    error("definition.steps[0].config.else", "is required"),
                ])
    }

    @Test func conditionExpressionThenAndElseMustBeStrings() {
        let config: JSONValue = ["expression": true, "then": 1, "else": ["end"]]
        #expect(
            create(body(steps: [["id": "c", "type": "condition", "config": config]]))
                == [
                    error("definition.steps[0].config.expression", "must be a string"),
                    error("definition.steps[0].config.then", "must be a string"),
                    error("definition.steps[0].config.else", "must be a string"),
                ])
    }

    @Test func conditionBranchesMustNameAStepOrEnd() {
        let steps: [JSONValue] = [
            ["id": "c", "type": "condition", "config": ["expression": ".ok", "then": "missing", "else": "end"]],
            ["id": "p", "type": "parse"],
        ]
        #expect(
            create(body(steps: steps)) == [error("definition.steps[0].config.then", "names no step of this workflow")])
    }

    @Test func conditionBranchesMayNameLaterStepsAndEnd() {
        let steps: [JSONValue] = [
            ["id": "c", "type": "condition", "config": ["expression": ".ok", "then": "p", "else": "end"]],
            ["id": "p", "type": "parse"],
        ]
        #expect(create(body(steps: steps)).isEmpty)
    }

    @Test func conditionStepRejectsNext() {
        let steps: [JSONValue] = [
            [
                "id": "c", "type": "condition", "next": "end",
                "config": ["expression": ".", "then": "end", "else": "end"],
            ]
        ]
        #expect(
            create(body(steps: steps))
                == [error("definition.steps[0].next", "is not allowed on a condition step; use then/else")])
    }

    @Test func integrationIdIsRequiredWhenTheWorkflowIsEnabled() {
        let steps: [JSONValue] = [["id": "p", "type": "parse"], ["id": "n", "type": "integration", "config": [:]]]
        #expect(
            create(body(steps: steps))
                == [error("definition.steps[1].config.integration_id", "is required when the workflow is enabled")])
    }

    @Test func disabledWorkflowMayHaveIntegrationStepsWithoutIntegrationId() {
        let steps: [JSONValue] = [["id": "n", "type": "integration", "config": ["template": "hi"]]]
        #expect(create(body(steps: steps, ["enabled": false])).isEmpty)
    }

    @Test func integrationIdMustBeANonEmptyStringEvenWhenDisabled() {
        let steps: [JSONValue] = [["id": "n", "type": "integration", "config": ["integration_id": ""]]]
        #expect(
            create(body(steps: steps, ["enabled": false]))
                == [error("definition.steps[0].config.integration_id", "must not be empty")])
    }

    @Test func integrationTemplateMustBeAString() {
        let steps: [JSONValue] = [
            ["id": "n", "type": "integration", "config": ["integration_id": "i", "template": 3]]
        ]
        #expect(create(body(steps: steps)) == [error("definition.steps[0].config.template", "must be a string")])
    }

    @Test func nextMustNameAStepOrEnd() {
        let steps: [JSONValue] = [["id": "a", "type": "parse", "next": "nowhere"], ["id": "b", "type": "parse"]]
        #expect(create(body(steps: steps)) == [error("definition.steps[0].next", "names no step of this workflow")])
    }

    @Test func nextMayNameALaterStepOrEnd() throws {
        let steps: [JSONValue] = [
            ["id": "a", "type": "parse", "next": "c"], ["id": "b", "type": "parse", "next": "end"],
            ["id": "c", "type": "parse"],
        ]
        let definition = try #require(draft(body(steps: steps))).definition
        #expect(definition.steps.map(\.next) == [.step("c"), .end, nil])
    }

    @Test func nextMustBeAString() {
        #expect(
            create(body(steps: [["id": "a", "type": "parse", "next": 1]]))
                == [error("definition.steps[0].next", "must be a string")])
    }

    @Test func retryMustBeAnObject() {
        #expect(
            create(body(steps: [["id": "a", "type": "parse", "retry": 3]]))
                == [error("definition.steps[0].retry", "must be an object")])
    }

    @Test func retryFieldsAreRangeChecked() {
        let retry: JSONValue = [
            "max_attempts": 0, "initial_interval_ms": -1, "backoff": "random", "max_interval_ms": -5,
        ]
        #expect(
            create(body(steps: [["id": "a", "type": "parse", "retry": retry]]))
                == [
                    error("definition.steps[0].retry.max_attempts", "must be between 1 and 100"),
                    error("definition.steps[0].retry.initial_interval_ms", "must be between 0 and 3600000"),
                    error("definition.steps[0].retry.backoff", "must be one of fixed, linear, exponential"),
                    error("definition.steps[0].retry.max_interval_ms", "must be at least 0"),
                ])
    }

    @Test func retryMaxAttemptsAbove100IsRejected() {
        #expect(
            create(body(steps: [["id": "a", "type": "parse", "retry": ["max_attempts": 101]]]))
                == [error("definition.steps[0].retry.max_attempts", "must be between 1 and 100")])
    }

    @Test func retryMaxIntervalBelowInitialIntervalIsRejected() {
        let retry: JSONValue = ["initial_interval_ms": 5000, "max_interval_ms": 4000]
        #expect(
            create(body(steps: [["id": "a", "type": "parse", "retry": retry]]))
                == [error("definition.steps[0].retry.max_interval_ms", "must be at least initial_interval_ms (5000)")])
    }

    @Test func retryOmittedFieldsTakeTheRetryPolicyDefaults() throws {
        let steps: [JSONValue] = [["id": "a", "type": "parse", "retry": ["max_attempts": 3]]]
        let step = try #require(draft(body(steps: steps))).definition.steps[0]
        #expect(step.retry == RetryPolicy(maxAttempts: 3))
    }

    @Test func retryInitialIntervalAboveTheDefaultCapRaisesTheCap() throws {
        let steps: [JSONValue] = [["id": "a", "type": "parse", "retry": ["initial_interval_ms": 120_000]]]
        let retry = try #require(draft(body(steps: steps))?.definition.steps[0].retry)
        #expect(retry.maxIntervalMs == 120_000)
    }

    @Test func timeoutMsMustBeBetween1And3600000() {
        for bad: JSONValue in [0, 3_600_001] {
            #expect(
                create(body(steps: [["id": "a", "type": "parse", "timeout_ms": bad]]))
                    == [error("definition.steps[0].timeout_ms", "must be between 1 and 3600000")])
        }
        #expect(
            draft(body(steps: [["id": "a", "type": "parse", "timeout_ms": 3_600_000]]))?.definition.steps[0].timeoutMs
                == 3_600_000)
    }

    @Test func onErrorMustBeFailOrContinue() {
        #expect(
            create(body(steps: [["id": "a", "type": "parse", "on_error": "ignore"]]))
                == [error("definition.steps[0].on_error", "must be one of fail, continue")])
        #expect(
            draft(body(steps: [["id": "a", "type": "parse", "on_error": "continue"]]))?.definition.steps[0].onError
                == .continue)
    }

    @Test func integralNumbersAreAcceptedForIntegerFields() {
        let steps: [JSONValue] = [["id": "a", "type": "parse", "timeout_ms": 1500.0, "retry": ["max_attempts": 2.0]]]
        let step = draft(body(steps: steps))?.definition.steps[0]
        #expect(step?.timeoutMs == 1500)
        #expect(step?.retry?.maxAttempts == 2)
    }

    @Test func nonIntegralNumbersAreRejectedForIntegerFields() {
        let steps: [JSONValue] = [["id": "a", "type": "parse", "timeout_ms": 1.5, "retry": ["max_attempts": "2"]]]
        #expect(
            create(body(steps: steps))
                == [
                    error("definition.steps[0].retry.max_attempts", "must be an integer"),
                    error("definition.steps[0].timeout_ms", "must be an integer"),
                ])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let body: JSONValue = [
            "name": "",
            "trigger_type": "event",
            "trigger_config": ["filters": ["file_type": [:]]],
            "definition": [
                "steps": [
                    ["id": "parse", "type": "parse"],
                    ["id": "extract", "type": "extract"],
                    ["id": "parse", "type": "mail"],
                ]
            ],
        ]
        let errors = create(body)
        #expect(
            Set(errors.map(\.field)) == [
                "name", "trigger_config.event", "trigger_config.filters.file_type",
                "definition.steps[1].config.schema_id", "definition.steps[2].id", "definition.steps[2].type",
            ])
        #expect(errors.count == 6)
    }

    // MARK: - Cycles

    @Test func selfLoopThroughNextIsACycle() {
        let steps: [JSONValue] = [["id": "a", "type": "parse"], ["id": "b", "type": "parse", "next": "b"]]
        #expect(create(body(steps: steps)) == [error("definition.steps[1].next", "makes a cycle: b -> b")])
    }

    @Test func backEdgeThroughNextIsReportedOnTheEdgeThatClosesTheCycle() {
        let steps: [JSONValue] = [
            ["id": "a", "type": "parse"], ["id": "b", "type": "parse"], ["id": "c", "type": "parse", "next": "a"],
        ]
        #expect(create(body(steps: steps)) == [error("definition.steps[2].next", "makes a cycle: a -> b -> c -> a")])
    }

    @Test func conditionBranchBackToAnEarlierStepIsACycle() {
        let steps: [JSONValue] = [
            ["id": "fetch", "type": "parse"],
            ["id": "check", "type": "condition", "config": ["expression": ".done", "then": "end", "else": "fetch"]],
        ]
        #expect(
            create(body(steps: steps))
                == [error("definition.steps[1].config.else", "makes a cycle: fetch -> check -> fetch")])
    }

    @Test func loopBetweenAConditionBranchAndNextIsACycle() {
        let steps: [JSONValue] = [
            ["id": "check", "type": "condition", "config": ["expression": ".", "then": "work", "else": "end"]],
            ["id": "work", "type": "transform", "config": ["expression": "."], "next": "check"],
        ]
        #expect(
            create(body(steps: steps)) == [error("definition.steps[1].next", "makes a cycle: check -> work -> check")])
    }

    @Test func unreachableCycleIsStillRejected() {
        let steps: [JSONValue] = [
            ["id": "a", "type": "parse", "next": "end"],
            ["id": "b", "type": "parse"],
            ["id": "c", "type": "parse", "next": "b"],
        ]
        #expect(create(body(steps: steps)) == [error("definition.steps[2].next", "makes a cycle: b -> c -> b")])
    }

    @Test func cycleClosedByFallingThroughIsReportedOnItsExplicitEdge() {
        // a jumps to c, c back to b, and b falls through to c again.
        let steps: [JSONValue] = [
            ["id": "a", "type": "parse", "next": "c"],
            ["id": "b", "type": "parse"],
            ["id": "c", "type": "parse", "next": "b"],
        ]
        #expect(create(body(steps: steps)) == [error("definition.steps[2].next", "makes a cycle: b -> c -> b")])
    }

    @Test func forwardJumpsAndBranchesAreNotCycles() {
        let steps: [JSONValue] = [
            ["id": "a", "type": "parse", "next": "c"],
            ["id": "b", "type": "parse"],
            ["id": "c", "type": "condition", "config": ["expression": ".", "then": "d", "else": "e"]],
            ["id": "d", "type": "parse", "next": "end"],
            ["id": "e", "type": "parse"],
        ]
        #expect(create(body(steps: steps)).isEmpty)
    }

    @Test func cyclesAreNotReportedWhileTargetsAreInvalid() {
        let steps: [JSONValue] = [
            ["id": "a", "type": "parse", "next": "a"],
            ["id": "b", "type": "parse", "next": "ghost"],
        ]
        #expect(create(body(steps: steps)) == [error("definition.steps[1].next", "names no step of this workflow")])
    }

    // MARK: - Update

    private static let existing = Workflow(
        id: "0b8e6a84-5a53-4b4c-9d3f-2f1b0c1a7e11", name: "Invoices", description: "Extract invoices",
        definition: WorkflowDefinition(steps: [
            StepDefinition(id: "parse", type: .parse),
            StepDefinition(id: "extract", type: .extract, config: ["schema_id": "invoice-schema"]),
        ]),
        triggerType: .webhook, triggerConfig: ["secret": "s3cret"], enabled: true,
        createdAt: Date(timeIntervalSince1970: 1_704_067_200), updatedAt: Date(timeIntervalSince1970: 1_704_067_200))

    private func update(_ body: JSONValue) -> Result<WorkflowDraft, ValidationFailure> {
        WorkflowValidator.validateUpdate(body, existing: Self.existing)
    }

    @Test func emptyUpdateKeepsEveryField() throws {
        #expect(try update([:]).get() == Self.existing.draft)
    }

    @Test func updateReplacesTheFieldsItGivesAndKeepsTheOthers() throws {
        let draft = try update(["name": " Renamed ", "enabled": false]).get()
        var expected = Self.existing.draft
        expected.name = "Renamed"
        expected.enabled = false
        #expect(draft == expected)
    }

    @Test func updateReplacesTheDefinitionAsAWhole() throws {
        let draft = try update(["definition": ["steps": [["id": "only", "type": "parse"]]]]).get()
        #expect(draft.definition == WorkflowDefinition(steps: [StepDefinition(id: "only", type: .parse)]))
    }

    @Test func updateReplacesTheTriggerConfigAsAWhole() throws {
        let draft = try update(["trigger_type": "scheduled", "trigger_config": ["timezone": "UTC"]]).get()
        #expect(draft.triggerType == .scheduled)
        #expect(draft.triggerConfig == ["timezone": "UTC"])
    }

    @Test func updateWithNullDescriptionClearsIt() throws {
        #expect(try update(["description": .null]).get().description == nil)
    }

    @Test func updateWithNullForAnotherFieldKeepsIt() throws {
        #expect(try update(["name": .null, "enabled": .null]).get() == Self.existing.draft)
    }

    @Test func updateValidatesTheMergedWorkflow() {
        // The stored trigger_config (a webhook's) does not suit an event trigger: switching the type
        // alone is not enough.
        guard case .failure(let failure) = update(["trigger_type": "event"]) else {
            Issue.record("switching to an event trigger alone was accepted")
            return
        }
        #expect(failure.details.contains(FieldError(field: "trigger_config.event", message: "is required")))
    }

    @Test func updateEnablingAWorkflowChecksItsIntegrationSteps() {
        var disabled = Self.existing
        disabled.enabled = false
        disabled.definition.steps.append(StepDefinition(id: "notify", type: .integration))
        #expect((try? WorkflowValidator.validateUpdate(["name": "x"], existing: disabled).get()) != nil)
        #expect(
            WorkflowValidator.validateUpdate(["enabled": true], existing: disabled)
                == .failure(
                    ValidationFailure(
                        field: "definition.steps[2].config.integration_id",
                        message: "is required when the workflow is enabled")))
    }

    @Test func updateSendingTheMaskedSecretBackKeepsTheStoredSecret() throws {
        let served = Self.existing.json()
        let draft = try update(["trigger_config": try #require(served["trigger_config"])]).get()
        #expect(draft.triggerConfig["secret"] == "s3cret")
    }

    @Test func updateReportsInvalidFieldsWithTheirPaths() {
        #expect(
            update(["name": "", "definition": ["steps": [["id": "x", "type": "extract"]]]])
                == .failure(
                    ValidationFailure(details: [
                        error("name", "must not be empty"),
                        error("definition.steps[0].config.schema_id", "is required"),
                    ])))
    }

    @Test func updateBodyMustBeAnObject() {
        #expect(update("x") == .failure(ValidationFailure(field: "body", message: "must be an object")))
    }
}
