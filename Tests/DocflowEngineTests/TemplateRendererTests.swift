import DocflowCore
import Testing

@testable import DocflowEngine

/// What an integration step renders: templates stored before the limits existed are checked
/// again at every rendering and fail with a clear error instead of taking the process down.
@Suite("Template renderer")
struct TemplateRendererTests {
    @Test func threeThousandNestedSectionsFailWithAClearErrorInsteadOfACrash() {
        let template = String(repeating: "{{#a}}", count: 3000) + "x" + String(repeating: "{{/a}}", count: 3000)
        #expect(throws: TemplateRenderer.Failure.self) {
            try TemplateRenderer.render(template, context: ["a": true])
        }
        do {
            _ = try TemplateRenderer.render(template, context: ["a": true])
        } catch {
            #expect(error.description == "sections nest 3000 deep, more than 32")
        }
    }

    @Test func theLimitsGivenApplyAtRenderTime() {
        let limits = TemplateLimits(maxTemplateBytes: 64, maxRenderedBytes: 10)
        #expect(throws: TemplateRenderer.Failure.self) {
            try TemplateRenderer.render(String(repeating: "x", count: 65), context: [:], limits: limits)
        }
        do {
            _ = try TemplateRenderer.render(
                "{{#a}}{{.}}{{/a}}", context: ["a": ["12345", "67890", "!"]], limits: limits)
            Issue.record("rendered past the cap")
        } catch {
            #expect(error.description == "the rendered template is larger than 10 bytes")
        }
        #expect(
            (try? TemplateRenderer.render("{{#a}}{{.}}{{/a}}", context: ["a": ["12345", "67890"]], limits: limits))
                == "1234567890")
    }
}
