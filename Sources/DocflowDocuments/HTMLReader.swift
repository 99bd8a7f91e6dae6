/// Reads HTML into its visible text: no tags, no scripts, styles, templates or `<head>`; entities
/// decoded; block elements (paragraphs, divisions, list items, headings, rows, breaks…) start new
/// lines, and each table row is one line of its cells joined by " | ". Runs of whitespace collapse
/// to one space and empty lines are dropped. The first `<title>` is the title. Tolerates any
/// malformed markup.
enum HTMLReader {
    static func read(_ html: String) -> (text: String, title: String?) {
        var reader = Scanner(bytes: Array(html.utf8))
        reader.run()
        return (lines(reader.output), reader.title)
    }

    /// Elements whose content is never shown; skipped up to their end tag.
    private static let hidden: Set<String> = ["script", "style", "noscript", "template", "svg", "iframe", "object"]

    private static let headElements: Set<String> = [
        "title", "meta", "link", "style", "script", "base", "noscript", "template",
    ]

    private static let blocks: Set<String> = [
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
        "tfoot", "caption", "blockquote", "pre", "hr", "section", "article", "aside", "header", "footer", "nav",
        "main", "figure", "figcaption", "address", "form", "fieldset", "legend", "details", "summary", "body", "html",
        "center",
    ]

    private static func lines(_ text: String) -> String {
        text.split(separator: "\n")
            .map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            .filter { !$0.isEmpty }
            .joined(separator: "\n")
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var output = ""
        var title: String?
        var inHead = false
        var preformatted = 0
        /// The open tables, innermost last.
        var tables: [Table] = []

        struct Table {
            /// Cells seen so far in the current row.
            var cells = 0
            var inCell = false
        }

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func run() {
            var textStart = 0
            while index < bytes.count {
                guard bytes[index] == UInt8(ascii: "<"), let tag = tag(at: index) else {
                    index += 1
                    continue
                }
                appendText(bytes[textStart..<index])
                index = tag.end
                handle(tag)
                textStart = index
            }
            appendText(bytes[textStart..<bytes.count])
        }

        private mutating func appendText(_ raw: ArraySlice<UInt8>) {
            guard !raw.isEmpty, !inHead else { return }
            // Outside <pre>, a line break in the source is only whitespace; inside, it breaks the line.
            let lineBreak: UInt8 = preformatted > 0 ? 0x0A : 0x20
            let unbroken = raw.map { $0 == 0x0A || $0 == 0x0D ? lineBreak : $0 }
            output += HTMLEntities.decode(String(decoding: unbroken, as: UTF8.self))
        }

        private mutating func handle(_ tag: Tag) {
            switch tag.kind {
            case .start(let name):
                // Browsers end the head at the first element that cannot be in it.
                if inHead, !HTMLReader.headElements.contains(name) { inHead = false }
                if HTMLReader.hidden.contains(name) {
                    index = endOfElement(name).end
                    return
                }
                switch name {
                case "title":
                    let (contentEnd, end) = endOfElement(name)
                    let text = HTMLEntities.decode(String(decoding: bytes[index..<contentEnd], as: UTF8.self))
                    let collapsed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                    if title == nil, !collapsed.isEmpty { title = collapsed }
                    index = end
                case "head": inHead = true
                case "body": inHead = false
                case "br": breakLine()
                case "pre": preformatted += 1
                case "table":
                    breakLine()
                    tables.append(Table())
                case "tr":
                    output += "\n"
                    if !tables.isEmpty { tables[tables.count - 1] = Table() }
                case "td", "th":
                    if let table = tables.last {
                        if table.cells > 0 { output += " | " }
                        tables[tables.count - 1] = Table(cells: table.cells + 1, inCell: true)
                    }
                default:
                    if HTMLReader.blocks.contains(name) { breakLine() }
                }
            case .end(let name):
                switch name {
                case "head": inHead = false
                case "pre": preformatted = max(0, preformatted - 1)
                case "table":
                    _ = tables.popLast()
                    breakLine()
                case "tr": output += "\n"
                case "td", "th": if !tables.isEmpty { tables[tables.count - 1].inCell = false }
                default:
                    if HTMLReader.blocks.contains(name) { breakLine() }
                }
            case .other:
                break
            }
        }

        /// Starts a new line, except inside a table cell, whose content stays on its row's line.
        private mutating func breakLine() {
            output += tables.last?.inCell == true ? " " : "\n"
        }

        /// Where the content of a raw element ends (its end tag, or the input's end) and where the
        /// end tag itself ends.
        private func endOfElement(_ name: String) -> (contentEnd: Int, end: Int) {
            let needle = Array("</\(name)".utf8)
            var position = index
            while position + needle.count <= bytes.count {
                if bytes[position] == UInt8(ascii: "<"), matchesIgnoringCase(needle, at: position) {
                    let after = position + needle.count
                    if after == bytes.count || !isNameByte(bytes[after]) {
                        let close = bytes[after...].firstIndex(of: UInt8(ascii: ">")).map { $0 + 1 } ?? bytes.count
                        return (position, close)
                    }
                }
                position += 1
            }
            return (bytes.count, bytes.count)
        }

        private func matchesIgnoringCase(_ needle: [UInt8], at position: Int) -> Bool {
            for offset in needle.indices where lowercased(bytes[position + offset]) != needle[offset] { return false }
            return true
        }

        /// The tag starting at `start`, or nil when the `<` there is plain text.
        private func tag(at start: Int) -> Tag? {
            let next = start + 1
            guard next < bytes.count else { return nil }
            if bytes[next...].starts(with: Array("!--".utf8)) {
                let end = find(Array("-->".utf8), from: next + 3).map { $0 + 3 } ?? bytes.count
                return Tag(kind: .other, end: end)
            }
            if bytes[next] == UInt8(ascii: "!") || bytes[next] == UInt8(ascii: "?") {
                return Tag(kind: .other, end: find([UInt8(ascii: ">")], from: next).map { $0 + 1 } ?? bytes.count)
            }
            let closing = bytes[next] == UInt8(ascii: "/")
            let nameStart = closing ? next + 1 : next
            guard nameStart < bytes.count, isLetter(bytes[nameStart]) else { return nil }
            var position = nameStart
            while position < bytes.count, isNameByte(bytes[position]) { position += 1 }
            let name = String(decoding: bytes[nameStart..<position].map(lowercased), as: UTF8.self)
            // Attributes may hold a quoted ">".
            var quote: UInt8?
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                if let open = quote {
                    if byte == open { quote = nil }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: ">") {
                    break
                }
            }
            return Tag(kind: closing ? .end(name) : .start(name), end: position)
        }

        private func find(_ needle: [UInt8], from start: Int) -> Int? {
            guard start < bytes.count else { return nil }
            return bytes[start...].firstRange(of: needle)?.lowerBound
        }

        private func lowercased(_ byte: UInt8) -> UInt8 {
            isLetter(byte) ? byte | 0x20 : byte
        }

        private func isLetter(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
        }

        private func isNameByte(_ byte: UInt8) -> Bool {
            isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ":")
        }
    }

    private struct Tag {
        enum Kind {
            case start(String)
            case end(String)
            case other
        }

        let kind: Kind
        let end: Int
    }
}
