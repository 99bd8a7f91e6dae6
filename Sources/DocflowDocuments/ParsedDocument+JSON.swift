import DocflowCore

extension ParsedDocument {
    /// The document `json()` gave, or nil when `json` is not shaped so.
    package init?(json: JSONValue) {
        guard let fileType = json["file_type"]?.stringValue, let text = json["text"]?.stringValue,
            let pages = json["pages"]?.arrayValue, let bytes = json["metadata"]?["bytes"]?.intValue
        else { return nil }
        var read: [Page] = []
        read.reserveCapacity(pages.count)
        for page in pages {
            guard let number = page["number"]?.intValue, let text = page["text"]?.stringValue else { return nil }
            read.append(Page(number: number, text: text))
        }
        self.init(
            documentID: json["document_id"]?.stringValue, fileType: fileType, text: text, pages: read,
            title: json["metadata"]?["title"]?.stringValue, bytes: bytes)
    }
}
