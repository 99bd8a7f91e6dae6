import DocflowCore
import Foundation
import Testing

@testable import DocflowService

/// Request bodies the strict parser refuses answer 400 `bad_request`, naming where it stopped.
@Suite struct UnreadableBodyTests {
    private func envelopeError(_ bytes: [UInt8]) -> APIError? {
        #expect(throws: APIError.self) { try APIConsumer.parse(Data(bytes), messageID: nil) }
    }

    private func envelopeError(_ text: String) -> APIError? {
        envelopeError(Array(text.utf8))
    }

    @Test func aDuplicateMethodInTheEnvelopeIsRefusedNotLastWins() {
        let error = envelopeError(#"{"method": "GET", "path": "/api/workflows/w1", "method": "DELETE"}"#)
        #expect(error?.status == 400)
        #expect(error?.code == "bad_request")
        #expect(error?.details == [FieldError(field: "method", message: "is not valid JSON: duplicate key at byte 47")])
        #expect(error?.message == "request body is not valid JSON: method: duplicate key at byte 47")
    }

    @Test func aDuplicateKeyInTheBodyIsNamedByItsPathInTheEnvelope() {
        let error = envelopeError(
            #"{"method": "POST", "path": "/api/workflows", "body": {"definition": {"steps": [{"config": {"a": 1, "a": 2}}]}}}"#
        )
        #expect(error?.details.map(\.field) == ["body.definition.steps[0].config.a"])
    }

    @Test func anOverflowingNumberIsRefusedNotStoredAsNull() {
        let error = envelopeError(#"{"method": "POST", "path": "/api/workflows/w1/execute", "body": {"n": 1e400}}"#)
        #expect(error?.code == "bad_request")
        #expect(error?.details.first?.field == "body.n")
        #expect(error?.details.first?.message.contains("number out of range") == true)
    }

    @Test func invalidUTF8IsRefusedNotReplaced() {
        let error = envelopeError(
            Array(#"{"method": "POST", "path": "/api/workflows", "body": {"name": "a"#.utf8) + [0xED, 0xA0, 0x80]
                + Array(#""}}"#.utf8))
        #expect(error?.details.map(\.field) == ["body.name"])
        #expect(error?.details.first?.message.contains("invalid UTF-8") == true)
    }

    @Test func garbageAtTheTopNamesNoField() {
        let error = envelopeError("%%%")
        #expect(error?.code == "bad_request")
        #expect(error?.details == [])
    }

    @Test func anHTTPBodyNamesFieldsFromItsRootAndTheRootAsBody() throws {
        let inside = #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(#"{"name": "a", "name": "b"}"#) }
        let nested = APIError.unreadableJSON("request body", try #require(inside), rootField: "body")
        #expect(nested.details == [FieldError(field: "name", message: "is not valid JSON: duplicate key at byte 14")])
        let top = #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse("1e400") }
        let root = APIError.unreadableJSON("webhook body", try #require(top), rootField: "body")
        #expect(
            root.details == [FieldError(field: "body", message: "is not valid JSON: number out of range at byte 0")])
        #expect(root.message == "webhook body is not valid JSON: number out of range at byte 0")
    }
}
