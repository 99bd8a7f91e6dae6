import DocflowCore
import Foundation

/// Reads text, Markdown, CSV, JSON, HTML, PDF and DOCX documents held in memory into a
/// `ParsedDocument`. Pure: no I/O. Any input, however damaged, either parses or throws a
/// `DocumentError`; none crashes the process.
package enum DocumentParser {
    /// Parses `data` as the format `detectType(_:declared:url:)` picks.
    ///
    /// The call is synchronous and CPU-bound (a large PDF can take a while); PDFs are read one at
    /// a time process-wide because poppler does not promise thread safety.
    package static func parse(
        _ data: Data, fileType: String?, url: String?, documentID: String?
    ) throws(DocumentError) -> ParsedDocument {
        guard let format = detect(data, declared: fileType, url: url) else { throw .unsupportedType }
        var document = ParsedDocument(
            documentID: documentID, fileType: format.rawValue, text: "", pages: [], title: nil, bytes: data.count
        )
        switch format {
        case .pdf:
            let pdf = try PDFReader.read(data)
            document.pages = pdf.pages.enumerated().map { ParsedDocument.Page(number: $0.offset + 1, text: $0.element) }
            document.text = pdf.pages.joined(separator: "\n\n")
            document.title = pdf.title
            return document
        case .docx:
            let docx = try DOCXReader.read(data)
            document.text = docx.text
            document.title = docx.title
        case .html:
            let html = HTMLReader.read(DocumentText.decode(data))
            document.text = html.text
            document.title = html.title
        case .text, .markdown:
            document.text = DocumentText.decode(data)
        case .csv:
            document.text = CSVReader.text(DocumentText.decode(data))
        case .json:
            document.text = try prettyJSON(DocumentText.decode(data))
        }
        document.pages = [ParsedDocument.Page(number: 1, text: document.text)]
        return document
    }

    /// The format `data` is read as, by its `file_type` name: the declared type when docflow knows it
    /// (pdf, docx, html, htm, txt, text, md, markdown, csv, json, any case, or a MIME type such as
    /// `application/pdf`); else the one the content's magic bytes show; else the one the URL's
    /// extension names; else `text` when the content is UTF-8 without NUL bytes; else nil.
    package static func detectType(_ data: Data, declared: String?, url: String?) -> String? {
        detect(data, declared: declared, url: url)?.rawValue
    }

    static func detect(_ data: Data, declared: String?, url: String?) -> DocumentFormat? {
        if let declared, let format = DocumentFormat(declared: declared) { return format }
        let bytes = [UInt8](data)
        if let format = sniff(bytes) { return format }
        if let url, let format = DocumentFormat(url: url) { return format }
        if !bytes.contains(0), String(validating: bytes, as: UTF8.self) != nil { return .text }
        return nil
    }

    /// The format the content's opening bytes show, if any.
    private static func sniff(_ bytes: [UInt8]) -> DocumentFormat? {
        // PDF readers accept the header anywhere in the first kilobyte.
        if bytes.prefix(1024).firstRange(of: Array("%PDF-".utf8)) != nil { return .pdf }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            // Entry names are stored uncompressed, so the main part's name shows in the raw bytes.
            return bytes.firstRange(of: Array("word/document.xml".utf8)) != nil ? .docx : nil
        }
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(bytes[start]) { start += 1 }
        let head = String(decoding: bytes[start..<min(bytes.count, start + 16)], as: UTF8.self).lowercased()
        if head.hasPrefix("<!doctype html") || head.hasPrefix("<html") { return .html }
        if head.hasPrefix("{") || head.hasPrefix("[") {
            if (try? JSONValue.parse(bytes[start...])) != nil { return .json }
        }
        return nil
    }

    private static func prettyJSON(_ text: String) throws(DocumentError) -> String {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw .invalidJSON(error.reason)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let pretty = try? encoder.encode(value) else { return value.encodedString() }
        return String(decoding: pretty, as: UTF8.self)
    }
}
