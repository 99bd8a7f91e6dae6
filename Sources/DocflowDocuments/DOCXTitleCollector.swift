import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An `XMLParser` delegate that collects the first Dublin Core title (`dc:title`) of a DOCX
/// `docProps/core.xml` part.
final class DOCXTitleCollector: NSObject, XMLParserDelegate {
    private static let dublinCore = "http://purl.org/dc/elements/1.1/"
    private var depth = 0
    private var finished = false
    private(set) var title = ""

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        guard !finished else { return }
        if depth > 0 || (elementName == "title" && namespaceURI == Self.dublinCore) { depth += 1 }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard depth > 0 else { return }
        depth -= 1
        if depth == 0 { finished = true }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if depth > 0 { title += string }
    }
}
