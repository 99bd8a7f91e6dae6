import Testing

@testable import DocflowEngine

/// The `workflow` label's values: the first ones seen keep their own, the rest share `other`.
@Suite struct BoundedLabelsTests {
    @Test func theFirstKeysGetTheirOwnLabelAndTheRestShareOther() {
        var labels = BoundedLabels<String>(limit: 2)
        var made: [String] = []
        func label(_ key: String) -> String {
            labels.value(for: key) { label in
                made.append(label)
                return label
            }
        }
        #expect(label("w1") == "w1")
        #expect(label("w2") == "w2")
        #expect(label("w3") == "other")
        #expect(label("w4") == "other")
        #expect(label("w1") == "w1")
        #expect(labels.count == 2)
        // Each label's value is made once and kept.
        #expect(made == ["w1", "w2", "other"])
    }

    @Test func aLimitOfZeroPutsEveryKeyUnderOther() {
        var labels = BoundedLabels<String>(limit: 0)
        #expect(labels.value(for: "w1") { $0 } == "other")
        #expect(labels.value(for: "w2") { $0 } == "other")
        #expect(labels.count == 0)
    }

    @Test func aKeyNamedOtherDoesNotTakeTheSharedValue() {
        var labels = BoundedLabels<Int>(limit: 1)
        var next = 0
        func value(_ key: String) -> Int {
            labels.value(for: key) { _ in
                next += 1
                return next
            }
        }
        #expect(value("other") == 1)
        #expect(value("w2") == 2)
        #expect(value("other") == 1)
    }
}
