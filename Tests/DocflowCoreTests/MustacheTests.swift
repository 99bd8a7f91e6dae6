import DocflowCore
import Testing

/// docflow's Mustache: what the templates users already have render to. The expected texts are
/// what swift-mustache (`CONTENT_TYPE: TEXT`) rendered for the same template and context, except
/// where a test says otherwise.
@Suite("Mustache rendering")
struct MustacheTests {
    static let context: JSONValue = [
        "invoice_number": "INV-42", "total": 99.5, "count": 3, "big": 1e20, "neg": -2, "zero": 0,
        "vendor": "Acme & Co <b>", "currency": "EUR", "summary": "line1\nline2", "empty": "",
        "flag": true, "off": false, "nothing": .null, "list": ["a", "b", .null, "c"], "nums": [1, 2.5, true],
        "objs": [["name": "x", "v": 1], ["name": "y"]], "obj": ["name": "inner", "deep": ["k": "v"]],
        "emptylist": [], "nulllist": [.null], "name": "outer", "emptyobj": [:],
        "workflow": ["name": "wf"], "execution": ["id": "ex-1"], "trigger": ["document_id": "d1"],
        "team": "ops", "email": "a@b.c", "years_experience": 7,
    ]

    static func render(_ template: String, _ context: JSONValue = context) throws -> String {
        try MustacheProgram(template, limits: TemplateLimits()).render(context, limits: TemplateLimits())
    }

    @Test(arguments: [
        (
            "Invoice {{invoice_number}} from {{vendor}} needs review: {{total}} {{currency}}",
            "Invoice INV-42 from Acme & Co <b> needs review: 99.5 EUR"
        ),
        ("Invoice processed: {{invoice_number}} ({{total}} {{currency}})", "Invoice processed: INV-42 (99.5 EUR)"),
        ("{{summary}}", "line1\nline2"),
        ("Shortlisted {{name}} ({{email}}): {{years_experience}} years", "Shortlisted outer (a@b.c): 7 years"),
        ("New document for {{team}}: {{trigger.document_id}}", "New document for ops: d1"),
        ("docflow: workflow {{workflow.name}}, execution {{execution.id}}", "docflow: workflow wf, execution ex-1"),
    ])
    func theCatalogsTemplatesAndTheDefaultTextsRenderAsBefore(template: String, expected: String) throws {
        #expect(try Self.render(template) == expected)
    }

    @Test func variablesPrintTextUnescapedAndNumbersWithoutANeedlessFraction() throws {
        #expect(try Self.render("{{{vendor}}} {{&vendor}} {{ vendor }}") == "Acme & Co <b> Acme & Co <b> Acme & Co <b>")
        #expect(try Self.render("{{count}} {{big}} {{neg}} {{zero}} {{total}}") == "3 1e+20 -2 0 99.5")
        #expect(try Self.render("{{flag}} {{off}}") == "true false")
        #expect(try Self.render("{{obj.deep.k}} {{obj.missing}} {{missing.x}} {{nothing}}") == "v   ")
    }

    @Test func listsAndObjectsPrintAsSwiftLiteralsWithoutNulls() throws {
        #expect(try Self.render("{{list}}") == #"["a", "b", "c"]"#)
        #expect(try Self.render("{{nums}}") == "[1, 2.5, true]")
        #expect(try Self.render("{{obj.deep}}") == #"["k": "v"]"#)
        #expect(try Self.render("{{emptylist}} {{emptyobj}}") == "[] [:]")
        // swift-mustache printed keys in the dictionary's order; docflow sorts them.
        #expect(try Self.render("{{objs}}") == #"[["name": "x", "v": 1], ["name": "y"]]"#)
    }

    @Test func sectionsWalkListsSkippingNullsAndEnterObjects() throws {
        #expect(try Self.render("{{#list}}<{{.}}>{{/list}}") == "<a><b><c>")
        #expect(try Self.render("{{#objs}}{{name}}:{{v}};{{/objs}}") == "x:1;y:;")
        #expect(try Self.render("{{#obj}}{{name}} {{deep.k}}{{/obj}}") == "inner v")
        #expect(try Self.render("{{#objs}}{{name}}-{{invoice_number}}|{{/objs}}") == "x-INV-42|y-INV-42|")
        #expect(try Self.render("{{#obj}}{{.name}}|{{name}}|{{.invoice_number}}{{/obj}}") == "inner|inner|")
        #expect(try Self.render("{{#objs}}{{#v}}has{{.}}{{/v}}{{/objs}}") == "has1")
        #expect(try Self.render("{{#nums}}[{{.}}]{{/nums}}") == "[1][2.5][true]")
    }

