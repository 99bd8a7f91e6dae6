import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An `XMLParser` delegate (namespace processing on) that turns `word/document.xml` into lines in
/// document order: each paragraph is a line of its runs' text (tabs and breaks kept), each table
/// row a line of its cells joined by " | ". A cell's paragraphs and nested tables join with spaces.
/// Deleted text, field codes and the fallback copies of alternate content are left out.
final class DOCXBodyCollector: NSObject, XMLParserDelegate {
    private static let wordNamespaces: Set<String> = [
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",
    ]
    private static let markupCompatibility = "http://schemas.openxmlformats.org/markup-compatibility/2006"

    private var lines: [String] = []
    /// Open paragraphs, innermost last: a text box's paragraphs sit inside a run of another.
    private var paragraphs: [String] = []
    private var tables: [Table] = []
    private var runDepth = 0
    private var inText = false
    private var fallbackDepth = 0
    private var elementDepth = 0
    private var sawRoot = false

    private struct Table {
        var cells: [String] = []
        /// The open cell's paragraphs, nil between cells.
        var cell: [String]?
    }

    /// Whether the document had a root element and closed every element it opened.
    var isComplete: Bool { sawRoot && elementDepth == 0 }

    var text: String {
        lines.joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        sawRoot = true
        elementDepth += 1
        if fallbackDepth > 0 || (namespaceURI == Self.markupCompatibility && elementName == "Fallback") {
            fallbackDepth += 1
            return
        }
        guard let namespaceURI, Self.wordNamespaces.contains(namespaceURI) else { return }
        switch elementName {
        case "p": paragraphs.append("")
        case "r": runDepth += 1
        case "t": inText = runDepth > 0
        // Outside a run, w:tab is a tab stop definition in the paragraph's properties.
        case "tab" where runDepth > 0: appendToParagraph("\t")
        case "br" where runDepth > 0, "cr" where runDepth > 0: appendToParagraph("\n")
        case "tbl": tables.append(Table())
        case "tr": if !tables.isEmpty { tables[tables.count - 1].cells = [] }
        case "tc": if !tables.isEmpty { tables[tables.count - 1].cell = [] }
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        elementDepth -= 1
        if fallbackDepth > 0 {
            fallbackDepth -= 1
            return
        }
        guard let namespaceURI, Self.wordNamespaces.contains(namespaceURI) else { return }
        switch elementName {
        case "p":
            if let paragraph = paragraphs.popLast() { emit(paragraph, tableLevel: tables.count) }
        case "r": runDepth = max(0, runDepth - 1)
        case "t": inText = false
        case "tc":
            guard var table = tables.popLast() else { return }
            // A break inside a cell would split its row's line.
            let cell = (table.cell ?? []).filter { !$0.isEmpty }.joined(separator: " ")
            table.cells.append(cell.replacingOccurrences(of: "\n", with: " "))
            table.cell = nil
            tables.append(table)
        case "tr":
            guard let table = tables.last else { return }
            emit(table.cells.joined(separator: " | "), tableLevel: tables.count - 1)
            tables[tables.count - 1].cells = []
        case "tbl": _ = tables.popLast()
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText, fallbackDepth == 0 { appendToParagraph(string) }
    }

    private func appendToParagraph(_ string: String) {
        guard !paragraphs.isEmpty else { return }
        paragraphs[paragraphs.count - 1] += string
    }

    /// Adds a finished line to the open cell of the table at `tableLevel` (counting from 1), or to the
    /// body's lines when there is no such table or it has no open cell.
    private func emit(_ line: String, tableLevel: Int) {
        if tableLevel > 0, tableLevel <= tables.count, tables[tableLevel - 1].cell != nil {
            tables[tableLevel - 1].cell?.append(line)
        } else if !line.isEmpty || lines.last?.isEmpty == false {
            // Empty paragraphs space a page out; one blank line keeps the separation.
            lines.append(line)
        }
    }
}
