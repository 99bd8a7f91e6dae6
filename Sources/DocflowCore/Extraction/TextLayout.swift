import Foundation

/// Every label of a schema in one matcher, longest label first, so the most specific label wins where labels
/// overlap: "Due Date" over "Date", "Invoice Date" over "Invoice", "Total Tax" over "Total".
///
/// A label matches case-insensitively at the start of a line (after bullets, `#`, `>` and `**`), ends at a word
/// boundary, and reads a space as optional spacing, dash, underscore or dot ("Sub Total" matches "Subtotal" and
/// "Sub-total"; "Inv No" matches "Inv. No").
struct LabelIndex: Sendable {
    struct Entry: Sendable {
        let field: Int
        let label: String
    }

    let entries: [Entry]
    /// All labels, each in its own capture group (group n + 1 is `entries[n]`); used anchored.
    private let start: TextPattern?
    /// A label, its suffix and a colon after a space or pipe: where a second field starts inside a line.
    private let inline: TextPattern?

    /// What may follow a label before its separator: a dot ("No."), a parenthesis ("(USD)", "(8.25%)") or a
    /// rate ("20%", "@ 20%").
    static let suffix = TextPattern(#"\.?(?:\s*\([^)\n]{0,40}\)|\s*@?\s*\d{1,3}(?:[.,]\d{1,3})?\s*%)*"#)
    private static let inlineSuffix = #"\.?(?:\s*\([^)\n]{0,40}\)|\s*@?\s*\d{1,3}(?:[.,]\d{1,3})?\s*%)*"#

    init(schema: ExtractionSchema) {
        var collected: [Entry] = []
        for (index, field) in schema.fields.enumerated() {
            var seen = Set<String>()
            for label in field.labels + [field.name.replacingOccurrences(of: "_", with: " ")] {
                let trimmed = label.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty, seen.insert(trimmed.lowercased()).inserted else { continue }
                collected.append(Entry(field: index, label: trimmed))
            }
        }
        // Longest first; equal lengths keep schema order.
        entries = collected.enumerated()
            .sorted {
                $0.element.label.count != $1.element.label.count
                    ? $0.element.label.count > $1.element.label.count : $0.offset < $1.offset
            }
            .map(\.element)
        let patterns = entries.map { Self.pattern(for: $0.label) }
        guard !patterns.isEmpty else {
            start = nil
            inline = nil
            return
        }
        let grouped = patterns.map { "(" + $0 + ")" }.joined(separator: "|")
        let plain = patterns.joined(separator: "|")
        start = (try? NSRegularExpression(pattern: "(?:" + grouped + ")", options: [.caseInsensitive]))
            .map(TextPattern.init(regex:))
        inline =
            (try? NSRegularExpression(
                pattern: #"(?<=[\s|])(?:"# + plain + ")" + Self.inlineSuffix + #"[ \t]*[:：]"#,
                options: [.caseInsensitive]))
            .map(TextPattern.init(regex:))
    }

    static func pattern(for label: String) -> String {
        var pattern = ""
        var pendingSpace = false
        for character in label {
            if character.isWhitespace {
                pendingSpace = true
                continue
            }
            if pendingSpace {
                pattern += #"\.?[\s\-_]*"#
                pendingSpace = false
            }
            pattern += character == "-" ? #"[\s\-]*"# : NSRegularExpression.escapedPattern(for: String(character))
        }
        if let last = label.last, last.isLetter || last.isNumber { pattern += #"(?![\p{L}\p{N}])"# }
        return pattern
    }

    /// The longest label at the start of `text` and where it ends.
    func label(atStartOf text: String) -> (entry: Entry, end: String.Index)? {
        guard let match = start?.firstMatch(in: text, anchored: true) else { return nil }
        for group in 1...match.groupCount where match.groups[group] != nil {
            return (entries[group - 1], match.range.upperBound)
        }
        return nil
    }

    /// The label-and-colon matches inside `text` from `index` on.
    func inlineLabels(in text: String, from index: String.Index) -> [TextMatch] {
        inline?.matches(in: text, from: index) ?? []
    }
}

/// How a label is followed on its line.
enum LabelForm: Equatable {
    /// "Label: value" (also "Invoice # value", "Invoice No. value").
    case sameLine(String)
    /// The label alone ("Label" or "Label:"): the value is on the next non-empty line.
    case alone
    /// "Label<tab or 2+ spaces or dot leaders>value": a key/value row of a plain-text table.
    case spaced(String)
    /// Followed by other words: not a label here ("Invoice Total Summary").
    case other
}

/// A label found at the start of a segment or table cell.
struct LabelHit {
    let field: Int
    let label: String
    let form: LabelForm
    /// The currency the label's suffix names: "Total (EUR)".
    let currency: DetectedCurrency?
}

/// A part of a line that starts a field of its own: "Invoice #: 1   Date: 2024-01-15" is two segments.
struct LayoutSegment {
    let text: String
    let hit: LabelHit?
}

/// One line of the text as the finder reads it.
struct LayoutLine {
    /// The line without leading bullets and spaces, trailing spaces and `**`.
    let text: String
    var isBlank: Bool { text.isEmpty }
    /// The cells of a `| a | b |` row.
    var cells: [String]?
    /// A `|---|---|` row.
    var isRule = false
    var segments: [LayoutSegment] = []
    /// For a column header row (a pipe-table header, or a plain row whose every 2+-space-separated cell is a
    /// label): the label of each cell.
    var headerHits: [LabelHit?]?
    /// The label of a pipe row's first non-empty cell when that cell holds only a label.
    var rowHit: LabelHit?

    /// A line that introduces a field rather than holding a value.
    var isLabelLine: Bool {
        if headerHits != nil || rowHit != nil { return true }
        guard let hit = segments.first?.hit else { return false }
        return hit.form != .other
    }
}

/// The text split into lines, segments and table cells, with the schema's labels located.
struct TextLayout {
    let text: String
    let lines: [LayoutLine]
    let labels: LabelIndex

    private static let decoration = TextPattern(#"^\s*(?:(?:[•·▪►‣◦*>#]+|[-–—](?=\s))\s*)*"#)
    private static let gap = TextPattern(#"\t|[ \u00A0]{3,}"#)
    private static let columnGap = TextPattern(#"\t|[ \u00A0]{2,}"#)
    private static let rule = TextPattern(#"^\s*:?-{2,}:?\s*$"#)
    private static let colon = TextPattern(#"\s*[:：]\s*(.*)"#)
    private static let spacedValue = TextPattern(#"(?:\t|[ \u00A0]{2,}|\s*\.{3,})\s*(\S.*)"#)

    init(_ text: String, labels: LabelIndex) {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n")
            .replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\u{0C}", with: "\n")
            .replacingOccurrences(of: "\u{2028}", with: "\n")
        self.text = normalised
        self.labels = labels
        var lines: [LayoutLine] = normalised.components(separatedBy: "\n").map {
            Self.read($0, labels: labels)
        }
        // A pipe row followed by a rule is a header: its cells name columns, and it is no key/value row.
        for index in lines.indices where lines[index].cells != nil && !lines[index].isRule {
            guard index + 1 < lines.count, lines[index + 1].isRule else { continue }
            lines[index].rowHit = nil
            lines[index].headerHits = lines[index].cells?.map { Self.cellHit($0, labels: labels) }
        }
        self.lines = lines
    }

    private static func read(_ raw: String, labels: LabelIndex) -> LayoutLine {
        var line = raw.replacingOccurrences(of: "**", with: "")
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("|") {
            var cells = trimmed.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            cells.removeFirst()
            if cells.last?.isEmpty == true { cells.removeLast() }
            var row = LayoutLine(text: trimmed, cells: cells)
            row.isRule = !cells.isEmpty && cells.allSatisfy { rule.firstMatch(in: $0) != nil }
            if !row.isRule, let first = cells.first(where: { !$0.isEmpty }) {
                row.rowHit = cellHit(first, labels: labels)
                // "| Invoice #: INV-1 | Date: 2024-01-15 |": each cell may hold a label and its value.
                row.segments = cells.filter { !$0.isEmpty }.map {
                    LayoutSegment(text: $0, hit: classify($0, labels: labels))
                }
            }
            return row
        }
        if let match = decoration.firstMatch(in: line) { line.removeSubrange(match.range) }
        line = line.trimmingCharacters(in: .whitespaces)
        var result = LayoutLine(text: line)
        guard !line.isEmpty else { return result }
        let columns = split(line, by: columnGap)
        if columns.count >= 2 {
            let hits = columns.map { cellHit($0, labels: labels) }
            if hits.allSatisfy({ $0 != nil }) {
                result.headerHits = hits
                return result
            }
        }
        result.segments = segments(of: line, labels: labels).map {
            LayoutSegment(text: $0, hit: classify($0, labels: labels))
        }
        return result
    }

    /// Splits a line where a second label with a colon starts: after any space when the line itself starts
    /// with a label, else only after a tab, two spaces or a pipe.
    private static func segments(of line: String, labels: LabelIndex) -> [String] {
        var result: [String] = []
        var current = line
        while true {
            let leading = labels.label(atStartOf: current)
            let from = leading?.end ?? current.startIndex
            let next = labels.inlineLabels(in: current, from: from).first { match in
                if leading != nil { return true }
                let before = current[..<match.range.lowerBound]
                return before.hasSuffix("  ") || before.hasSuffix("\t") || before.hasSuffix("|")
                    || before.hasSuffix("| ")
            }
            guard let next else {
                result.append(current)
                return result
            }
            let head = current[..<next.range.lowerBound].trimmingCharacters(in: CharacterSet(charactersIn: " \t|"))
            if !head.isEmpty { result.append(head) }
            current = String(current[next.range.lowerBound...])
        }
    }

    /// The label at the start of a segment and what follows it.
    static func classify(_ text: String, labels: LabelIndex) -> LabelHit? {
        guard let (entry, labelEnd) = labels.label(atStartOf: text) else { return nil }
        var end = labelEnd
        var currency: DetectedCurrency?
        var dotted = false
        if let suffix = LabelIndex.suffix.firstMatch(in: text, from: labelEnd, anchored: true) {
            dotted = suffix.matched.hasPrefix(".")
            currency = CurrencyReader.first(in: suffix.matched)
            end = suffix.range.upperBound
        }
        let rest = String(text[end...])
        let form: LabelForm
        if let match = colon.firstMatch(in: rest, anchored: true) {
            let value = cut(match[1] ?? "")
            form = value.isEmpty || value.hasSuffix(":") ? .alone : .sameLine(value)
        } else if let match = spacedValue.firstMatch(in: rest, anchored: true) {
            form = .spaced(cut(match[1] ?? ""))
        } else if rest.trimmingCharacters(in: .whitespaces).isEmpty {
            form = .alone
        } else if Self.endsWithNumberSign(entry.label, dotted: dotted),
            rest.first.map({ $0.isWhitespace || entry.label.hasSuffix("#") }) == true
        {
            form = .sameLine(cut(rest))
        } else {
            form = .other
        }
        return LabelHit(field: entry.field, label: entry.label, form: form, currency: currency)
    }

    /// A table cell that holds a label and nothing else (a trailing colon allowed).
    static func cellHit(_ cell: String, labels: LabelIndex) -> LabelHit? {
        guard let hit = classify(cell, labels: labels), hit.form == .alone else { return nil }
        return hit
    }

    /// "Invoice #", "Invoice No.", "Rechnung Nr.": labels a value may follow after a plain space.
    private static func endsWithNumberSign(_ label: String, dotted: Bool) -> Bool {
        let lower = label.lowercased()
        if lower.hasSuffix("#") || lower.hasSuffix("n°") || lower.hasSuffix("nº") { return true }
        let lastWord = lower.split(whereSeparator: { $0 == " " || $0 == "-" }).last.map(String.init) ?? lower
        return dotted && ["no", "nr", "num"].contains(lastWord)
    }

    /// The text up to the first column gap (a tab or three spaces), trimmed.
    static func cut(_ value: String) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard let match = gap.firstMatch(in: trimmed) else { return trimmed }
        return String(trimmed[..<match.range.lowerBound]).trimmingCharacters(in: .whitespaces)
    }

    static func split(_ line: String, by pattern: TextPattern) -> [String] {
        var parts: [String] = []
        var start = line.startIndex
        for match in pattern.matches(in: line) {
            parts.append(String(line[start..<match.range.lowerBound]))
            start = match.range.upperBound
        }
        parts.append(String(line[start...]))
        return parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Cells of a plain row separated by tabs or two spaces or more.
    static func columns(of line: String) -> [String] {
        split(line, by: columnGap)
    }
}
