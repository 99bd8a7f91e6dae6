import Foundation

/// The formats docflow reads, named as `file_type` reports them.
enum DocumentFormat: String, Sendable, CaseIterable {
    case pdf, docx, html, text, markdown, csv, json

    /// A declared type: a name (`pdf`, `.htm`, `Markdown`) or a MIME type (`application/pdf`,
    /// `text/html; charset=utf-8`). Unknown or generic declarations (`application/octet-stream`) give nil.
    init?(declared: String) {
        var name = declared.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if let semicolon = name.firstIndex(of: ";") {
            name = String(name[..<semicolon]).trimmingCharacters(in: .whitespaces)
        }
        if name.hasPrefix(".") { name.removeFirst() }
        if let format = Self.mimeTypes[name] ?? Self.extensions[name] {
            self = format
        } else if name.hasPrefix("application/"), name.hasSuffix("+json") {
            self = .json
        } else {
            return nil
        }
    }

    /// The format a URL's (or path's) file extension names, ignoring any query or fragment.
    init?(url: String) {
        var path = Substring(url)
        if let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<end] }
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? path
        guard let dot = name.lastIndex(of: "."),
            let format = Self.extensions[name[name.index(after: dot)...].lowercased()]
        else { return nil }
        self = format
    }

    private static let extensions: [String: DocumentFormat] = [
        "pdf": .pdf,
        "docx": .docx,
        "html": .html, "htm": .html, "xhtml": .html,
        "txt": .text, "text": .text,
        "md": .markdown, "markdown": .markdown,
        "csv": .csv,
        "json": .json,
    ]

    private static let mimeTypes: [String: DocumentFormat] = [
        "application/pdf": .pdf, "application/x-pdf": .pdf,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": .docx,
        "text/html": .html, "application/xhtml+xml": .html,
        "text/plain": .text,
        "text/markdown": .markdown, "text/x-markdown": .markdown,
        "text/csv": .csv, "application/csv": .csv, "text/comma-separated-values": .csv,
        "application/json": .json, "text/json": .json,
    ]
}
