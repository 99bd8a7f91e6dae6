import DocflowCore

/// A document read into plain text: what the `parse` step outputs. Pages are numbered from 1 and
/// there is always at least one; formats without pages (everything but PDF) have exactly one.
public struct ParsedDocument: Sendable, Equatable {
    public var documentID: String?
    /// The format the document was read as: pdf, docx, html, text, markdown, csv or json.
    public var fileType: String
    /// The whole document's text; for PDFs, the pages' texts separated by a blank line.
    public var text: String
    public var pages: [Page]
    public var title: String?
    /// The size of the input in bytes.
    public var bytes: Int

    /// One page of a document and its text in reading order.
    public struct Page: Sendable, Equatable {
        public var number: Int
        public var text: String

        public init(number: Int, text: String) {
            self.number = number
            self.text = text
        }
    }

    public init(documentID: String?, fileType: String, text: String, pages: [Page], title: String?, bytes: Int) {
        self.documentID = documentID
        self.fileType = fileType
        self.text = text
        self.pages = pages
        self.title = title
        self.bytes = bytes
    }

    /// The step output as the contract shapes it: `{"document_id", "file_type", "text",
    /// "pages": [{"number", "text"}], "metadata": {"page_count", "bytes", "title"}}`; absent values are null.
    public func json() -> JSONValue {
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
