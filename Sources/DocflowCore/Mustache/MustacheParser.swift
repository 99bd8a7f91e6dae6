/// Turns template bytes into `MustacheProgram` nodes in one forward pass, with an explicit
/// stack of open sections, so neither time nor machine stack grows with nesting.
struct MustacheParser {
    /// One tag as read, before it becomes nodes.
    private struct Tag {
        enum Kind {
            /// `escaped` is false for `{{{x}}}` and `{{&x}}`.
            case variable(MustacheProgram.Name, escaped: Bool)
            case section(String, MustacheProgram.Name, inverted: Bool)
            case close(String)
            case comment
            case delimiters(start: [UInt8], end: [UInt8])
        }

        var kind: Kind
        /// Where the start delimiter begins.
        var offset: Int
        /// Just past the end delimiter.
        var end: Int

        /// Every tag but a variable may stand alone on its line, which then leaves no trace.
        var canStandAlone: Bool {
            if case .variable = kind { return false }
            return true
        }
    }

    /// Longer delimiters would make every position of the search cost more.
    static let maxDelimiterBytes = 16

    let bytes: [UInt8]
    private(set) var nodes: [MustacheProgram.Node] = []
    private(set) var maxDepth = 0
    /// Bytes examined, counted so a test can hold parsing to linear work.
    private(set) var scannedBytes = 0
    private var open: [(node: Int, name: String, offset: Int)] = []
    private var startDelimiter = Array("{{".utf8)
    private var endDelimiter = Array("}}".utf8)

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func parse() throws(MustacheError) {
        let count = bytes.count
        var index = 0
        var textStart = 0
        var lineStart = 0
        // Only spaces and tabs, and no tag, since lineStart: a tag here may stand alone.
        var lineIsBlank = true
        while index < count {
            scannedBytes += 1
            let byte = bytes[index]
            if byte == Self.newline {
                index += 1
                lineStart = index
                lineIsBlank = true
                continue
            }
            if byte == startDelimiter[0], matches(startDelimiter, at: index) {
                let tag = try readTag(at: index)
                if tag.canStandAlone, lineIsBlank, let lineEnd = standaloneLineEnd(after: tag.end) {
                    appendText(textStart..<lineStart)
                    try apply(tag)
                    index = lineEnd
                    lineStart = lineEnd
                } else {
                    appendText(textStart..<index)
                    try apply(tag)
                    index = tag.end
                    lineIsBlank = false
                }
                textStart = index
                continue
            }
            if byte != Self.space, byte != Self.tab { lineIsBlank = false }
            index += 1
        }
        appendText(textStart..<count)
        if let last = open.last {
            throw error("the section \"\(last.name)\" is never closed", at: last.offset)
        }
    }

    // MARK: - Tags

    private mutating func readTag(at offset: Int) throws(MustacheError) -> Tag {
        let contentStart = offset + startDelimiter.count
        guard let close = find(endDelimiter, from: contentStart) else {
            throw error("the tag is never closed", at: offset)
        }
        var end = close + endDelimiter.count
        guard close > contentStart else { throw error("the tag is empty", at: offset) }
        switch bytes[contentStart] {
        case UInt8(ascii: "!"):
            return Tag(kind: .comment, offset: offset, end: end)
        case UInt8(ascii: "="):
            return Tag(kind: try readDelimiters(contentStart + 1..<close, at: offset), offset: offset, end: end)
        case UInt8(ascii: "{"):
            var nameEnd = close
            if close > contentStart + 1, bytes[close - 1] == UInt8(ascii: "}") {
                nameEnd = close - 1
            } else if end < bytes.count, bytes[end] == UInt8(ascii: "}") {
                end += 1
            } else {
                throw error("a triple mustache tag must end with }", at: offset)
            }
            return Tag(
                kind: .variable(try name(contentStart + 1..<nameEnd, at: offset).name, escaped: false), offset: offset,
                end: end)
        case UInt8(ascii: "&"):
            return Tag(
                kind: .variable(try name(contentStart + 1..<close, at: offset).name, escaped: false), offset: offset,
                end: end)
        case UInt8(ascii: "#"), UInt8(ascii: "^"):
            let (text, name) = try name(contentStart + 1..<close, at: offset)
            let inverted = bytes[contentStart] == UInt8(ascii: "^")
            return Tag(kind: .section(text, name, inverted: inverted), offset: offset, end: end)
        case UInt8(ascii: "/"):
            return Tag(kind: .close(try name(contentStart + 1..<close, at: offset).text), offset: offset, end: end)
        case UInt8(ascii: ">"):
            throw error("partials are not supported", at: offset)
        case UInt8(ascii: "<"), UInt8(ascii: "$"):
            throw error("parent templates and blocks are not supported", at: offset)
        case UInt8(ascii: "%"):
            throw error("pragmas are not supported", at: offset)
        default:
            return Tag(
                kind: .variable(try name(contentStart..<close, at: offset).name, escaped: true), offset: offset, end: end)
        }
    }

