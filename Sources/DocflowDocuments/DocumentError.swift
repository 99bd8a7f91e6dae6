/// Why a document could not be read, in words a workflow author can act on: an unsupported
/// type, an encrypted PDF, or a damaged file together with what the reader found wrong.
package struct DocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    package let message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }

    static let unsupportedType = DocumentError("unsupported file type")
    static let encryptedPDF = DocumentError("the PDF is encrypted")

    static func damagedPDF(_ reason: String) -> DocumentError {
        DocumentError("the PDF is damaged: \(reason)")
    }

    static func damagedDOCX(_ reason: String) -> DocumentError {
        DocumentError("the DOCX file is damaged: \(reason)")
    }

    static func invalidJSON(_ reason: String) -> DocumentError {
        DocumentError("the JSON document is invalid: \(reason)")
    }
}
