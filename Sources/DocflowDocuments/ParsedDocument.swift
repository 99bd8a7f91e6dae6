import DocflowCore

/// A document read into plain text: what the `parse` step outputs. Pages are numbered from 1 and
/// there is always at least one; formats without pages (everything but PDF) have exactly one.
package struct ParsedDocument: Sendable, Equatable {
    package var documentID: String?
    /// The format the document was read as: pdf, docx, html, text, markdown, csv or json.
    package var fileType: String
    /// The whole document's text; for PDFs, the pages' texts separated by a blank line.
    package var text: String
    package var pages: [Page]
    package var title: String?
    /// The size of the input in bytes.
    package var bytes: Int

    /// One page of a document and its text in reading order.
    package struct Page: Sendable, Equatable {
        package var number: Int
        package var text: String

        package init(number: Int, text: String) {
            self.number = number
            self.text = text
        }
    }

    package init(documentID: String?, fileType: String, text: String, pages: [Page], title: String?, bytes: Int) {
        self.documentID = documentID
        self.fileType = fileType
        self.text = text
        self.pages = pages
        self.title = title
        self.bytes = bytes
    }

    /// The step output as the contract shapes it: `{"document_id", "file_type", "text",
    /// "pages": [{"number", "text"}], "metadata": {"page_count", "bytes", "title"}}`; absent values are null.
    package func json() -> JSONValue {
        [
            "document_id": documentID.map(JSONValue.string) ?? .null,
            "file_type": .string(fileType),
            "text": .string(text),
            "pages": .array(pages.map { ["number": .number(Double($0.number)), "text": .string($0.text)] }),
            "metadata": [
                "page_count": .number(Double(pages.count)),
                "bytes": .number(Double(bytes)),
                "title": title.map(JSONValue.string) ?? .null,
            ],
        ]
    }
}
