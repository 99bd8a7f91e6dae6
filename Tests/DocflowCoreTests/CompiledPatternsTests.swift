import Foundation
import Testing

@testable import DocflowCore

/// Label indexes and field patterns are compiled once per distinct schema, within a bound.
@Suite struct CompiledPatternsTests {
    static func schema(_ labels: [String], pattern: String? = nil) -> ExtractionSchema {
        ExtractionSchema(
            id: "s", name: "s",
            fields: [SchemaField(name: "total", type: .money, labels: labels, pattern: pattern)])
    }

    @Test func schemasWithTheSameLabelsShareAnIndexAndOthersDoNot() {
        let one = LabelIndex.cached(for: Self.schema(["Amount Due", "Total"]))
        let again = LabelIndex.cached(for: Self.schema(["Amount Due", "Total"]))
        let other = LabelIndex.cached(for: Self.schema(["Amount DueTotal"]))
        #expect(
            one.entries.map(\.label) == LabelIndex(schema: Self.schema(["Amount Due", "Total"])).entries.map(\.label))
        #expect(again.entries.map(\.label) == one.entries.map(\.label))
        #expect(other.entries.map(\.label) == LabelIndex(schema: Self.schema(["Amount DueTotal"])).entries.map(\.label))
        // The cached index finds what a fresh one finds.
        let text = "INVOICE\nAmount Due: $1,250.00\n"
        #expect(
            Extractor.extract(text, schema: Self.schema(["Amount Due"])).fields["total"]
                == Extractor.extract(text, schema: Self.schema(["Amount Due"])).fields["total"])
    }

    @Test func theCacheStartsAgainPastItsCapacity() {
        let cache = CompiledPatterns<Int>(capacity: 3)
        var made = 0
        for key in ["a", "b", "c", "a", "d", "a"] {
            _ = cache.value(for: key) {
                made += 1
                return made
            }
            #expect(cache.count <= 3)
        }
        // a, b, c made; a cached; d emptied the cache and was made; a made again.
        #expect(made == 5)
    }

    @Test func aFieldPatternThatDoesNotCompileFindsNothing() {
        #expect(Extractor.fieldPattern("(unclosed") == nil)
        #expect(Extractor.fieldPattern(#"PO-(\d+)"#) != nil)
    }
}
