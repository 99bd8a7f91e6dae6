import Foundation

/// How an extracted value is typed in the extract step's output.
///
/// - `string`: the trimmed text.
/// - `number`: a JSON number; `1,234.5`, `1.234,5` and `1234.5` all read as 1234.5.
/// - `money`: a JSON number (the amount); the currency goes beside it (see `Extractor`).
/// - `date`: `"YYYY-MM-DD"`.
/// - `email`: the address in lowercase.
/// - `phone`: `"+1 555 123 4567"` for North American numbers, otherwise `+` and digits (see `Extractor`).
/// - `list`: an array of strings.
public enum FieldType: String, Sendable, CaseIterable, Codable {
    case string, number, money, date, email, phone, list
}

/// One field a schema extracts: how to find it (`labels`, `pattern`) and how to type what is found (`type`).
public struct SchemaField: Sendable, Equatable {
    /// The key in the step output: `[a-z_][a-z0-9_]{0,63}`.
    public var name: String
    public var type: FieldType
    /// Whether the schema's author considers the field essential. Descriptive: the extract step fails on the
    /// fields its `config.required_fields` names.
    public var required: Bool
    /// The words that introduce the value in a document ("Invoice #", "Total Due"), matched case-insensitively
    /// at the start of a line; the field's name with spaces for underscores is always a label too.
    public var labels: [String]
    /// A regular expression (ICU syntax, `^` and `$` at line breaks) tried before the labels; capture group 1,
    /// when the pattern has one, is the value.
    public var pattern: String?
    public var description: String?

    public init(
        name: String, type: FieldType, required: Bool = false, labels: [String] = [], pattern: String? = nil,
        description: String? = nil
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.labels = labels
        self.pattern = pattern
        self.description = description
    }

    /// `{name, type, required, labels, pattern, description}`, absent optionals as `null`.
    public func json() -> JSONValue {
        [
            "name": .string(name),
            "type": .string(type.rawValue),
            "required": .bool(required),
            "labels": .array(labels.map { .string($0) }),
            "pattern": pattern.map { .string($0) } ?? .null,
            "description": description.map { .string($0) } ?? .null,
        ]
    }
}

/// A named set of fields the extract step looks for, built in or created through `/api/schemas`.
public struct ExtractionSchema: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var fields: [SchemaField]
    /// Built-in schemas ship with docflow and cannot be changed or deleted.
    public var builtIn: Bool

    public init(id: String, name: String, description: String? = nil, fields: [SchemaField], builtIn: Bool = false) {
        self.id = id
        self.name = name
        self.description = description
        self.fields = fields
        self.builtIn = builtIn
    }

    /// The field named `name`, if the schema has one.
    public func field(named name: String) -> SchemaField? {
        fields.first { $0.name == name }
    }

    /// `{id, name, description, built_in, fields: [{name, type, required, labels, pattern, description}]}`, as
    /// the schemas API shows it; a body in this shape validates back to an equal schema.
    public func json() -> JSONValue {
        [
            "id": .string(id),
            "name": .string(name),
            "description": description.map { .string($0) } ?? .null,
            "built_in": .bool(builtIn),
            "fields": .array(fields.map { $0.json() }),
        ]
    }
}
