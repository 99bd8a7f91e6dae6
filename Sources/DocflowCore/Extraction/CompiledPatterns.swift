import Foundation
import Synchronization

/// Compiled matchers kept between extractions: compiling a schema's labels into `LabelIndex` was 88% of an
/// invoice `extract` step's CPU (bench worker mode, December 4), and a worker or engine sees the same few
/// schemas over and over. Bounded: past `capacity` entries the cache starts again empty, so hostile schemas
/// cannot grow it.
final class CompiledPatterns<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The value for `key`, made by `make` the first time (and again after the cache was emptied).
    func value(for key: String, make: () -> Value) -> Value {
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let made = make()  // outside the lock: compiling takes a while, and two threads may both do it once
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = made
        }
        return made
    }

    var count: Int { entries.withLock { $0.count } }
}

extension LabelIndex {
    private static let cache = CompiledPatterns<LabelIndex>(capacity: 64)

    /// The index of `schema`'s labels, compiled once per distinct set of labels.
    static func cached(for schema: ExtractionSchema) -> LabelIndex {
        // What `init(schema:)` reads: each field's name and labels, in order, each prefixed with its length
        // so that no two schemas share a key.
        var key = ""
        for field in schema.fields {
            key += "\(field.labels.count);"
            for text in [field.name] + field.labels { key += "\(text.utf8.count):\(text)" }
        }
        return cache.value(for: key) { LabelIndex(schema: schema) }
    }
}

extension Extractor {
    /// A field's own `pattern`, compiled once; nil when it does not compile (the schema validator refuses
    /// those, so only a stored schema from before that check gets here).
    private static let fieldPatterns = CompiledPatterns<TextPattern?>(capacity: 256)

    static func fieldPattern(_ pattern: String) -> TextPattern? {
        fieldPatterns.value(for: pattern) {
            (try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])).map(TextPattern.init(regex:))
        }
    }
}
