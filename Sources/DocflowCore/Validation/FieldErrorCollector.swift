/// Gathers every problem found while reading a JSON body, each under its field path, and reads
/// typed values out of it: a reader returns the value when it is valid and records why not otherwise.
///
/// Absent keys and JSON `null` count the same for optional fields: many clients write `nil` as `null`.
struct FieldErrorCollector {
    private(set) var details: [FieldError] = []

    var isEmpty: Bool { details.isEmpty }

    mutating func add(_ field: String, _ message: String) {
        details.append(FieldError(field: field, message: message))
    }

    /// `base.key`, or `key` at the top level.
    static func path(_ base: String, _ key: String) -> String {
        base.isEmpty ? key : "\(base).\(key)"
    }

    /// The member named `key` unless it is absent or `null`.
    static func given(_ object: [String: JSONValue], _ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    /// Records every key of `object` outside `known`, sorted, as `<path>.<key>`: a misspelt field
    /// (`filter` for `filters`) is an error, not silently nothing.
    mutating func rejectUnknown(_ object: [String: JSONValue], at path: String, known: Set<String>, what: String) {
        for key in object.keys.sorted() where !known.contains(key) {
            add(Self.path(path, key), "is not a field of \(what)")
        }
    }

    // MARK: - Readers

    mutating func string(_ value: JSONValue, at path: String, nonEmpty: Bool = false) -> String? {
        guard case .string(let text) = value else {
            add(path, "must be a string")
            return nil
        }
        if nonEmpty, text.isEmpty {
            add(path, "must not be empty")
            return nil
        }
        return text
    }

    mutating func requiredString(_ value: JSONValue?, at path: String, nonEmpty: Bool = false) -> String? {
        guard let value else {
            add(path, "is required")
            return nil
        }
        return string(value, at: path, nonEmpty: nonEmpty)
    }

    mutating func bool(_ value: JSONValue, at path: String) -> Bool? {
        guard case .bool(let flag) = value else {
            add(path, "must be a boolean")
            return nil
        }
        return flag
    }

    mutating func object(_ value: JSONValue, at path: String) -> [String: JSONValue]? {
        guard case .object(let members) = value else {
            add(path, "must be an object")
            return nil
        }
        return members
    }

    mutating func array(_ value: JSONValue, at path: String) -> [JSONValue]? {
        guard case .array(let items) = value else {
            add(path, "must be an array")
            return nil
        }
        return items
    }

    /// An integral JSON number within `range`; `3.0` counts, `3.5` does not.
    mutating func integer(_ value: JSONValue, at path: String, in range: ClosedRange<Int>) -> Int? {
        guard case .number(let number) = value, number.isFinite, number.rounded() == number else {
            add(path, "must be an integer")
            return nil
        }
        // Compare as doubles first so huge numbers cannot trap in the Int conversion.
        guard number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            add(
                path,
                range.upperBound == Int.max
                    ? "must be at least \(range.lowerBound)"
                    : "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return Int(number)
    }

    /// One of an enum's raw values; the message lists them all, whatever the JSON type given.
    mutating func oneOf<Choice: RawRepresentable & CaseIterable>(
        _ value: JSONValue, at path: String, _: Choice.Type
    ) -> Choice? where Choice.RawValue == String {
        if case .string(let raw) = value, let choice = Choice(rawValue: raw) { return choice }
        add(path, "must be one of " + Choice.allCases.map(\.rawValue).joined(separator: ", "))
        return nil
    }
}
