import DocflowCore
import Foundation
import Mustache

/// Renders Mustache templates over an execution context, as plain text (no HTML escaping:
/// Slack messages, email and webhook bodies are not HTML).
package enum TemplateRenderer {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    package static func render(_ template: String, context: JSONValue) throws(Failure) -> String {
        let compiled: MustacheTemplate
        do {
            compiled = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + template)
        } catch {
            throw Failure(description: "not a valid Mustache template: \(error)")
        }
        return compiled.render(mustacheValue(context) ?? [String: Any]())
    }

    /// Mustache reads dictionaries and arrays; `null` is left out so it renders as nothing.
    static func mustacheValue(_ value: JSONValue) -> Any? {
        switch value {
        case .null: return nil
        case .bool(let b): return b
        case .number(let n): return n.rounded() == n && abs(n) < 9e15 ? Int(n) as Any : n as Any
        case .string(let s): return s
        case .array(let items): return items.compactMap(mustacheValue)
        case .object(let fields): return fields.compactMapValues(mustacheValue)
        }
    }
}
