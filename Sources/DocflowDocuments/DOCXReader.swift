import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Reads a Word (.docx) document held in memory: the body's paragraphs and table rows as lines in
/// document order, and the title from `docProps/core.xml`. A file that is not a ZIP archive, lacks
/// `word/document.xml` or holds malformed XML throws, and so does a password-protected one.
enum DOCXReader {
    /// The largest part read: past it, the archive is more likely a bomb than a document.
    static let maximumPartSize = 256 << 20

    static func read(_ data: Data) throws(DocumentError) -> (text: String, title: String?) {
        // Word stores a password-protected document in an OLE compound file, not a ZIP archive.
        if data.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            throw .damagedDOCX("it is password-protected or a legacy binary Word file, not a ZIP archive")
        }
        let archive: ZIPReader
        do {
            archive = try ZIPReader(data)
        } catch {
            throw .damagedDOCX("it is not a ZIP archive (\(error.reason))")
        }
        guard let body = archive.entry(named: "word/document.xml") else {
            throw .damagedDOCX("word/document.xml is missing")
        }
        let xml: Data
        do {
            xml = try archive.contents(of: body, limit: maximumPartSize)
        } catch {
            throw .damagedDOCX(error.reason)
        }
        let collector = DOCXBodyCollector()
        let parser = XMLParser(data: xml)
        parser.shouldProcessNamespaces = true
        parser.delegate = collector
        // On Linux parse() reports success after some errors, and none for unclosed elements.
        let parsed = parser.parse()
        guard parsed, parser.parserError == nil, collector.isComplete else {
            let reason = parser.parserError.map(describe) ?? "it ends before its elements close"
            throw .damagedDOCX("word/document.xml is not well-formed XML (\(reason))")
        }
        return (collector.text, title(in: archive))
    }

    /// The Dublin Core title, if the core properties part exists and has one.
    private static func title(in archive: ZIPReader) -> String? {
        guard let entry = archive.entry(named: "docProps/core.xml"),
            let xml = try? archive.contents(of: entry, limit: maximumPartSize)
        else { return nil }
        let collector = DOCXTitleCollector()
        let parser = XMLParser(data: xml)
        parser.shouldProcessNamespaces = true
        parser.delegate = collector
        guard parser.parse(), parser.parserError == nil else { return nil }
        let title = collector.title.trimmingCharacters(in: .whitespacesAndNewlines)
        return title.isEmpty ? nil : title
    }

    private static func describe(_ error: any Error) -> String {
        let code = (error as NSError).code
        let reasons = [4: "it is not XML", 5: "it ends early", 76: "a start and end tag do not match"]
        return reasons[code] ?? "XML parser error \(code)"
    }
}
