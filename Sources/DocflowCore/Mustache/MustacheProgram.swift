/// A parsed Mustache template, ready to render over a JSON context any number of times.
///
/// docflow's own Mustache, for text (no HTML escaping): variables `{{x}}`, `{{{x}}}` and
/// `{{&x}}`, dotted names, `{{.}}`, sections over lists, objects and truthy values, inverted
/// sections, comments, set delimiters and standalone lines as the Mustache spec has them.
/// Partials, parents, blocks, pragmas and swift-mustache's functions (`uppercased(x)`) are refused. Values render as swift-mustache
/// rendered them before (`null` counts as absent, only `false`, absent and empty lists are falsy,
/// integral numbers print without a fraction), so stored templates render the same, but for a
/// standalone tag on the first line, which now leaves no blank line, as the spec says.
///
/// Why not swift-mustache any more (docs/architecture.md, "Templates"): its parser and renderer
/// recurse once per nested section, so 3,000 nested sections overflowed the stack (SIGSEGV); its
/// parser measures the distance to the template's end at every tag, so parsing is quadratic
/// (100,000 tags: 35 s); and rendering builds each section's text bottom-up, with no way to
/// stop at an output cap or a deadline. Here both parsing and
/// rendering are loops over a flat list of nodes with explicit stacks, so work is linear in the
/// template (and in the output), depth costs no machine stack, and rendering stops at the first
/// byte over the cap.
public struct MustacheProgram: Sendable {
    /// A name as a tag writes it: `a.b` looks `a` up the context stack, then `b` inside it;
    /// `.` is the current value; `.a` looks only in the current value.
    struct Name: Sendable {
        var path: [String]
        /// True for `.` and names starting with a dot: no climbing the context stack.
        var anchored: Bool
    }

    enum Node: Sendable {
        /// Template bytes copied as they are.
        case text(Range<Int>)
        /// `escaped` is false for `{{{x}}}` and `{{&x}}`, which `MustacheEscaping.html` leaves as they are.
        case variable(Name, escaped: Bool)
        /// `end` is the index of the matching `.close`.
        case section(Name, inverted: Bool, end: Int)
        /// `open` is the index of the matching `.section`.
        case close(open: Int)
    }

    let bytes: [UInt8]
    let nodes: [Node]
    /// How many template bytes the parser examined: a constant times the template's size.
    package let scannedBytes: Int

    /// Parses `template`, refusing it when it is larger than the limits allow, nests sections
    /// deeper than `TemplateLimits.maxDepth`, or is not Mustache docflow renders.
    public init(_ template: String, limits: TemplateLimits) throws(MustacheError) {
        let count = template.utf8.count
        guard count <= limits.maxTemplateBytes else {
            throw .templateTooLarge(bytes: count, limit: limits.maxTemplateBytes)
        }
        var parser = MustacheParser(Array(template.utf8))
        try parser.parse()
        guard parser.maxDepth <= TemplateLimits.maxDepth else {
            throw .tooDeep(depth: parser.maxDepth, limit: TemplateLimits.maxDepth)
        }
        bytes = parser.bytes
        nodes = parser.nodes
        scannedBytes = parser.scannedBytes
    }

    /// Checks a template as a definition would store it, without rendering it: nil when it is fine.
    public static func problem(in template: String, limits: TemplateLimits) -> MustacheError? {
        do {
            _ = try MustacheProgram(template, limits: limits)
            return nil
        } catch {
            return error
        }
    }
}

extension MustacheProgram {
    /// The template rendered over `context`; stops with an error as soon as the text passes
    /// `limits.maxRenderedBytes` or, checked every thousand nodes or so, the clock passes `deadline`.
    /// With `escaping: .html`, `{{x}}` writes `&`, `<`, `>`, `"` and `'` as character references
    /// (`{{{x}}}` and `{{&x}}` never do).
    public func render(
        _ context: JSONValue, limits: TemplateLimits, deadline: ContinuousClock.Instant? = nil,
        escaping: MustacheEscaping = .none
    ) throws(MustacheError) -> String {
        var visits = 0
        return try render(context, limits: limits, deadline: deadline, escaping: escaping, visits: &visits)
    }

    /// `render`, also counting the nodes visited.
    package func render(
        _ context: JSONValue, limits: TemplateLimits, deadline: ContinuousClock.Instant?,
        escaping: MustacheEscaping = .none, visits: inout Int
    ) throws(MustacheError) -> String {
        var renderer = MustacheRenderer(
            self, context: context, maxBytes: limits.maxRenderedBytes, deadline: deadline, escaping: escaping)
        defer { visits = renderer.visits }
        try renderer.run()
        return String(decoding: renderer.output, as: UTF8.self)
    }
}

/// What `{{x}}` does to the text it writes: nothing (docflow's templates make text, such as a
/// chat message or JSON), or HTML's character references (the web console's pages).
public enum MustacheEscaping: Sendable {
    case none
    case html
}
