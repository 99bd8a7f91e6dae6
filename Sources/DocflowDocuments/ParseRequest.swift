import DocflowCore
import Foundation

/// One document for the `docflow-parse` helper, as it travels on the helper's stdin: a 4-byte
/// big-endian header length, the header (JSON: `file_type`, `url`, `document_id`, `bytes`), then
/// the document's `bytes` bytes.
package struct ParseRequest: Sendable, Equatable {
    package var data: Data
    package var fileType: String?
    package var url: String?
    package var documentID: String?

    /// The largest header accepted: the header holds a URL and two names, not the document.
    package static let maxHeaderBytes = 1 << 20

    package init(data: Data, fileType: String?, url: String?, documentID: String?) {
        self.data = data
        self.fileType = fileType
        self.url = url
        self.documentID = documentID
    }

    /// What reading a request from the start of a buffer gave.
    package enum Decoded: Sendable, Equatable {
        /// The whole request.
        case request(ParseRequest)
        /// The buffer holds only the start of a request.
        case incomplete
        /// The buffer does not hold a request; why.
        case invalid(String)
    }

    package func encoded() -> Data {
        let header = JSONValue.object([
            "file_type": fileType.map(JSONValue.string) ?? .null,
            "url": url.map(JSONValue.string) ?? .null,
            "document_id": documentID.map(JSONValue.string) ?? .null,
            "bytes": .number(Double(data.count)),
        ]).encoded()
        let length = UInt32(header.count)
        var bytes = Data([
            UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
        ])
        bytes.reserveCapacity(4 + header.count + data.count)
        bytes.append(header)
        bytes.append(data)
        return bytes
    }

    /// Reads the request at the start of `bytes`; bytes past its end are an error.
    package static func decode(_ bytes: [UInt8]) -> Decoded {
        guard bytes.count >= 4 else { return .incomplete }
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length <= maxHeaderBytes else { return .invalid("the request's header is \(length) bytes long") }
        guard bytes.count >= 4 + length else { return .incomplete }
        guard let header = try? JSONValue.parse(bytes[4..<4 + length]), header.objectValue != nil else {
            return .invalid("the request's header is not a JSON object")
        }
        guard let size = header["bytes"]?.intValue, size >= 0 else {
            return .invalid("the request's header gives no document size")
        }
        let end = 4 + length + size
        guard bytes.count >= end else { return .incomplete }
        guard bytes.count == end else { return .invalid("\(bytes.count - end) bytes follow the request") }
        return .request(
            ParseRequest(
                data: Data(bytes[(4 + length)...]), fileType: header["file_type"]?.stringValue,
                url: header["url"]?.stringValue, documentID: header["document_id"]?.stringValue))
    }
}
