import DocflowCore
import Foundation
import Testing

@testable import DocflowDocuments

/// The bytes between docflow and its `docflow-parse` helpers: one request in, one reply out.
@Suite struct ParseRequestTests {
    @Test func aRequestReadsBackAsItWasWritten() {
        let requests = [
            ParseRequest(data: Data("%PDF-1.4 …".utf8), fileType: "pdf", url: "https://x/y.pdf", documentID: "d-1"),
            ParseRequest(data: Data(), fileType: nil, url: nil, documentID: nil),
        ]
        for request in requests {
            #expect(ParseRequest.decode([UInt8](request.encoded())) == .request(request))
        }
    }

    @Test func everyPrefixOfARequestIsIncomplete() {
        let bytes = [UInt8](
            ParseRequest(data: Data("<html>hi</html>".utf8), fileType: "html", url: nil, documentID: nil).encoded())
        for length in 0..<bytes.count {
            #expect(ParseRequest.decode(Array(bytes[..<length])) == .incomplete, "\(length) bytes")
        }
    }

    @Test func bytesPastTheDocumentOrAMalformedHeaderAreRefused() {
        let bytes = [UInt8](ParseRequest(data: Data("x".utf8), fileType: nil, url: nil, documentID: nil).encoded())
        #expect(ParseRequest.decode(bytes + [0]) == .invalid("1 bytes follow the request"))
        #expect(ParseRequest.decode([0xFF, 0, 0, 0]) == .invalid("the request's header is 4278190080 bytes long"))
        #expect(
            ParseRequest.decode([0, 0, 0, 2] + Array("[]".utf8))
                == .invalid("the request's header is not a JSON object"))
        #expect(
            ParseRequest.decode([0, 0, 0, 2] + Array("{}".utf8))
                == .invalid("the request's header gives no document size"))
    }

    @Test func aReplyReadsBackAsItWasWritten() {
        let document = ParsedDocument(
            documentID: "d-1", fileType: "pdf", text: "One\n\nTwo",
            pages: [.init(number: 1, text: "One"), .init(number: 2, text: "Two")], title: "Pages", bytes: 1234)
        let untitled = ParsedDocument(
            documentID: nil, fileType: "html", text: "", pages: [.init(number: 1, text: "")], title: nil, bytes: 0)
        for reply in [
            ParseReply.document(document), .document(untitled), .failure(DocumentError("the PDF is encrypted")),
        ] {
            #expect(ParseReply.decode(reply.encoded()) == reply)
        }
        #expect(ParseReply.decode(Array("{\"ok\": true, \"document\": {}}".utf8)) == nil)
        #expect(ParseReply.decode(Array("not json".utf8)) == nil)
    }
}