    private func name(_ range: Range<Int>, at offset: Int) throws(MustacheError) -> (
        text: String, name: MustacheProgram.Name
    ) {
        let trimmed = trimmingWhitespace(range)
        guard !trimmed.isEmpty else { throw error("the tag names nothing", at: offset) }
        for index in trimmed {
            switch bytes[index] {
            case Self.space, Self.tab, Self.newline, Self.carriageReturn:
                throw error("a name cannot contain spaces", at: offset)
            case UInt8(ascii: "("), UInt8(ascii: ")"):
                throw error("function-style names such as uppercased(x) are not supported", at: offset)
            default: break
            }
        }
        let text = String(decoding: bytes[trimmed], as: UTF8.self)
        if text == "." { return (text, .init(path: [], anchored: true)) }
        let path = text.split(separator: ".").map(String.init)
        return (text, .init(path: path, anchored: text.hasPrefix(".")))
    }

    private func readDelimiters(_ range: Range<Int>, at offset: Int) throws(MustacheError) -> Tag.Kind {
        let message =
            "a set-delimiters tag reads {{=<start> <end>=}}, each delimiter 1 to \(Self.maxDelimiterBytes) bytes without spaces or ="
        guard range.upperBound > range.lowerBound, bytes[range.upperBound - 1] == UInt8(ascii: "=") else {
            throw error(message, at: offset)
        }
        let content = trimmingWhitespace(range.lowerBound..<range.upperBound - 1)
        let isSpace: (UInt8) -> Bool = { [Self.space, Self.tab, Self.newline, Self.carriageReturn].contains($0) }
        let parts = bytes[content].split(whereSeparator: isSpace)
        guard parts.count == 2,
            parts.allSatisfy({ $0.count <= Self.maxDelimiterBytes && !$0.contains(UInt8(ascii: "=")) })
        else { throw error(message, at: offset) }
        return .delimiters(start: Array(parts[0]), end: Array(parts[1]))
    }

    private mutating func apply(_ tag: Tag) throws(MustacheError) {
        switch tag.kind {
        case .variable(let name, let escaped):
            nodes.append(.variable(name, escaped: escaped))
        case .section(let text, let name, let inverted):
            open.append((nodes.count, text, tag.offset))
            maxDepth = max(maxDepth, open.count)
            nodes.append(.section(name, inverted: inverted, end: -1))
        case .close(let text):
            guard let top = open.popLast() else {
                throw error("{{/\(text)}} closes a section that is not open", at: tag.offset)
            }
            guard top.name == text else {
                throw error("{{/\(text)}} closes a section but the open one is \"\(top.name)\"", at: tag.offset)
            }
            guard case .section(let name, let inverted, _) = nodes[top.node] else { return }
            nodes[top.node] = .section(name, inverted: inverted, end: nodes.count)
            nodes.append(.close(open: top.node))
        case .comment:
            break
        case .delimiters(let start, let end):
            startDelimiter = start
            endDelimiter = end
        }
    }

    // MARK: - Bytes

    private mutating func appendText(_ range: Range<Int>) {
        if !range.isEmpty { nodes.append(.text(range)) }
    }

    /// Where the line after a tag ends when nothing but spaces and tabs follow it (past its line
    /// break, or the end of the template); nil when something else does.
    private mutating func standaloneLineEnd(after end: Int) -> Int? {
        var index = end
        while index < bytes.count, bytes[index] == Self.space || bytes[index] == Self.tab {
            scannedBytes += 1
            index += 1
        }
        if index == bytes.count { return index }
        if bytes[index] == Self.newline { return index + 1 }
        if bytes[index] == Self.carriageReturn, index + 1 < bytes.count, bytes[index + 1] == Self.newline {
            return index + 2
        }
        return nil
    }

    private mutating func matches(_ pattern: [UInt8], at offset: Int) -> Bool {
        guard offset + pattern.count <= bytes.count else { return false }
        for (index, byte) in pattern.enumerated() {
            scannedBytes += 1
            if bytes[offset + index] != byte { return false }
        }
        return true
    }

    private mutating func find(_ pattern: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + pattern.count <= bytes.count {
            scannedBytes += 1
            if bytes[index] == pattern[0], matches(pattern, at: index) { return index }
            index += 1
        }
        return nil
    }

    private func trimmingWhitespace(_ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        let isSpace = { (byte: UInt8) in
            byte == Self.space || byte == Self.tab || byte == Self.newline || byte == Self.carriageReturn
        }
        while lower < upper, isSpace(bytes[lower]) { lower += 1 }
        while upper > lower, isSpace(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    private func error(_ message: String, at offset: Int) -> MustacheError {
        let lineStart = bytes[..<offset].lastIndex(of: Self.newline).map { $0 + 1 } ?? 0
        let line = 1 + bytes[..<offset].count(where: { $0 == Self.newline })
        let column = 1 + String(decoding: bytes[lineStart..<offset], as: UTF8.self).count
        return .syntax(message, line: line, column: column)
    }

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
}
