import Foundation

/// Finds a schema's fields in a document's plain text and types them.
///
/// For each field, these methods are tried in order; the first that yields a value of the field's type wins,
/// with the confidence of its method:
///
/// 1. the field's own `pattern`, over the whole text (capture group 1 if the pattern has one; a `list` pattern
///    with several groups gives one item per group): 0.9;
/// 2. "Label: value" on one line (also "Invoice # value" and "Invoice No. value"): 0.95;
/// 3. the label alone on a line ("Bill To" or "Bill To:") and the value on the next non-empty line: 0.85. A
///    `list` field, or a `string` field whose name ends in `_to` or contains `address`, takes the following
///    lines up to a blank line or the next label, joined by newlines;
/// 4. tables: `| Total | $1,234.56 |` rows, "Total<tab or 2+ spaces>$1,234.56" rows, and column headers over
///    a single row of values (a pipe table with one data row, or a plain row whose every cell is a label): 0.8;
/// 5. fallbacks: the first email address in the text for an `email` field, the first phone-like number for a
///    `phone` field, the largest amount on a line with the word "total" (and no other field's label) for a
///    `money` field whose name has the word `total`, the first line when it reads as a person's name for a
///    `string` field named `name` or `*_name`, the first "N years" for a `number` field whose name contains
///    `year`: 0.5.
///
/// Within one method the candidate with the longest label wins, then the earliest. Labels match at the start
/// of a line and the longest label owns its line ("Due Date" is never read as "Date", "Subtotal" never as
/// "Total"); "Invoice #: 1   Date: 2024-01-15" holds two fields. A value after a label ends at a column gap
/// (a tab or three spaces). A `string` field named `*_number`, `*_no`, `*_id` or `*_ref` needs a digit in its
/// value, so an "INVOICE" title line is not an invoice number.
///
/// Currencies: a `money` field's currency (a symbol or ISO code before or after the amount, or in its label:
/// "Total (EUR)") goes into the schema's string field `currency` when it has one that was not found by
/// itself (the `total` field's currency first, then schema order), and into `<field>_currency` when the schema
/// has no such field or the currency differs from it. `$` reads as USD and `¥` as JPY, with a confidence of
/// at most 0.8 for the code guessed; other derived currencies take their amount's confidence. A string field
/// named `currency` is written as its ISO code when it is one ("€" and "eur" read "EUR").
public enum Extractor {
    static let patternConfidence = 0.9
    static let sameLineConfidence = 0.95
    static let nextLineConfidence = 0.85
    static let tableConfidence = 0.8
    static let fallbackConfidence = 0.5
    static let guessedCurrencyConfidence = 0.8
    /// At most this many lines make a multi-line value.
    static let maxValueLines = 12

    /// Finds every field of `schema` in `text`. A field found with confidence below `confidenceMin` counts as
    /// missing (and is left out of `fields`).
    public static func extract(_ text: String, schema: ExtractionSchema, confidenceMin: Double? = nil)
        -> ExtractionResult
    {
        let layout = TextLayout(text, labels: LabelIndex.cached(for: schema))
        var found: [Int: Finding] = [:]
        for (index, field) in schema.fields.enumerated() {
            found[index] = find(field, index: index, in: layout)
        }
        var fields: [String: JSONValue] = [:]
        var confidence: [String: Double] = [:]
        for (index, finding) in found {
            fields[schema.fields[index].name] = finding.value
            confidence[schema.fields[index].name] = finding.confidence
        }
        addCurrencies(schema: schema, found: found, fields: &fields, confidence: &confidence)

        let minimum = confidenceMin ?? 0
        for (key, value) in confidence where value < minimum {
            fields[key] = nil
            confidence[key] = nil
        }
        let missing = schema.fields.map(\.name).filter { fields[$0] == nil }
        return ExtractionResult(fields: fields, confidence: confidence, missing: missing)
    }

    // MARK: - Finding one field

    struct Finding {
        var value: JSONValue
        var confidence: Double
        var currency: DetectedCurrency?
    }

    enum RawValue {
        case text(String)
        /// Items already separated, as a list pattern's capture groups give them.
        case items([String])
    }

    struct Candidate {
        var raw: RawValue
        var labelLength: Int
        var order: Int
        var currency: DetectedCurrency?
    }

