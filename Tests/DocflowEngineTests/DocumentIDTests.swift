import Testing

@testable import DocflowEngine

@Suite("Document id as a URL path segment")
struct DocumentIDTests {
    @Test(arguments: [
        ("inv-2024_01.pdf~", "inv-2024_01.pdf~"),
        ("a b?c#d%e", "a%20b%3Fc%23d%25e"),
        ("x&y=z;w+v:u@t", "x%26y%3Dz%3Bw%2Bv%3Au%40t"),
        ("{{document_id}}", "%7B%7Bdocument_id%7D%7D"),
        ("%2e%2e", "%252e%252e"),
        ("...", "..."),
        ("café", "caf%C3%A9"),
    ])
    func everyByteOutsideTheUnreservedCharactersIsPercentEncoded(id: String, segment: String) throws {
        #expect(try DocumentID.pathSegment(id) == segment)
    }

    @Test(arguments: [
        "../../admin?x=", "..", ".", "", "a/b", "/etc/passwd", "a\\b", "..\\x", "a\u{0}b", "a\nb", "a\u{7F}",
    ])
    func idsThatAreNotOnePathSegmentAreRefusedNamingDocumentID(id: String) {
        let error = #expect(throws: StepError.self) { try DocumentID.pathSegment(id) }
        #expect(error?.message.hasPrefix("trigger.document_id ") == true, "\(error?.message ?? "")")
        #expect(error?.message.hasSuffix("a document id must be one URL path segment") == true)
        #expect(error?.retryable == false)
    }
}
