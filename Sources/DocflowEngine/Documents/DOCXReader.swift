import Foundation
import ZIPFoundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Reads a Word (.docx) document: the body's paragraphs and table rows as lines in
/// document order, and the title from `docProps/core.xml`. A file that is not a ZIP archive, lacks
/// `word/document.xml` or holds malformed XML throws.
enum DOCXReader {
    /// The largest `word/document.xml` read: past it, the archive is more likely a bomb than a document.
    static let maximumPartSize = 256 << 20

    static func read(_ data: Data) throws(DocumentError) -> (text: String, title: String?) {
        // ZIPFoundation 0.9.20 traps when a damaged in-memory archive points past its end
        // (weichsel/ZIPFoundation#394); a file-backed archive reads such offsets as end of file.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-\(UUID().uuidString).docx")
        do {
            try data.write(to: file, options: .withoutOverwriting)
        } catch {
            throw DocumentError("cannot stage the DOCX file for reading: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        let archive: Archive
        do {
            archive = try Archive(url: file, accessMode: .read)
        } catch {
            throw .damagedDOCX("it is not a ZIP archive (\(describe(error)))")
        }
        guard let body = archive["word/document.xml"] else {
            throw .damagedDOCX("word/document.xml is missing")
        }
        let xml = try extract(body, from: archive)
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

    private static func extract(_ entry: Entry, from archive: Archive) throws(DocumentError) -> Data {
        guard entry.uncompressedSize <= UInt64(maximumPartSize) else {
            throw .damagedDOCX("\(entry.path) is larger than \(maximumPartSize >> 20) MiB")
        }
        var contents = Data()
        do {
            _ = try archive.extract(entry) { chunk in
                // The size in the header may lie.
                guard contents.count + chunk.count <= maximumPartSize else {
                    throw Archive.ArchiveError.invalidEntrySize
                }
                contents.append(chunk)
            }
        } catch {
            throw .damagedDOCX("\(entry.path) cannot be unpacked (\(describe(error)))")
        }
        return contents
    }

    /// The Dublin Core title, if the core properties part exists and has one.
    private static func title(in archive: Archive) -> String? {
        guard let entry = archive["docProps/core.xml"], let xml = try? extract(entry, from: archive) else { return nil }
        let collector = DOCXTitleCollector()
        let parser = XMLParser(data: xml)
        parser.shouldProcessNamespaces = true
        parser.delegate = collector
        guard parser.parse(), parser.parserError == nil else { return nil }
        let title = collector.title.trimmingCharacters(in: .whitespacesAndNewlines)
        return title.isEmpty ? nil : title
    }

    private static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if nsError.domain == XMLParser.errorDomain {
            let reasons = [4: "it is not XML", 5: "it ends early", 76: "a start and end tag do not match"]
            return reasons[nsError.code] ?? "XML parser error \(nsError.code)"
        }
        guard let error = error as? Archive.ArchiveError else { return String(describing: error) }
        switch error {
        case .missingEndOfCentralDirectoryRecord: return "no end of central directory record"
        case .invalidCRC32: return "a checksum does not match"
        case .invalidCompressionMethod: return "an unknown compression method"
        case .invalidEntrySize: return "an entry's size is out of range"
        default: return "\(error)"
        }
    }
}