    static func find(_ field: SchemaField, index: Int, in layout: TextLayout) -> Finding? {
        if let pattern = field.pattern, let finding = findByPattern(pattern, field: field, in: layout.text) {
            return finding
        }
        let methods: [(Double, () -> [Candidate])] = [
            (sameLineConfidence, { sameLineCandidates(index, in: layout) }),
            (nextLineConfidence, { nextLineCandidates(field, index: index, in: layout) }),
            (tableConfidence, { tableCandidates(index, in: layout) }),
        ]
        for (confidence, candidates) in methods {
            let ranked = candidates().enumerated().sorted { lhs, rhs in
                if lhs.element.labelLength != rhs.element.labelLength {
                    return lhs.element.labelLength > rhs.element.labelLength
                }
                if lhs.element.order != rhs.element.order { return lhs.element.order < rhs.element.order }
                return lhs.offset < rhs.offset
            }
            for candidate in ranked.map(\.element) {
                if let (value, currency) = normalise(candidate.raw, as: field, hint: candidate.currency) {
                    return Finding(value: value, confidence: confidence, currency: currency)
                }
            }
        }
        return fallback(field, index: index, in: layout)
    }

    static func findByPattern(_ pattern: String, field: SchemaField, in text: String) -> Finding? {
        guard let compiled = fieldPattern(pattern) else { return nil }
        for match in compiled.matches(in: text) {
            let raw: RawValue
            if field.type == .list, match.groupCount > 1 {
                raw = .items((1...match.groupCount).compactMap { match[$0] })
            } else if match.groupCount >= 1 {
                guard let group = match[1] else { continue }
                raw = .text(group)
            } else {
                raw = .text(match.matched)
            }
            if let (value, currency) = normalise(raw, as: field, hint: nil) {
                return Finding(value: value, confidence: patternConfidence, currency: currency)
            }
        }
        return nil
    }

    static func sameLineCandidates(_ index: Int, in layout: TextLayout) -> [Candidate] {
        var candidates: [Candidate] = []
        for (lineIndex, line) in layout.lines.enumerated() {
            for (segmentIndex, segment) in line.segments.enumerated() {
                guard let hit = segment.hit, hit.field == index, case .sameLine(let value) = hit.form else { continue }
                candidates.append(
                    Candidate(
                        raw: .text(value), labelLength: hit.label.count, order: lineIndex * 1000 + segmentIndex,
                        currency: hit.currency))
            }
        }
        return candidates
    }

    static func nextLineCandidates(_ field: SchemaField, index: Int, in layout: TextLayout) -> [Candidate] {
        let lines = layout.lines
        var candidates: [Candidate] = []
        for (lineIndex, line) in lines.enumerated() {
            guard line.cells == nil, let hit = line.segments.first?.hit, hit.field == index, hit.form == .alone else {
                continue
            }
            var next = lineIndex + 1
            while next < lines.count, lines[next].isBlank { next += 1 }
            guard next < lines.count, lines[next].cells == nil, !lines[next].isLabelLine else { continue }
            var values = [TextLayout.cut(lines[next].text)]
            if takesSeveralLines(field) {
                var following = next + 1
                while following < lines.count, values.count < maxValueLines, !lines[following].isBlank,
                    lines[following].cells == nil, !lines[following].isLabelLine
                {
                    values.append(TextLayout.cut(lines[following].text))
                    following += 1
                }
            }
            candidates.append(
                Candidate(
                    raw: .text(values.joined(separator: "\n")), labelLength: hit.label.count, order: lineIndex * 1000,
                    currency: hit.currency))
        }
        return candidates
    }

