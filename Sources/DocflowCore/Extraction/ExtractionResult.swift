/// What the extract step found in one document.
public struct ExtractionResult: Sendable, Equatable {
    /// Found fields, typed; plus `<money field>_currency` keys (see `Extractor`).
    public var fields: [String: JSONValue]
    /// The confidence of every key of `fields`, 0...1.
    public var confidence: [String: Double]
    /// Schema fields not found, or found under `confidence_min`, in schema order.
    public var missing: [String]

    public init(fields: [String: JSONValue], confidence: [String: Double], missing: [String]) {
        self.fields = fields
        self.confidence = confidence
        self.missing = missing
    }

    /// The step output of contract section 7: every found field, every missing field as `null` (so the output
    /// always has the schema's keys), and `_meta: {"confidence": {field: 0..1}, "missing": [field]}`.
    public func json() -> JSONValue {
        var object = fields
        for name in missing where object[name] == nil { object[name] = .null }
        object["_meta"] = [
            "confidence": .object(confidence.mapValues { .number($0) }),
            "missing": .array(missing.map { .string($0) }),
        ]
        return .object(object)
    }

    /// Those of `names` that were not found: what makes a step with `config.required_fields` fail.
    public func missing(among names: [String]) -> [String] {
        names.filter { fields[$0] == nil }
    }
}
