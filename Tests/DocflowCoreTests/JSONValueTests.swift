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
    }

    @Test(arguments: [
        #"{"a":[1,2.5,"x",null,true],"b":{"c":"d\u0000e"}}"#, #"[]"#, #""é€😀""#, #"{"long":12345678901234}"#,
    ])
    func encodingRoundTripsThroughTheParser(text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(try JSONValue.parse(value.encoded()) == value)
    }
}
