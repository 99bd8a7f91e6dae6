import DocflowCore
import Foundation
import Testing

/// What the parser refuses beyond RFC 8259's grammar, and how its errors point at the problem.
@Suite("Strict JSON")
struct StrictJSONTests {
    private func parseError(_ bytes: [UInt8]) -> JSONValue.ParseError? {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(bytes) }
    }

    private func parseError(_ text: String) -> JSONValue.ParseError? {
        parseError(Array(text.utf8))
    }

    /// `prefix`, then `raw` bytes inside a string, then `suffix`.
    private func bytes(_ prefix: String, _ raw: [UInt8], _ suffix: String) -> [UInt8] {
        Array(prefix.utf8) + raw + Array(suffix.utf8)
    }

    // MARK: - Duplicate keys

    @Test func aDuplicateKeyIsRejectedWithItsNameAndOffset() {
        let error = parseError(#"{"method":"GET","path":"/x","method":"DELETE"}"#)
        #expect(error?.path == "method")
        #expect(error?.offset == 28)
        #expect(error?.reason == "duplicate key")
        #expect(error?.description == "not valid JSON: method: duplicate key at byte 28")
    }

    @Test func aNestedDuplicateKeyNamesItsWholePath() {
        let text = #"{"body": {"definition": {"steps": [{"id": "a", "config": {"x": 1, "x": 1}}]}}}"#
        let error = parseError(text)
        #expect(error?.path == "body.definition.steps[0].config.x")
        #expect(error?.offset == 66)
    }

    @Test func keysSpelledDifferentlyButEqualAreDuplicates() {
        // An escape and the character it stands for are one key once read.
        #expect(parseError(#"{"a": 1, "\u0061": 2}"#)?.path == "a")
        // Canonically equivalent spellings are one key of a Swift dictionary: only one could be kept.
        #expect(parseError("{\"\u{E9}\": 1, \"e\u{301}\": 2}") != nil)
    }

    @Test func theSameKeyInDifferentObjectsIsFine() throws {
        let value = try JSONValue.parse(#"{"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}]}"#)
        #expect(value["c"]?.arrayValue?.count == 2)
    }

    @Test func aDuplicateAmongManyKeysIsFound() {
        let members = (0..<100).map { "\"k\($0)\": \($0)" }.joined(separator: ", ")
        #expect(parseError("{\(members), \"k57\": 0}")?.path == "k57")
        #expect(parseError("{\(members), \"k0\": 0}")?.path == "k0")
        #expect((try? JSONValue.parse("{\(members)}"))?.objectValue?.count == 100)
    }

    // MARK: - Numbers

    @Test(arguments: ["1e400", "-1e400", "1.8e308", "-1.8e308", "1" + String(repeating: "0", count: 400)])
    func aNumberBeyondTheDoubleRangeIsRejected(number: String) {
        let error = parseError(#"{"amount": \#(number)}"#)
        #expect(error?.path == "amount")
        #expect(error?.offset == 11)
        #expect(error?.reason == "number out of range")
    }

    @Test func theLargestDoublesAreAccepted() throws {
        #expect(try JSONValue.parse("1.7976931348623157e308") == .number(.greatestFiniteMagnitude))
        #expect(try JSONValue.parse("-1.7976931348623157e308") == .number(-.greatestFiniteMagnitude))
    }

    @Test func aNumberTooSmallToRepresentReadsAsZero() throws {
        // Underflow loses precision, not magnitude: 1e-400 is as near to 0 as a double gets.
        #expect(try JSONValue.parse("1e-400") == .number(0))
    }

    @Test func anOverflowInAnArrayNamesItsIndex() {
        #expect(parseError(#"[1, [2, {"a": 1e999}]]"#)?.path == "[1][1].a")
    }

    // MARK: - UTF-8

    @Test(
        arguments: [
            [0x80],  // a continuation byte alone
            [0xBF],
            [0xC0, 0xAF],  // overlong "/"
            [0xC1, 0xBF],  // overlong
            [0xE0, 0x80, 0xAF],  // overlong "/" in three bytes
            [0xE0, 0x9F, 0xBF],  // overlong U+07FF
            [0xF0, 0x80, 0x80, 0xAF],  // overlong "/" in four bytes
            [0xF0, 0x8F, 0xBF, 0xBF],  // overlong U+FFFF
            [0xED, 0xA0, 0x80],  // U+D800, a surrogate
            [0xED, 0xBF, 0xBF],  // U+DFFF, a surrogate
            [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80],  // a surrogate pair written as two scalars (CESU-8)
            [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
            [0xF5, 0x80, 0x80, 0x80],
            [0xFE], [0xFF],
            [0xE2, 0x82],  // cut short before the closing quote
            [0xE2, 0x28, 0xA1],  // a continuation byte missing
            [0xC3],
            [0xF0, 0x9F, 0x98],
        ] as [[UInt8]])
    func invalidUTF8InAStringIsRejectedNotReplaced(sequence: [UInt8]) {
        let error = parseError(bytes(#"{"name": "ab"#, sequence, #"cd"}"#))
        #expect(error?.path == "name")
        #expect(error?.offset == 12)
        #expect(error?.reason == "invalid UTF-8")
    }

    @Test func invalidUTF8AfterAnEscapeIsRejectedToo() {
        let error = parseError(bytes(#"{"name": "a\n"#, [0xC0, 0x80], #""}"#))
        #expect(error?.path == "name")
        #expect(error?.offset == 13)
    }

    @Test func invalidUTF8InAKeyIsRejectedAtTheObject() {
        let error = parseError(bytes(#"{"a": {"k"#, [0xFF], #"": 1}}"#))
        #expect(error?.path == "a")
        #expect(error?.offset == 9)
        #expect(error?.reason == "invalid UTF-8")
    }

    @Test(
        arguments: [
            [0xC2, 0x80],  // U+0080, the smallest two-byte scalar
            [0xDF, 0xBF],
            [0xE0, 0xA0, 0x80],  // U+0800
            [0xED, 0x9F, 0xBF],  // U+D7FF, just below the surrogates
            [0xEE, 0x80, 0x80],  // U+E000, just above them
            [0xEF, 0xBF, 0xBD],  // U+FFFD itself, when the sender wrote it
            [0xEF, 0xBF, 0xBF],
            [0xF0, 0x90, 0x80, 0x80],  // U+10000
            [0xF4, 0x8F, 0xBF, 0xBF],  // U+10FFFF, the last scalar
        ] as [[UInt8]])
    func validUTF8IsKeptExactly(sequence: [UInt8]) throws {
        let value = try JSONValue.parse(bytes(#"[""#, sequence, #"", "x\n"#) + sequence + Array(#""]"#.utf8))
        let text = try #require(value.arrayValue?.first?.stringValue)
        #expect(Array(text.utf8) == sequence)
        #expect(value.arrayValue?.last?.stringValue.map { Array($0.utf8) } == Array("x\n".utf8) + sequence)
    }

    // MARK: - Control characters

    @Test(arguments: [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] as [UInt8])
    func anUnescapedControlCharacterInAStringIsRejected(byte: UInt8) {
        let error = parseError(bytes(#"{"n": {"name": "a"#, [byte], #"b"}}"#))
        #expect(error?.path == "n.name")
        #expect(error?.offset == 17)
        #expect(error?.reason == "unescaped control character in a string")
    }

    @Test func escapedControlCharactersAndDeleteAreJSON() throws {
        #expect(try JSONValue.parse(#""a\u0000b\u001f""#) == .string("a\u{0}b\u{1F}"))
        #expect(try JSONValue.parse(bytes(#"""#, [0x7F], #"""#)) == .string("\u{7F}"))
    }

    // MARK: - Nesting

    @Test func nestingIsBoundedAt512Levels() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(try JSONValue.parse(deepest).arrayValue?.count == 1)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(parseError(tooDeep)?.reason == "nested too deeply")
    }

    @Test func aHugeNestingIsRejectedWithoutExhaustingTheStack() {
        let objects = String(repeating: #"{"a":"#, count: 100_000)
        let error = parseError(objects)
        #expect(error?.reason == "nested too deeply")
        #expect(error?.offset == 5 * 512)
        #expect(parseError(String(repeating: "[", count: 1_000_000))?.reason == "nested too deeply")
    }

    // MARK: - Messages

    @Test func aPathLongerThanUsefulIsShortenedInTheError() {
        let key = String(repeating: "k", count: 10_000)
        let error = parseError(#"{"\#(key)": 1, "\#(key)": 2}"#)
        let path = error?.path ?? ""
        #expect(path.count < 200)
        #expect(path.hasPrefix("kkk"))
    }
}
