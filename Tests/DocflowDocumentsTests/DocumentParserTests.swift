import DocflowCore
import Foundation
import Testing
import ZIPFoundation

@testable import DocflowDocuments

// MARK: - Documents the tests write themselves

/// A minimal PDF 1.4: a catalog, a page tree, one Helvetica font, a page with one line of text per
/// entry in `pages`, an Info dictionary with `title`, and an xref table with real byte offsets. With
/// `encrypted`, the trailer names a standard security handler whose user password is not empty.
private func makePDF(pages: [String], title: String, encrypted: Bool = false) -> Data {
    var objects: [String] = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",  // the page tree, once the pages' numbers are known
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    var kids: [String] = []
    for text in pages {
        let stream = "BT /F1 12 Tf 72 720 Td (\(text)) Tj ET"
        objects.append("<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream")
        let contents = objects.count
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                + "/Contents \(contents) 0 R >>"
        )
        kids.append("\(objects.count) 0 R")
    }
    objects[1] = "<< /Type /Pages /Kids [\(kids.joined(separator: " "))] /Count \(pages.count) >>"
    objects.append("<< /Title (\(title)) /Producer (docflow tests) >>")
    let info = objects.count
    var trailerExtras = ""
    if encrypted {
        let owner = String(repeating: "4A", count: 32)
        let user = String(repeating: "7B", count: 32)
        objects.append("<< /Filter /Standard /V 1 /R 2 /O <\(owner)> /U <\(user)> /P -44 >>")
        let id = String(repeating: "0123456789ABCDEF", count: 2)
        trailerExtras = " /Encrypt \(objects.count) 0 R /ID [<\(id)> <\(id)>]"
    }
    var pdf = "%PDF-1.4\n"
    var offsets: [Int] = []
    for (index, body) in objects.enumerated() {
        offsets.append(pdf.utf8.count)
        pdf += "\(index + 1) 0 obj\n\(body)\nendobj\n"
    }
    let xref = pdf.utf8.count
    pdf += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
    for offset in offsets {
        let digits = String(offset)
        pdf += String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n"
    }
    pdf += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R /Info \(info) 0 R\(trailerExtras) >>\n"
    pdf += "startxref\n\(xref)\n%%EOF\n"
    return Data(pdf.utf8)
}

/// A ZIP archive in memory holding `files` (path → contents), deflated.
private func makeZIP(_ files: [(String, String)]) throws -> Data {
    let archive = try Archive(accessMode: .create)
    for (path, contents) in files {
        let data = Data(contents.utf8)
        try archive.addEntry(
            with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
        ) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }
    return try #require(archive.data)
}

private let wordNamespace = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

private func paragraph(_ runs: String...) -> String {
    "<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>"
        + runs.map { "<w:r><w:t xml:space=\"preserve\">\($0)</w:t></w:r>" }.joined() + "</w:p>"
}

private func table(_ rows: [[String]]) -> String {
    let body = rows.map { row in
        "<w:tr>" + row.map { "<w:tc><w:tcPr/>\(paragraph($0))</w:tc>" }.joined() + "</w:tr>"
    }
    return "<w:tbl><w:tblPr/>\(body.joined())</w:tbl>"
}

/// A minimal DOCX: content types, the main document with `body`, and core properties with `title`.
private func makeDOCX(body: String, title: String? = "Service agreement") throws -> Data {
    var files = [
        (
            "[Content_Types].xml",
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
            <Default Extension="xml" ContentType="application/xml"/>
            <Override PartName="/word/document.xml" \
            ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
            </Types>
            """
        ),
        (
            "word/document.xml",
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <w:document xmlns:w="\(wordNamespace)"><w:body>\(body)<w:sectPr/></w:body></w:document>
            """
        ),
    ]
    if let title {
        files.append(
            (
                "docProps/core.xml",
                """
                <?xml version="1.0" encoding="UTF-8"?>
                <cp:coreProperties \
                xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
                xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>\(title)</dc:title>\
                <dc:creator>Legal</dc:creator></cp:coreProperties>
                """
            )
        )
    }
    return try makeZIP(files)
}

/// A deterministic generator, so a failing fuzz case can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func parse(
    _ data: Data, as fileType: String? = nil, url: String? = nil
) throws(DocumentError) -> ParsedDocument {
    try DocumentParser.parse(data, fileType: fileType, url: url, documentID: "doc-1")
}

