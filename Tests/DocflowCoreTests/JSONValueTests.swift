import DocflowCore
import Foundation
import Testing

@Suite("JSON values")
struct JSONValueTests {
    @Test func encodingIsCompactWithSortedKeys() {
        let value: JSONValue = ["b": 1, "a": [true, false, nil], "c": ["z": "y", "x": 2.5]]
        #expect(value.encodedString() == #"{"a":[true,false,null],"b":1,"c":{"x":2.5,"z":"y"}}"#)
    }

    @Test func stringsAreEscapedAsJSONRequires() {
        let value: JSONValue = .string("quote \" backslash \\ slash / line\nfeed tab\t bell\u{07} é €")
        #expect(value.encodedString() == #""quote \" backslash \\ slash / line\nfeed tab\t bell\u0007 é €""#)
    }

    @Test func numbersKeepIntegersIntegralAndFractionsExact() {
        #expect(JSONValue.number(1339.2).encodedString() == "1339.2")
        #expect(JSONValue.number(-42).encodedString() == "-42")
        #expect(JSONValue.number(1e20).encodedString() == "1e+20")
        #expect(JSONValue.number(.nan).encodedString() == "null")
        #expect(JSONValue.number(0).encodedString() == "0")
        #expect(JSONValue.number(-0.0).encodedString() == "0")
        #expect(JSONValue.number(7).encodedString() == "7")
        #expect(JSONValue.number(8_999_999_999_999_998).encodedString() == "8999999999999998")
        #expect(JSONValue.number(-1_000_000_007).encodedString() == "-1000000007")
        #expect(JSONValue.string("plain ascii and ünïcode").encodedString() == #""plain ascii and ünïcode""#)
    }

    @Test(arguments: [
        #"{"a":[1,2.5,"x",null,true],"b":{"c":"d\u0000e"}}"#, #"[]"#, #""é€😀""#, #"{"long":12345678901234}"#,
    ])
    func encodingRoundTripsThroughTheParser(text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(try JSONValue.parse(value.encoded()) == value)
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test func readsEveryKindOfValue() throws {
        let value = try JSONValue.parse(#" { "a" : [1, -2.5e1, 0, true, false, null], "b": {"c": "d"}, "e": "" } "#)
        #expect(value == ["a": [1, -25, 0, true, false, nil], "b": ["c": "d"], "e": ""])
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue.parse(#""a\"b\\c\/d\n\t\u00e9\u20ac\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\n\té€😀"))
    }

    @Test(arguments: [
        "", "nul", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "\"abc", "\"a\u{01}b\"",
        "\"\\x\"", "\"\\ud83d\"", "[1] 2", "{} {}", "'single'", "NaN", "[" + String(repeating: "[", count: 600),
    ])
    func rejectsWhatIsNotJSON(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test func errorsSayWhereTheProblemIs() {
        do {
            _ = try JSONValue.parse("[1, 2, x]")
            Issue.record("parsed")
        } catch {
            #expect(error.description == "not valid JSON: [2]: unexpected character 'x' at byte 7")
        }
    }

    @Test func agreesWithFoundation() throws {
        let text = #"{"n": 12345678.125, "s": "naïve café", "l": [[], {}], "z": -0.001}"#
        let ours = try JSONValue.parse(text)
        let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == theirs)
    }
}

@Suite struct TimeOrderedIDTests {
    @Test func isALowercaseVersion7UUID() throws {
        let id = TimeOrderedID.make()
        #expect(id.count == 36)
        #expect(id == id.lowercased())
        let uuid = try #require(UUID(uuidString: id))
        #expect(uuid.uuidString.lowercased() == id)
        let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        #expect(bytes[6] >> 4 == 7)
        #expect(bytes[8] >> 6 == 0b10)
    }

    @Test func carriesItsMillisecondAndSortsByIt() {
        let earlier = TimeOrderedID.make(now: Date(timeIntervalSince1970: 1_700_000_000.123))
        let later = TimeOrderedID.make(now: Date(timeIntervalSince1970: 1_700_000_000.124))
        #expect(earlier.hasPrefix("018bcfe5-687b-7"))
        #expect(earlier < later)
        #expect(Set((0..<1000).map { _ in TimeOrderedID.make() }).count == 1000)
    }

    @Test func theRandomPartDiffersAcrossRefillsOfItsPool() {
        // More ids than one pool of random words (512), in the same millisecond.
        let now = Date()
        let ids = (0..<1500).map { _ in TimeOrderedID.make(now: now) }
        #expect(Set(ids.map { $0.suffix(12) }).count == ids.count)
    }
}