    static func tableCandidates(_ index: Int, in layout: TextLayout) -> [Candidate] {
        let lines = layout.lines
        var candidates: [Candidate] = []
        for (lineIndex, line) in lines.enumerated() {
            // | Total | $1,234.56 |: any later non-empty cell of the row.
            if let cells = line.cells, let hit = line.rowHit, hit.field == index,
                let first = cells.firstIndex(where: { !$0.isEmpty })
            {
                for cellIndex in cells.indices where cellIndex > first && !cells[cellIndex].isEmpty {
                    candidates.append(
                        Candidate(
                            raw: .text(cells[cellIndex]), labelLength: hit.label.count,
                            order: lineIndex * 1000 + cellIndex, currency: hit.currency))
                }
            }
            // Total    $1,234.56
            for (segmentIndex, segment) in line.segments.enumerated() {
                guard let hit = segment.hit, hit.field == index, case .spaced(let value) = hit.form else { continue }
                candidates.append(
                    Candidate(
                        raw: .text(value), labelLength: hit.label.count, order: lineIndex * 1000 + segmentIndex,
                        currency: hit.currency))
            }
            // Column headers over one row of values.
            if let headers = line.headerHits, headers.contains(where: { $0?.field == index }),
                let values = columnValues(below: lineIndex, in: lines)
            {
                for (column, header) in headers.enumerated() {
                    guard let header, header.field == index, column < values.count, !values[column].isEmpty else {
                        continue
                    }
                    candidates.append(
                        Candidate(
                            raw: .text(values[column]), labelLength: header.label.count,
                            order: lineIndex * 1000 + column, currency: header.currency))
                }
            }
        }
        return candidates
    }

    /// The single row of values under a column header row, cell by cell.
    static func columnValues(below header: Int, in lines: [LayoutLine]) -> [String]? {
        guard let headers = lines[header].headerHits else { return nil }
        if lines[header].cells != nil {
            let data = header + 2
            guard data < lines.count, lines[header + 1].isRule, let cells = lines[data].cells, !lines[data].isRule
            else { return nil }
            // Only a table with one data row: a line-items table's first row is not the invoice's total.
            if data + 1 < lines.count, lines[data + 1].cells != nil { return nil }
            return cells
        }
        var next = header + 1
        while next < lines.count, lines[next].isBlank { next += 1 }
        guard next < lines.count, lines[next].cells == nil, !lines[next].isLabelLine else { return nil }
        let cells = TextLayout.columns(of: lines[next].text)
        return cells.count == headers.count ? cells : nil
    }

    /// Whether a value under a label alone may run over several lines: lists and addresses.
    static func takesSeveralLines(_ field: SchemaField) -> Bool {
        switch field.type {
        case .list: true
        case .string: field.name.hasSuffix("_to") || field.name.contains("address")
        default: false
        }
    }

    // MARK: - Fallbacks