private func parseError(_ data: Data, as fileType: String? = nil, url: String? = nil) -> DocumentError? {
    do {
        _ = try parse(data, as: fileType, url: url)
        return nil
    } catch {
        return error
    }
}

// MARK: - PDF

@Suite struct PDFDocumentTests {
    @Test func readsEachPageInOrderWithTheInfoTitle() throws {
        let document = try parse(makePDF(pages: ["Hello page one", "Hello page two"], title: "Quarterly report"))
        #expect(document.fileType == "pdf")
        #expect(document.pages.map(\.number) == [1, 2])
        #expect(document.pages.map(\.text) == ["Hello page one", "Hello page two"])
        #expect(document.text == "Hello page one\n\nHello page two")
        #expect(document.title == "Quarterly report")
    }

    @Test func truncatedPDFFailsAsDamaged() {
        let pdf = makePDF(pages: ["Hello page one"], title: "Cut short")
        let error = parseError(pdf.prefix(60), as: "pdf")
        #expect(error?.message.hasPrefix("the PDF is damaged: ") == true, "\(String(describing: error))")
    }

    @Test func garbageAfterTheHeaderFailsAsDamaged() {
        let error = parseError(Data("%PDF-1.7\n\u{1}\u{2} this is not a PDF at all \u{7f}".utf8))
        #expect(error?.message.hasPrefix("the PDF is damaged: ") == true, "\(String(describing: error))")
    }

    @Test func encryptedPDFFailsAsEncrypted() {
        let pdf = makePDF(pages: ["Secret"], title: "Locked", encrypted: true)
        #expect(parseError(pdf) == DocumentError("the PDF is encrypted"))
    }
}

// MARK: - DOCX

@Suite struct DOCXDocumentTests {
    @Test func readsParagraphsAndTableRowsInDocumentOrderWithTheCoreTitle() throws {
        let body =
            paragraph("This agreement ", "starts today.") + table([["Party", "Role"], ["Acme", "Supplier"]])
            + paragraph("Signed.")
        let document = try parse(makeDOCX(body: body))
        #expect(document.fileType == "docx")
        #expect(document.text == "This agreement starts today.\nParty | Role\nAcme | Supplier\nSigned.")
        #expect(document.pages == [ParsedDocument.Page(number: 1, text: document.text)])
        #expect(document.title == "Service agreement")
    }

    @Test func keepsTabsAndBreaksInsideRuns() throws {
        let body = "<w:p><w:r><w:t>Total</w:t><w:tab/><w:t>12</w:t><w:br/><w:t>due</w:t></w:r></w:p>"
        let document = try parse(makeDOCX(body: body, title: nil))
        #expect(document.text == "Total\t12\ndue")
        #expect(document.title == nil)
    }

    @Test func archiveWithoutDocumentXMLFailsAsDamaged() throws {
        let zip = try makeZIP([("word/other.xml", "<x/>")])
        #expect(parseError(zip, as: "docx") == DocumentError("the DOCX file is damaged: word/document.xml is missing"))
    }

    @Test func bytesThatAreNotAZIPFailAsDamaged() {
        let error = parseError(Data("plainly not a zip".utf8), as: "docx")
        #expect(error?.message.hasPrefix("the DOCX file is damaged: ") == true, "\(String(describing: error))")
    }

    @Test func truncatedStreamsAndOutOfBoundsOffsetsFailAsDamaged() throws {
        let docx = [UInt8](try makeDOCX(body: paragraph("Hello")))
        let header = try #require(
            docx.indices.first { index in
                docx[index...].starts(with: [0x50, 0x4B, 0x01, 0x02])
                    && docx[(index + 46)...].starts(with: Array("word/document.xml".utf8))
            }
        )
        var truncated = docx
        truncated.replaceSubrange(header + 20..<header + 24, with: [4, 0, 0, 0])  // compressed size
        let truncatedError = parseError(Data(truncated), as: "docx")
        #expect(truncatedError?.message.hasPrefix("the DOCX file is damaged: ") == true)
        var pastTheEnd = docx
        pastTheEnd.replaceSubrange(header + 42..<header + 46, with: [0, 0xFF, 0xFF, 0x7F])  // local header offset
        let offsetError = parseError(Data(pastTheEnd), as: "docx")
        #expect(offsetError?.message.hasPrefix("the DOCX file is damaged: ") == true)
    }

    @Test func passwordProtectedWordFileFailsClearly() {
        let compoundFile = Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 504))
        let error = parseError(compoundFile, as: "docx")
        #expect(error?.message.contains("password-protected") == true, "\(String(describing: error))")
    }

    @Test func malformedDocumentXMLFailsAsDamaged() throws {
        let zip = try makeZIP([("word/document.xml", "<w:document><w:body><w:p>")])
        let error = parseError(zip, as: "docx")
        #expect(error?.message.hasPrefix("the DOCX file is damaged: ") == true, "\(String(describing: error))")
    }
}