    @Test func onlyAbsentNullFalseAndEmptyListsAreFalsy() throws {
        #expect(try Self.render("{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}") == "yes")
        #expect(try Self.render("{{#off}}yes{{/off}}{{^off}}no{{/off}}") == "no")
        #expect(try Self.render("{{#nothing}}A{{/nothing}}{{^nothing}}B{{/nothing}}") == "B")
        #expect(try Self.render("{{#emptylist}}A{{/emptylist}}{{^emptylist}}B{{.}}{{/emptylist}}") == "B[]")
        #expect(try Self.render("{{#nulllist}}A{{/nulllist}}{{^nulllist}}B{{/nulllist}}") == "B")
        #expect(try Self.render("{{#empty}}E{{.}}E{{/empty}}") == "EE")
        #expect(try Self.render("{{#zero}}Z{{.}}{{/zero}}") == "Z0")
        #expect(try Self.render("{{#emptyobj}}O{{/emptyobj}}{{^emptyobj}}P{{/emptyobj}}") == "O")
    }

    @Test func commentsDelimitersAndStandaloneLinesLeaveNoTrace() throws {
        #expect(try Self.render("{{! a comment }}x{{!\nmulti\n}}y") == "xy")
        #expect(try Self.render("{{=<% %>=}}<% invoice_number %> {{x}} <%={{ }}=%>{{total}}") == "INV-42 {{x}} 99.5")
        #expect(try Self.render("a\n{{#list}}\n- {{.}}\n{{/list}}\nb\n") == "a\n- a\n- b\n- c\nb\n")
        #expect(try Self.render("a\n  {{#flag}}  \nin\n  {{/flag}}\nb") == "a\nin\nb")
        #expect(try Self.render("x {{#flag}}\ny\n{{/flag}} z") == "x \ny\n z")
        #expect(try Self.render("line\r\n{{#flag}}\r\nin\r\n{{/flag}}\r\nend") == "line\r\nin\r\nend")
        // On the first line too, as the Mustache spec says; swift-mustache kept that line's break
        // and indentation, because docflow put a pragma tag in front of every template.
        #expect(try Self.render("  {{! standalone }}\nrest") == "rest")
        #expect(try Self.render("\t{{#flag}}\n\tz\n\t{{/flag}}\n") == "\tz\n")
    }

    @Test(arguments: [
        ("{{>partial}}", "partials are not supported (line 1, column 1)"),
        ("a {{<parent}}{{/parent}}", "parent templates and blocks are not supported (line 1, column 3)"),
        ("{{$block}}{{/block}}", "parent templates and blocks are not supported (line 1, column 1)"),
        ("{{% CONTENT_TYPE: HTML}}", "pragmas are not supported (line 1, column 1)"),
        ("x\ny {{#a}}", "the section \"a\" is never closed (line 2, column 3)"),
        ("{{/a}}", "{{/a}} closes a section that is not open (line 1, column 1)"),
        ("{{#a}}{{/b}}", "{{/b}} closes a section but the open one is \"a\" (line 1, column 7)"),
        ("é {{name", "the tag is never closed (line 1, column 3)"),
        ("{{}}", "the tag is empty (line 1, column 1)"),
        ("{{a b}}", "a name cannot contain spaces (line 1, column 1)"),
        ("{{uppercased(a)}}", "function-style names such as uppercased(x) are not supported (line 1, column 1)"),
        ("{{{a}}", "a triple mustache tag must end with } (line 1, column 1)"),
    ])
    func whatIsNotMustacheDocflowRendersIsRefusedWithItsPlace(template: String, message: String) {
        let problem = MustacheProgram.problem(in: template, limits: TemplateLimits())
        #expect(problem?.description == "not a valid Mustache template: " + message)
    }
}
