import CPoppler
import Foundation
import Synchronization

/// Reads a PDF through poppler: the text of every page in reading order, and the title from the
/// document information. Encrypted and damaged files throw; so does a file with no pages.
enum PDFReader {
    /// poppler-glib promises no thread safety across documents, so documents are read one at a time.
    private static let lock = Mutex(())

    static func read(_ data: Data) throws(DocumentError) -> (pages: [String], title: String?) {
        try lock.withLock { _ throws(DocumentError) in try readLocked(data) }
    }

    private static func readLocked(_ data: Data) throws(DocumentError) -> (pages: [String], title: String?) {
        var message: UnsafeMutablePointer<CChar>?
        var document: UnsafeMutableRawPointer?
        let status = data.withUnsafeBytes { raw in
            docflow_pdf_open(raw.baseAddress, raw.count, &message, &document)
        }
        defer { docflow_pdf_close(document) }
        let reason = take(message) ?? "poppler could not open it"
        guard status == DOCFLOW_PDF_OK, let document else {
            throw status == DOCFLOW_PDF_ENCRYPTED ? .encryptedPDF : .damagedPDF(reason)
        }
        let count = Int(docflow_pdf_page_count(document))
        guard count > 0 else { throw .damagedPDF("it has no pages") }
        var pages: [String] = []
        pages.reserveCapacity(count)
        for index in 0..<count {
            let text = take(docflow_pdf_page_text(document, Int32(index))) ?? ""
            pages.append(String(text.reversed().drop(while: \.isWhitespace).reversed()))
        }
        let title = take(docflow_pdf_title(document))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return (pages, title?.isEmpty == false ? title : nil)
    }

    /// The string poppler handed over, freeing its memory.
    private static func take(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { docflow_pdf_free(pointer) }
        return String(cString: pointer)
    }
}