    private static let totalWord = TextPattern(#"(?<!\p{L})total(?!\p{L})"#)
    private static let yearsPattern = TextPattern(#"(?<![\d.])(\d{1,2}(?:\.\d)?)\s*\+?\s*(?:years?|yrs?)(?!\p{L})"#)
    private static let nameWord = TextPattern(#"^\p{Lu}[\p{L}'’\-]*\.?$"#, caseInsensitive: false)
    private static let titleLines: Set<String> = ["resume", "résumé", "curriculum vitae", "cv", "profile"]

    static func fallback(_ field: SchemaField, index: Int, in layout: TextLayout) -> Finding? {
        let words = field.name.split(separator: "_")
        switch field.type {
        case .email:
            return EmailReader.first(in: layout.text).map {
                Finding(value: .string($0), confidence: fallbackConfidence)
            }
        case .phone:
            return PhoneReader.first(in: layout.text).map {
                Finding(value: .string($0), confidence: fallbackConfidence)
            }
        case .money where words.contains("total"):
            var best: (amount: Double, currency: DetectedCurrency?)?
            for line in layout.lines where totalWord.firstMatch(in: line.text) != nil && !labelsOtherField(line, index)
            {
                for amount in AmountReader.moneyAmounts(in: line.text)
                where amount.amount > (best?.amount ?? -.infinity) {
                    best = amount
                }
            }
            return best.map {
                Finding(value: .number($0.amount), confidence: fallbackConfidence, currency: $0.currency)
            }
        case .string where field.name == "name" || field.name.hasSuffix("_name"):
            for line in layout.lines where !line.isBlank {
                if titleLines.contains(line.text.lowercased()) { continue }
                guard line.cells == nil, !line.isLabelLine, isPersonName(line.text) else { return nil }
                return Finding(value: .string(line.text), confidence: fallbackConfidence)
            }
            return nil
        case .number where field.name.contains("year"):
            guard let match = yearsPattern.firstMatch(in: layout.text), let number = match[1].flatMap(Double.init)
            else {
                return nil
            }
            return Finding(value: .number(number), confidence: fallbackConfidence)
        default:
            return nil
        }
    }

    /// Whether `line` is where another field's label introduces its value ("Total Tax: $10" for the total).
    static func labelsOtherField(_ line: LayoutLine, _ index: Int) -> Bool {
        if let hit = line.rowHit, hit.field != index { return true }
        if line.headerHits != nil { return true }
        return line.segments.contains { segment in
            guard let hit = segment.hit else { return false }
            return hit.field != index && hit.form != .other
        }
    }

    /// Two to five capitalised words of letters ("Jane Q. Doe", "JOHN SMITH"), nothing else.
    static func isPersonName(_ text: String) -> Bool {
        let words = text.split(separator: " ")
        guard (2...5).contains(words.count), text.count <= 60 else { return false }
        return words.allSatisfy { nameWord.firstMatch(in: String($0)) != nil }
    }

    // MARK: - Typing

    /// The value typed as the field says, with the currency read beside an amount; `nil` when it is not of
    /// that type.
    static func normalise(_ raw: RawValue, as field: SchemaField, hint: DetectedCurrency?) -> (
        JSONValue, DetectedCurrency?
    )? {
        let text: String
        switch raw {
        case .items(let items):
            guard field.type == .list else {
                return normalise(.text(items.joined(separator: " ")), as: field, hint: hint)
            }
            let cleaned = items.compactMap(ListReader.clean)
            return cleaned.isEmpty ? nil : (.array(cleaned.map { .string($0) }), nil)
        case .text(let value):
            text = value.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !text.isEmpty else { return nil }
        switch field.type {
        case .string:
            if isIdentifier(field.name), !text.contains(where: \.isNumber) { return nil }
            if field.name == "currency", let code = CurrencyReader.code(of: text) { return (.string(code), nil) }
            return (.string(text), nil)
        case .number:
            return AmountReader.plainNumber(text).map { (.number($0), nil) }
        case .money:
            return AmountReader.money(text, hint: hint).map { (.number($0.amount), $0.currency) }
        case .date:
            return DateReader.isoDate(in: text).map { (.string($0), nil) }
        case .email:
            return EmailReader.first(in: text).map { (.string($0), nil) }
        case .phone:
            return PhoneReader.normalise(text).map { (.string($0), nil) }
        case .list:
            let items = ListReader.items(text)
            return items.isEmpty ? nil : (.array(items.map { .string($0) }), nil)
        }
    }

    /// Identifiers ("invoice_number", "po_no", "order_id") hold at least one digit.
    static func isIdentifier(_ name: String) -> Bool {
        ["_number", "_no", "_id", "_ref"].contains { name.hasSuffix($0) } || ["number", "id"].contains(name)
    }

    // MARK: - Currencies

    static func addCurrencies(
        schema: ExtractionSchema, found: [Int: Finding], fields: inout [String: JSONValue],
        confidence: inout [String: Double]
    ) {
        let amounts: [(name: String, finding: Finding, currency: DetectedCurrency)] = schema.fields.indices.compactMap {
            index in
            guard schema.fields[index].type == .money, let finding = found[index], let currency = finding.currency
            else {
                return nil
            }
            return (schema.fields[index].name, finding, currency)
        }
        func derived(_ finding: Finding, _ currency: DetectedCurrency) -> Double {
            currency.ambiguous ? min(finding.confidence, guessedCurrencyConfidence) : finding.confidence
        }
        let currencyField = schema.fields.first { $0.name == "currency" && $0.type == .string }
        if currencyField != nil, fields["currency"] == nil,
            let source = amounts.first(where: { $0.name == "total" }) ?? amounts.first
        {
            fields["currency"] = .string(source.currency.code)
            confidence["currency"] = derived(source.finding, source.currency)
        }
        let documentCurrency = currencyField != nil ? fields["currency"]?.stringValue : nil
        for amount in amounts where amount.currency.code != documentCurrency {
            let key = amount.name + "_currency"
            guard schema.field(named: key) == nil else { continue }
            fields[key] = .string(amount.currency.code)
            confidence[key] = derived(amount.finding, amount.currency)
        }
    }
}
