/// A trigger's `document_id` as it fills `--document-url-template`: one path segment, never
/// more. Event data is untrusted, and an id such as `../../admin?x=` must not move the request
/// to another path, query or host.
package enum DocumentID {
    /// The id percent-encoded as one URL path segment: every byte outside RFC 3986's unreserved
    /// characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`. Ids that no encoding makes safe
    /// everywhere (a file path reads `%2F` back as `/` in some servers) are refused: empty, `.`,
    /// `..`, or holding `/`, `\` or a control character.
    package static func pathSegment(_ id: String) throws(StepError) -> String {
        let problem: String? =
            if id.isEmpty {
                "is empty"
            } else if id == "." || id == ".." {
                "is a relative path segment"
            } else if id.contains("/") || id.contains("\\") {
                "holds a / or \\"
            } else if id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                "holds a control character"
            } else {
                nil
            }
        if let problem {
            throw StepError(
                "trigger.document_id \(String(reflecting: id)) \(problem): a document id must be one URL path segment",
                retryable: false)
        }
        let hex = Array("0123456789ABCDEF")
        var encoded = ""
        for byte in id.utf8 {
            if isUnreserved(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
            }
        }
        return encoded
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
