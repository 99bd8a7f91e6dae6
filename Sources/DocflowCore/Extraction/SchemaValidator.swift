import Foundation

/// Checks schema bodies of `/api/schemas`: every problem at once, each with its field path.
///
/// A body is `{id, name, description?, fields: [{name, type, required?, labels?, pattern?, description?}]}`;
/// `built_in` (read-only) is ignored, and any other key is an error naming it.
public enum SchemaValidator {
    public static let maxFields = 100
    private static let idPattern = TextPattern("^[a-z0-9][a-z0-9-]{0,63}$", caseInsensitive: false)
    private static let namePattern = TextPattern("^[a-z_][a-z0-9_]{0,63}$", caseInsensitive: false)

    /// A POST/PUT body. The schema's id is `id` when given (the path's id on PUT, or one the caller chose), and
    /// a body `id` must then equal it; with `id` nil the body's `id` is required. Either way the id must match
    /// `[a-z0-9][a-z0-9-]{0,63}` and must not be a built-in id: built-in schemas cannot be created or changed.
    ///
    /// Every problem is reported at once with field paths like "fields[2].type" or "fields[0].pattern": the
    /// pattern must compile as an `NSRegularExpression` (with `^`/`$` at line breaks), names must be unique and
    /// match `[a-z_][a-z0-9_]{0,63}` (`_meta` is reserved), there must be at least one field, and labels must
    /// be an array of non-empty strings (stored trimmed).
    public static func validate(_ body: JSONValue, id: String?) -> Result<ExtractionSchema, ValidationFailure> {
        guard case .object(let members) = body else {
            return .failure(ValidationFailure(field: "body", message: "must be an object"))
        }
        var errors = FieldErrorCollector()
        errors.rejectUnknown(members, at: "", known: APIFields.schema, what: "a schema")

        let schemaID = readID(members, pathID: id, into: &errors)

        var name: String?
        if let text = errors.requiredString(FieldErrorCollector.given(members, "name"), at: "name") {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || TextLimits.length(trimmed) > TextLimits.maxNameLength {
                errors.add("name", "must be 1 to \(TextLimits.maxNameLength) characters")
            } else if TextLimits.hasControlCharacter(trimmed) {
                errors.add("name", TextLimits.controlCharacterMessage)
            } else {
                name = trimmed
            }
        }
        var description: String?
        if let value = FieldErrorCollector.given(members, "description") {
            description = errors.description(value, at: "description")
        }

        var fields: [SchemaField] = []
        if let value = FieldErrorCollector.given(members, "fields") {
            if let items = errors.array(value, at: "fields") {
                if items.isEmpty {
                    errors.add("fields", "must have at least one field")
                } else if items.count > maxFields {
                    errors.add("fields", "must have at most \(maxFields) fields")
                }
                var firstIndex: [String: Int] = [:]
                for (index, item) in items.enumerated() {
                    let path = "fields[\(index)]"
                    let (name, field) = readField(item, at: path, into: &errors)
                    if let name {
                        if let earlier = firstIndex[name] {
                            errors.add("\(path).name", "must be unique: fields[\(earlier)] has the same name")
                        } else {
                            firstIndex[name] = index
                        }
                    }
                    if let field { fields.append(field) }
                }
            }
        } else {
            errors.add("fields", "is required")
        }

        guard errors.isEmpty, let schemaID, let name else {
            return .failure(ValidationFailure(details: errors.details))
        }
        return .success(ExtractionSchema(id: schemaID, name: name, description: description, fields: fields))
    }

    private static func readID(
        _ members: [String: JSONValue], pathID: String?, into errors: inout FieldErrorCollector
    ) -> String? {
        let text: String
        if let pathID {
            if let given = FieldErrorCollector.given(members, "id"), given != .string(pathID) {
                errors.add("id", "must match the id of the schema being updated")
                return nil
            }
            text = pathID
        } else {
            guard let given = errors.requiredString(FieldErrorCollector.given(members, "id"), at: "id") else {
                return nil
            }
            text = given
        }
        if idPattern.firstMatch(in: text) == nil {
            errors.add("id", "must be 1 to 64 lowercase letters, digits and dashes, starting with a letter or digit")
            return nil
        }
        if BuiltInSchemas.isBuiltIn(text) {
            errors.add("id", "is the id of a built-in schema")
            return nil
        }
        return text
    }

    /// The field's name when it is valid, and the field when all of it is.
    private static func readField(
        _ value: JSONValue, at path: String, into errors: inout FieldErrorCollector
    ) -> (name: String?, field: SchemaField?) {
        guard let members = errors.object(value, at: path) else { return (nil, nil) }
        let before = errors.details.count
        errors.rejectUnknown(members, at: path, known: APIFields.schemaField, what: "a schema field")

        var name: String?
        if let text = errors.requiredString(FieldErrorCollector.given(members, "name"), at: "\(path).name") {
            if namePattern.firstMatch(in: text) == nil {
                errors.add(
                    "\(path).name",
                    "must be 1 to 64 lowercase letters, digits and underscores, not starting with a digit")
            } else if text == "_meta" {
                errors.add("\(path).name", "is reserved")
            } else {
                name = text
            }
        }

        var type: FieldType?
        if let given = FieldErrorCollector.given(members, "type") {
            type = errors.oneOf(given, at: "\(path).type", FieldType.self)
        } else {
            errors.add("\(path).type", "is required")
        }

        var required = false
        if let given = FieldErrorCollector.given(members, "required") {
            required = errors.bool(given, at: "\(path).required") ?? false
        }

        var labels: [String] = []
        if let given = FieldErrorCollector.given(members, "labels"),
            let items = errors.array(given, at: "\(path).labels")
        {
            for (index, item) in items.enumerated() {
                let trimmed = item.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                if trimmed.isEmpty {
                    errors.add("\(path).labels[\(index)]", "must be a non-empty string")
                } else {
                    labels.append(trimmed)
                }
            }
        }

        var pattern: String?
        if let given = FieldErrorCollector.given(members, "pattern"),
            let text = errors.string(given, at: "\(path).pattern", nonEmpty: true)
        {
            do {
                _ = try NSRegularExpression(pattern: text, options: [.anchorsMatchLines])
                pattern = text
            } catch {
                errors.add("\(path).pattern", "is not a valid regular expression")
            }
        }

        var description: String?
        if let given = FieldErrorCollector.given(members, "description") {
            description = errors.description(given, at: "\(path).description")
        }

        guard errors.details.count == before, let name, let type else { return (name, nil) }
        return (
            name,
            SchemaField(
                name: name, type: type, required: required, labels: labels, pattern: pattern, description: description)
        )
    }
}
