import DocflowCore
import Testing

/// `MustacheEscaping.html`, as the web console renders its pages: `{{x}}` escapes the five
/// characters HTML treats specially, `{{{x}}}` and `{{&x}}` do not, and text templates (the
/// default) are unchanged.
@Suite("Mustache HTML escaping")
struct MustacheHTMLEscapingTests {
    static let hostile = #"<script>alert("x") & 'y'</script>"#

    func render(_ template: String, _ context: JSONValue, escaping: MustacheEscaping) throws -> String {
        try MustacheProgram(template, limits: TemplateLimits()).render(
            context, limits: TemplateLimits(), escaping: escaping)
    }

    @Test func doubleMustacheEscapesEveryHTMLSpecialCharacter() throws {
        let html = try render("<p title=\"{{v}}\">{{v}}</p>", ["v": .string(Self.hostile)], escaping: .html)
        let escaped = "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        #expect(html == "<p title=\"\(escaped)\">\(escaped)</p>")
    }

    @Test func escapingReachesValuesInsideSectionsAndLists() throws {
        let html = try render(
            "{{#items}}[{{name}}]{{/items}}{{list}}",
            ["items": [["name": "<b>"]], "list": ["<i>"]], escaping: .html)
        #expect(html == #"[&lt;b&gt;][&quot;&lt;i&gt;&quot;]"#)
    }

    @Test func tripleMustacheAndAmpersandWriteAsGiven() throws {
        let html = try render("{{{v}}}{{&v}}", ["v": "<b>"], escaping: .html)
        #expect(html == "<b><b>")
    }

    @Test func textTemplatesEscapeNothing() throws {
        let text = try render("{{v}}", ["v": .string(Self.hostile)], escaping: .none)
        #expect(text == Self.hostile)
    }

    @Test func escapedOutputCountsAgainstTheRenderedCap() throws {
        let program = try MustacheProgram("{{v}}", limits: TemplateLimits())
        #expect(throws: MustacheError.renderedTooLarge(limit: 10)) {
            try program.render(
                ["v": "<<<"], limits: TemplateLimits(maxRenderedBytes: 10), escaping: .html)
        }
    }
}