// MARK: - HTML

@Suite struct HTMLDocumentTests {
    @Test func dropsScriptsStylesAndTheHeadButKeepsTheTitle() throws {
        let html = """
            <!DOCTYPE html>
            <html><head><title>Invoice  &amp; terms</title><style>p { color: red }</style>
            <script>var x = "<p>not text</p>";</script></head>
            <body><h1>Invoice</h1><p>Due   in
            30 days.</p><script type="text/javascript">alert('<b>')</script><!-- a comment --></body></html>
            """
        let document = try parse(Data(html.utf8))
        #expect(document.fileType == "html")
        #expect(document.text == "Invoice\nDue in 30 days.")
        #expect(document.title == "Invoice & terms")
    }

    @Test func decodesNamedAndNumericEntities() throws {
        let html =
            "<p>Fish &amp; chips, caf&eacute;, 12&#8364; or 12&#x20AC;, &lt;tag&gt; &quot;q&quot; &copy; &bogus;</p>"
        let document = try parse(Data(html.utf8), as: "text/html")
        #expect(document.text == "Fish & chips, café, 12€ or 12€, <tag> \"q\" © &bogus;")
    }

    @Test func tableRowsBecomeLinesOfCellsJoinedByBars() throws {
        let html = """
            <table><tr><th>Item</th><th>Price</th></tr>
            <tr><td>Widget</td><td>9.99</td></tr><tr><td><p>Gadget</p><br>XL</td><td>19&nbsp;USD</td></tr></table>
            <ul><li>one</li><li>two</li></ul>
            """
        let document = try parse(Data(html.utf8), as: "htm")
        #expect(document.text == "Item | Price\nWidget | 9.99\nGadget XL | 19 USD\none\ntwo")
    }

    @Test func toleratesUnclosedTagsAndStrayBrackets() throws {
        let document = try parse(Data("<p>a < b and c<d</p><div class=\"x>y\">e<script>never closed".utf8), as: "html")
        #expect(document.text == "a < b and c\ne")
    }
}

// MARK: - Text, Markdown, CSV, JSON

@Suite struct TextDocumentTests {
    @Test func textAndMarkdownKeepTheirTextAsIs() throws {
        let markdown = "# Title\n\n* item   one\n"
        let document = try parse(Data(markdown.utf8), as: "md")
        #expect(document.fileType == "markdown")
        #expect(document.text == markdown)
        #expect(document.pages == [ParsedDocument.Page(number: 1, text: markdown)])
        #expect(try parse(Data("plain".utf8), as: "TXT").fileType == "text")
    }

    @Test func textThatIsNotUTF8IsReadAsLatin1() throws {
        let document = try parse(Data([0x63, 0x61, 0x66, 0xE9]), as: "text/plain; charset=iso-8859-1")
        #expect(document.text == "café")
    }

    @Test func csvHandlesQuotedCommasDoubledQuotesAndLineBreaks() throws {
        let csv = "name,note,amount\r\n\"Smith, J\",\"said \"\"hi\"\"\",12\r\n\r\nLee,\"two\nlines\",3\n"
        let document = try parse(Data(csv.utf8), as: "csv")
        #expect(document.text == "name | note | amount\nSmith, J | said \"hi\" | 12\nLee | two lines | 3")
    }

    @Test func csvWithSemicolonsUsesThem() throws {
        let document = try parse(Data("a;b\n1;2".utf8), url: "file:///srv/export.csv")
        #expect(document.text == "a | b\n1 | 2")
    }

