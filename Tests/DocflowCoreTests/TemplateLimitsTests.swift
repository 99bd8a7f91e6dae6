import DocflowCore
import Testing

/// Integration templates are bounded: size and section depth when saved and when rendered,
/// rendered size and time while rendering, and work linear in the template.
@Suite("Template limits")
struct TemplateLimitsTests {
    static func nested(_ depth: Int, name: String = "a", inner: String = "x") -> String {
        String(repeating: "{{#\(name)}}", count: depth) + inner + String(repeating: "{{/\(name)}}", count: depth)
    }

    static let wide = TemplateLimits(maxTemplateBytes: 10_000_000, maxRenderedBytes: 100_000_000)

    @Test func threeThousandNestedSectionsAreRefusedByDepthWithoutRecursion() throws {
        let limits = TemplateLimits()
        #expect(MustacheProgram.problem(in: Self.nested(3000), limits: limits) == .tooDeep(depth: 3000, limit: 32))
        #expect(
            MustacheProgram.problem(in: Self.nested(100_000), limits: Self.wide)
                == .tooDeep(depth: 100_000, limit: 32))
        #expect(MustacheProgram.problem(in: Self.nested(32), limits: limits) == nil)
        #expect(try MustacheProgram(Self.nested(32), limits: limits).render(["a": true], limits: limits) == "x")
    }

    @Test func aTemplateOverTheSizeLimitIsRefusedBeforeItIsRead() {
        let limits = TemplateLimits(maxTemplateBytes: 100)
        #expect(
            MustacheProgram.problem(in: String(repeating: "é", count: 51), limits: limits)
                == .templateTooLarge(bytes: 102, limit: 100))
        #expect(MustacheProgram.problem(in: String(repeating: "é", count: 50), limits: limits) == nil)
        #expect(TemplateLimits().maxTemplateBytes == 65_536)
        #expect(TemplateLimits().maxRenderedBytes == 1_048_576)
    }

    @Test func sectionsThatMultiplyTheOutputStopAtTheCapHavingDoneLittleMoreThanTheCap() throws {
        // 1,000^5 copies of "x" were it rendered: a petabyte.
        let limits = TemplateLimits()
        let program = try MustacheProgram(Self.nested(5), limits: limits)
        let items = JSONValue.array((0..<1000).map { .number(Double($0)) })
        var visits = 0
        #expect(throws: MustacheError.renderedTooLarge(limit: 1_048_576)) {
            try program.render(["a": items], limits: limits, deadline: nil, visits: &visits)
        }
        // Each "x" costs a handful of nodes: the renderer stopped right at the cap.
        #expect(visits < 3 * limits.maxRenderedBytes)
        #expect(
            MustacheError.renderedTooLarge(limit: 1_048_576).description
                == "the rendered template is larger than 1048576 bytes")
    }

    @Test func renderingThatOutputsNothingForeverStopsAtTheDeadline() throws {
        let limits = TemplateLimits()
        // 1,000^4 passes over sections that print nothing: no output cap helps here.
        let program = try MustacheProgram(Self.nested(4, inner: ""), limits: limits)
        let items = JSONValue.array((0..<1000).map { .number(Double($0)) })
        var visits = 0
        #expect(throws: MustacheError.deadlineExceeded) {
            try program.render(["a": items], limits: limits, deadline: .now, visits: &visits)
        }
        #expect(visits <= 1024)
    }

    @Test(arguments: [1000, 10_000, 100_000])
    func parsingAndRenderingWorkGrowLinearlyWithTheTemplate(tags: Int) throws {
        let context: JSONValue = ["a": "x", "b": ["c": 1]]
        for template in [
            String(repeating: "{{a}} ", count: tags), String(repeating: "{{#b}}{{c}}{{/b}}\n", count: tags / 3),
            String(repeating: "{{=<% %>=}}<%a%><%={{ }}=%>", count: tags / 3),
        ] {
            let program = try MustacheProgram(template, limits: Self.wide)
            var visits = 0
            _ = try program.render(context, limits: Self.wide, deadline: nil, visits: &visits)
            let bytes = template.utf8.count
            // Each byte is looked at a small, fixed number of times, whatever the size.
            #expect(program.scannedBytes <= 3 * bytes, "\(program.scannedBytes) for \(bytes) bytes")
            // Each tag becomes at most two nodes, each visited once here.
            #expect(visits <= 2 * tags, "\(visits) visits for \(tags) tags")
        }
    }

    // MARK: - When saved

    static func workflow(template: JSONValue) -> JSONValue {
        [
            "name": "t", "trigger_type": "manual", "enabled": false,
            "definition": [
                "steps": [
                    ["id": "p", "type": "parse"],
                    ["id": "n", "type": "integration", "config": ["template": template]],
                ]
            ],
        ]
    }

    static func details(_ result: Result<some Any, ValidationFailure>) -> [FieldError] {
        guard case .failure(let failure) = result else { return [] }
        return failure.details
    }

    @Test func aWorkflowsIntegrationTemplateIsCheckedAgainstTheLimitsGiven() throws {
        let deep = Self.details(WorkflowValidator.validateCreate(Self.workflow(template: .string(Self.nested(3000)))))
        #expect(
            deep == [
                FieldError(
                    field: "definition.steps[1].config.template", message: "sections nest 3000 deep, more than 32")
            ])
        let small = TemplateLimits(maxTemplateBytes: 10)
        let large = Self.details(
            WorkflowValidator.validateCreate(Self.workflow(template: "Hello {{name}}!"), templateLimits: small))
        #expect(large.map(\.message) == ["the template is 15 bytes, more than 10"])
        #expect((try? WorkflowValidator.validateCreate(Self.workflow(template: "Hello {{name}}!")).get()) != nil)
    }

    @Test func aStoredDefinitionIsReadWhateverItsTemplates() throws {
        // Stored before the limits: it still loads, and rendering refuses it with a clear error.
        let definition = Self.workflow(template: .string(Self.nested(3000)))["definition"]!
        #expect(throws: Never.self) { try WorkflowDefinition(json: definition) }
    }

    @Test func anIntegrationsTemplatesAreCheckedForEveryType() {
        let deep = JSONValue.string(Self.nested(40))
        let bodies: [JSONValue] = [
            [
                "name": "s", "integration_type": "slack",
                "config": ["webhook_url": "https://h.example/x", "template": deep],
            ],
            ["name": "w", "integration_type": "webhook", "config": ["url": "https://h.example/x", "template": deep]],
            [
                "name": "e", "integration_type": "email",
                "config": ["to": "a@b.example", "subject": deep, "template": "{{#a}}"],
            ],
        ]
        let found = bodies.map { Self.details(IntegrationValidator.validate($0)) }
        let tooDeep = "sections nest 40 deep, more than 32"
        #expect(found[0] == [FieldError(field: "config.template", message: tooDeep)])
        #expect(found[1] == [FieldError(field: "config.template", message: tooDeep)])
        #expect(
            found[2] == [
                FieldError(field: "config.subject", message: tooDeep),
                FieldError(
                    field: "config.template",
                    message: "not a valid Mustache template: the section \"a\" is never closed (line 1, column 1)"),
            ])
    }
}
