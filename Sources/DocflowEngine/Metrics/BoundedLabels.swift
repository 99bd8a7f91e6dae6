/// The values of a label whose keys come from outside (workflow ids), bounded: the first `limit`
/// distinct keys seen get a label value of their own, every later one shares `other`. A process
/// that sees a million workflows still exports `limit + 1` series per metric, and a key keeps its
/// value for the life of the process, so a series never changes its meaning between scrapes.
package struct BoundedLabels<Value> {
    /// The label value the keys beyond the limit share.
    package static var other: String { "other" }

    package let limit: Int
    private var own: [String: Value] = [:]
    private var shared: Value?

    package init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// How many keys have a value of their own.
    package var count: Int { own.count }

    /// The value of `key`'s label, made by `make` (given the label value) the first time that
    /// label is used.
    package mutating func value(for key: String, make: (String) -> Value) -> Value {
        if let value = own[key] { return value }
        if own.count < limit {
            let value = make(key)
            own[key] = value
            return value
        }
        if let shared { return shared }
        let value = make(Self.other)
        shared = value
        return value
    }
}