    @Test func jsonIsPrettyPrinted() throws {
        let document = try parse(Data(#"{"b":[1,2],"a":"x"}"#.utf8))
        #expect(document.fileType == "json")
        #expect(document.text == "{\n  \"a\" : \"x\",\n  \"b\" : [\n    1,\n    2\n  ]\n}")
    }

    @Test func declaredJSONThatDoesNotParseFails() {
        let error = parseError(Data("{nope".utf8), as: "application/json")
        #expect(error?.message.hasPrefix("the JSON document is invalid: ") == true, "\(String(describing: error))")
    }
}

// MARK: - Detection and output

@Suite struct DocumentDetectionTests {
    @Test func declaredTypeWinsOverContentAndURL() {
        #expect(DocumentParser.detectType(Data("<html></html>".utf8), declared: "TXT", url: "a.pdf") == "text")
        #expect(DocumentParser.detectType(Data(), declared: "application/pdf", url: nil) == "pdf")
        #expect(
            DocumentParser.detectType(
                Data(), declared: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", url: nil
            ) == "docx"
        )
    }

    @Test func magicBytesWinOverTheURLExtension() throws {
        let pdf = makePDF(pages: ["x"], title: "t")
        #expect(DocumentParser.detectType(pdf, declared: nil, url: "https://example.test/file.html") == "pdf")
        #expect(DocumentParser.detectType(pdf, declared: "application/octet-stream", url: nil) == "pdf")
        let docx = try makeDOCX(body: paragraph("x"))
        #expect(DocumentParser.detectType(docx, declared: nil, url: "report.txt") == "docx")
        let html = Data("\u{FEFF}  <!doctype HTML><p>x".utf8)
        #expect(DocumentParser.detectType(html, declared: nil, url: "x.md") == "html")
        #expect(DocumentParser.detectType(Data(" [1, 2]".utf8), declared: nil, url: "x.txt") == "json")
    }

    @Test func urlExtensionDecidesWhenTheContentShowsNothing() {
        let text = Data("a,b\n1,2".utf8)
        #expect(DocumentParser.detectType(text, declared: nil, url: "https://x.test/data.CSV?download=1#top") == "csv")
        #expect(DocumentParser.detectType(text, declared: nil, url: "/srv/notes.markdown") == "markdown")
        #expect(DocumentParser.detectType(Data("{not json".utf8), declared: nil, url: "x.json") == "json")
        #expect(DocumentParser.detectType(text, declared: nil, url: "https://x.test/raw") == "text")
    }

    @Test func binaryWithoutAKnownTypeIsUnsupported() throws {
        let binary = Data([0x00, 0xFF, 0x10, 0x80, 0x00, 0x7F])
        #expect(DocumentParser.detectType(binary, declared: nil, url: "blob.bin") == nil)
        #expect(parseError(binary, as: "xlsx") == DocumentError("unsupported file type"))
        let otherZip = try makeZIP([("xl/workbook.xml", "<workbook/>")])
        #expect(parseError(otherZip, url: "book.xlsx") == DocumentError("unsupported file type"))
    }

    @Test func jsonOutputHasTheContractShape() throws {
        let document = try parse(Data("hello".utf8), as: "txt")
        #expect(
            document.json() == [
                "document_id": "doc-1", "file_type": "text", "text": "hello",
                "pages": [["number": 1, "text": "hello"]],
                "metadata": ["page_count": 1, "bytes": 5, "title": nil],
            ]
        )
    }
}

// MARK: - Garbage never crashes

@Suite struct DocumentFuzzTests {
    @Test(arguments: ["pdf", "docx", "html", "csv", "json", nil])
    func randomBytesFailOrParseButNeverCrash(fileType: String?) {
        var random = SplitMix64(state: 0xD0C_F10E)
        for round in 0..<150 {
            let count = Int.random(in: 0...2048, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Let some rounds get past the magic-byte checks.
            if round % 3 == 0 { bytes = Array("%PDF-1.4\n".utf8) + bytes }
            if round % 3 == 1 { bytes = [0x50, 0x4B, 0x03, 0x04] + bytes + Array("word/document.xml".utf8) }
            _ = try? parse(Data(bytes), as: fileType)
        }
    }

    @Test func mutatedValidDocumentsFailOrParseButNeverCrash() throws {
        var random = SplitMix64(state: 42)
        let originals = [
            makePDF(pages: ["Hello page one", "Hello page two"], title: "Fuzz"),
            try makeDOCX(body: paragraph("Hello") + table([["a", "b"], ["c", "d"]])),
            Data("<html><head><title>t</title></head><body><table><tr><td>a&amp;b</td></tr></table>".utf8),
        ]
        for original in originals {
            for _ in 0..<100 {
                var bytes = [UInt8](original)
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
                _ = try? parse(Data(bytes))
            }
        }
    }
}
