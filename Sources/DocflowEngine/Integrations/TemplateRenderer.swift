import DocflowCore

/// Renders Mustache templates over an execution context, as plain text (no HTML escaping:
/// Slack messages, email and webhook bodies are not HTML), within `TemplateLimits`.
///
/// Pure and synchronous, so it can run wherever a caller puts it: the template is parsed and
/// checked against the limits again at every rendering (stored templates may predate them),
/// and rendering stops at the rendered-size cap or the deadline, whichever comes first.
package enum TemplateRenderer {
    package struct Failure: Error, CustomStringConvertible {
        package let error: MustacheError
        package var description: String { error.description }
    }

    package static func render(
        _ template: String, context: JSONValue, limits: TemplateLimits = TemplateLimits(),
        deadline: ContinuousClock.Instant? = nil
    ) throws(Failure) -> String {
        do {
            return try MustacheProgram(template, limits: limits).render(context, limits: limits, deadline: deadline)
        } catch {
            throw Failure(error: error)
        }
    }
}
