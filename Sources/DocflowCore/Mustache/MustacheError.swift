/// Why a template cannot be parsed or rendered; `description` reads after a field path
/// (`definition.steps[2].config.template: sections nest 3000 deep, more than 32`).
public enum MustacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The template has more UTF-8 bytes than `TemplateLimits.maxTemplateBytes`.
    case templateTooLarge(bytes: Int, limit: Int)
    /// Sections nest deeper than `TemplateLimits.maxDepth`.
    case tooDeep(depth: Int, limit: Int)
    /// Not Mustache docflow renders; `line` and `column` count from 1, columns in characters.
    case syntax(String, line: Int, column: Int)
    /// The rendered text passed `TemplateLimits.maxRenderedBytes`.
    case renderedTooLarge(limit: Int)
    /// Rendering was still going at the deadline it was given.
    case deadlineExceeded

    public var description: String {
        switch self {
        case .templateTooLarge(let bytes, let limit): "the template is \(bytes) bytes, more than \(limit)"
        case .tooDeep(let depth, let limit): "sections nest \(depth) deep, more than \(limit)"
        case .syntax(let message, let line, let column):
            "not a valid Mustache template: \(message) (line \(line), column \(column))"
        case .renderedTooLarge(let limit): "the rendered template is larger than \(limit) bytes"
        case .deadlineExceeded: "rendering the template did not finish before the step's deadline"
        }
    }
}
