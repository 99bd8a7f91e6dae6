import DocflowCore
import Testing

/// `JSONValue.encodedSize(upTo:)` counts what `encoded()` writes, without writing it.
@Suite struct JSONEncodedSizeTests {
    static let values: [JSONValue] = [
        .null, true, false, 0, -1, 7, 1_234_567_890, -9_000_000_000_000, 1.5, -0.25, 1e300, .number(.nan),
        "", "plain", "quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0}", "üñï©ødé 😀",
        [], [1, 2, 3], [:], ["a": 1, "b": [true, .null, "x"], "c": ["d": ["e": "f\n"]]],
        .array((0..<100).map { .number(Double($0)) }),
    ]

    @Test(arguments: values)
    func theSizeIsTheLengthOfTheEncoding(_ value: JSONValue) {
        #expect(value.encodedSize() == value.encoded().count)
    }

    @Test func aValueOverTheLimitStopsTheCountEarly() {
        let big: JSONValue = .array(Array(repeating: .string(String(repeating: "x", count: 1000)), count: 10_000))
        let counted = big.encodedSize(upTo: 5000)
        #expect(counted > 5000)
        #expect(counted < 20_000)
        #expect(big.encodesLarger(than: 5000))
        #expect(!big.encodesLarger(than: big.encoded().count))
    }
}
