import Foundation

/// A JSON value as a schema or an instance sees it.
public enum SchemaJSON: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([SchemaJSON])
    case object([String: SchemaJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([SchemaJSON].self) {
            self = .array(items)
        } else {
            self = .object(try container.decode([String: SchemaJSON].self))
        }
    }

    public static func parse(_ data: Data) throws -> SchemaJSON {
        try JSONDecoder().decode(SchemaJSON.self, from: data)
    }

    public subscript(_ key: String) -> SchemaJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var objectValue: [String: SchemaJSON]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var arrayValue: [SchemaJSON]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}

/// The part of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that docflow's document needs:
/// `$ref` within the document, `type`, `const`, `enum`, `properties`, `required`,
/// `additionalProperties`, `items`, `minItems`, `minLength`, `minimum`, `maximum`, `pattern`,
/// `oneOf` and `anyOf`. Other keywords are ignored. Each problem is `path: message`.
public struct JSONSchemaValidator: Sendable {
    /// The document `$ref`s point into (`#/components/schemas/Name`).
    public let root: SchemaJSON

    public init(root: SchemaJSON) {
        self.root = root
    }

    /// Every problem of `instance` against `schema`; empty when it is valid.
    public func problems(_ instance: SchemaJSON, against schema: SchemaJSON, at path: String = "") -> [String] {
        guard case .object(let keywords) = schema else { return [] }
        if let reference = keywords["$ref"]?.stringValue {
            guard let target = resolve(reference) else { return ["\(path): unresolved $ref \(reference)"] }
            return problems(instance, against: target, at: path)
        }
        var found: [String] = []
        func fail(_ message: String) { found.append("\(path.isEmpty ? "body" : path): \(message)") }

        if let type = keywords["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue].compactMap { $0 }
            if !names.contains(where: { Self.matches(instance, type: $0) }) {
                fail("must be of type \(names.joined(separator: " or "))")
                return found
            }
        }
        if let constant = keywords["const"], constant != instance { fail("must be \(constant)") }
        if let choices = keywords["enum"]?.arrayValue, !choices.contains(instance) { fail("must be one of \(choices)") }

        if case .string(let text) = instance {
            if case .number(let minimum)? = keywords["minLength"], Double(text.count) < minimum {
                fail("must be at least \(Int(minimum)) characters")
            }
            if let pattern = keywords["pattern"]?.stringValue,
                text.range(of: pattern, options: .regularExpression) == nil
            {
                fail("must match \(pattern)")
            }
        }
        if case .number(let number) = instance {
            if case .number(let minimum)? = keywords["minimum"], number < minimum {
                fail("must be at least \(minimum)")
            }
            if case .number(let maximum)? = keywords["maximum"], number > maximum { fail("must be at most \(maximum)") }
        }
        if case .array(let items) = instance {
            if case .number(let minimum)? = keywords["minItems"], Double(items.count) < minimum {
                fail("must have at least \(Int(minimum)) items")
            }
            if let itemSchema = keywords["items"] {
                for (index, item) in items.enumerated() {
                    found += problems(item, against: itemSchema, at: "\(path)[\(index)]")
                }
            }
        }
        if case .object(let members) = instance {
            let properties = keywords["properties"]?.objectValue ?? [:]
            for name in keywords["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                found.append("\(Self.join(path, name)): is required")
            }
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                if let propertySchema = properties[name] {
                    found += problems(value, against: propertySchema, at: Self.join(path, name))
                } else if let additional = keywords["additionalProperties"] {
                    if additional == .bool(false) {
                        found.append("\(Self.join(path, name)): is not allowed")
                    } else {
                        found += problems(value, against: additional, at: Self.join(path, name))
                    }
                }
            }
        }
        if let alternatives = keywords["anyOf"]?.arrayValue {
            let results = alternatives.map { problems(instance, against: $0, at: path) }
            if !results.contains(where: \.isEmpty) {
                fail("matches none of anyOf: " + results.map { $0.joined(separator: "; ") }.joined(separator: " | "))
            }
        }
        if let alternatives = keywords["oneOf"]?.arrayValue {
            let results = alternatives.map { problems(instance, against: $0, at: path) }
            let matching = results.filter(\.isEmpty).count
            if matching != 1 {
                fail(
                    "matches \(matching) of oneOf, not exactly 1: "
                        + results.map { $0.joined(separator: "; ") }.joined(separator: " | "))
            }
        }
        return found
    }

    /// `#/a/b/c` in `root`.
    public func resolve(_ reference: String) -> SchemaJSON? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: SchemaJSON? = root
        for part in reference.dropFirst(2).split(separator: "/") {
            node = node?[String(part)]
        }
        return node
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    private static func matches(_ instance: SchemaJSON, type: String) -> Bool {
        switch (type, instance) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array),
            ("object", .object):
            true
        case ("integer", .number(let number)): number.rounded() == number
        default: false
        }
    }
}
