import Foundation

/// A currency read beside an amount or in a label.
struct DetectedCurrency: Sendable, Equatable {
    /// The ISO 4217 code.
    var code: String
    /// Read from a symbol several currencies share (`$`, `¥`), so `code` is a guess (USD, JPY).
    var ambiguous: Bool
}

/// Reads currency symbols and ISO 4217 codes.
enum CurrencyReader {
    static let codes = [
        "USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "NZD", "CNY", "HKD", "SGD", "INR", "SEK", "NOK", "DKK",
        "PLN", "CZK", "HUF", "RON", "BGN", "ISK", "TRY", "RUB", "ILS", "AED", "SAR", "ZAR", "MXN", "BRL", "ARS",
        "CLP", "COP", "KRW", "TWD", "THB", "MYR", "IDR", "PHP", "VND", "NGN", "EGP", "KES",
    ]

    /// Symbol, code, and whether other currencies use the same symbol.
    static let symbols: [(symbol: String, code: String, ambiguous: Bool)] = [
        ("US$", "USD", false), ("CA$", "CAD", false), ("AU$", "AUD", false), ("NZ$", "NZD", false),
        ("HK$", "HKD", false), ("C$", "CAD", false), ("A$", "AUD", false), ("S$", "SGD", false),
        ("R$", "BRL", false), ("$", "USD", true), ("€", "EUR", false), ("£", "GBP", false), ("¥", "JPY", true),
        ("₹", "INR", false), ("₩", "KRW", false), ("₽", "RUB", false), ("₺", "TRY", false), ("₪", "ILS", false),
    ]

    static let token: String = {
        let symbolAlternatives = symbols.map { NSRegularExpression.escapedPattern(for: $0.symbol) }
        return "(?:" + symbolAlternatives.joined(separator: "|") + #"|\b(?:"# + codes.joined(separator: "|")
            + #")(?![\p{L}\p{N}]))"#
    }()

    /// A currency at the very start of the text (after spaces).
    static let leading = TextPattern(#"^\s*("# + token + ")")
    /// A currency at the very end of the text (before spaces).
    static let trailing = TextPattern("(" + token + #")\s*$"#)
    static let anywhere = TextPattern(token)

    /// The currency a symbol or code (any case) stands for.
    static func currency(for token: String) -> DetectedCurrency? {
        let trimmed = token.trimmingCharacters(in: .whitespaces)
        if let entry = symbols.first(where: { $0.symbol.caseInsensitiveCompare(trimmed) == .orderedSame }) {
            return DetectedCurrency(code: entry.code, ambiguous: entry.ambiguous)
        }
        let upper = trimmed.uppercased()
        return codes.contains(upper) ? DetectedCurrency(code: upper, ambiguous: false) : nil
    }

    /// The first currency anywhere in `text`.
    static func first(in text: String) -> DetectedCurrency? {
        anywhere.firstMatch(in: text).flatMap { currency(for: $0.matched) }
    }

    /// The code when `text` is just a currency ("eur", "€", "EUR (Euro)"), else `nil`.
    static func code(of text: String) -> String? {
        guard let match = leading.firstMatch(in: text), let token = match[1] else { return nil }
        let rest = text[match.range.upperBound...].trimmingCharacters(in: .whitespaces)
        guard rest.isEmpty || rest.hasPrefix("(") else { return nil }
        return currency(for: token)?.code
    }
}

/// Reads numbers written with thousands separators and either decimal mark, and amounts of money.
enum AmountReader {
    /// A number: grouped by `,` `.` `'` or spaces (the same separator throughout), or plain; not part of a date
    /// (`15.01.2024`, `01/15/2024`, `2024-01-15`) or of a longer number.
    static let number = TextPattern(
        #"(?<![\d.,/])(?<!\d-)(\d{1,3}(?:([,.'’ \u00A0\u202F])\d{3})(?:\2\d{3})*(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"#
            + #"(?![\d/]|[.,]\d|-\d)"#)

    /// The value of a number token as `number` matches it. A lone `,` or `.` followed by exactly three digits
    /// groups thousands (`1,234`, `1.234`) unless the integer part is 0; otherwise the last mark is the decimal one.
    static func value(of token: String) -> Double? {
        let spaceGrouped = token.contains { " \u{00A0}\u{202F}'’".contains($0) }
        var digits = token.filter { !" \u{00A0}\u{202F}'’".contains($0) }
        let dots = digits.filter { $0 == "." }.count
        let commas = digits.filter { $0 == "," }.count
        if dots > 0, commas > 0 {
            let decimal: Character = digits.lastIndex(of: ".")! > digits.lastIndex(of: ",")! ? "." : ","
            let grouping: Character = decimal == "." ? "," : "."
            guard (decimal == "." ? dots : commas) == 1 else { return nil }
            digits = digits.filter { $0 != grouping }.replacingOccurrences(of: String(decimal), with: ".")
        } else if dots + commas > 1 {
            digits = digits.filter { $0 != "." && $0 != "," }
        } else if dots + commas == 1 {
            let mark: Character = dots == 1 ? "." : ","
            let parts = digits.split(separator: mark, omittingEmptySubsequences: false)
            let thousands = !spaceGrouped && parts[1].count == 3 && parts[0] != "0" && parts[0].count <= 3
            digits = thousands ? parts.joined() : parts.joined(separator: ".")
        }
        return Double(digits)
    }

    /// A plain number at the start of `text` ("1,234.5", "-3", "7 years", "8.25%"); nothing but a sign may come
    /// before it.
    static func plainNumber(_ text: String) -> Double? {
        guard let match = number.firstMatch(in: text), let token = match[1], let value = value(of: token) else {
            return nil
        }
        let prefix = text[..<match.range.lowerBound].trimmingCharacters(in: .whitespaces)
        switch prefix {
        case "", "+": return value
        case "-", "−": return -value
        default: return nil
        }
    }

    /// An amount with its currency: the first number in `text`, which only a sign and a currency may precede
    /// ("$1,234.56", "-€50", "USD 1,234.56", "1.234,56 EUR"). A percentage is not an amount. `hint` is the
    /// currency to assume when none is written beside the number.
    static func money(_ text: String, hint: DetectedCurrency? = nil) -> (amount: Double, currency: DetectedCurrency?)? {
        guard let match = number.firstMatch(in: text), let token = match[1], let value = value(of: token) else {
            return nil
        }
        let suffix = String(text[match.range.upperBound...])
        if suffix.trimmingCharacters(in: .whitespaces).hasPrefix("%") { return nil }
        var prefix = String(text[..<match.range.lowerBound])
        var currency: DetectedCurrency?
        if let found = CurrencyReader.anywhere.firstMatch(in: prefix) {
            currency = CurrencyReader.currency(for: found.matched)
            prefix.removeSubrange(found.range)
        }
        let sign = prefix.filter { !$0.isWhitespace }
        guard ["", "+", "-", "−"].contains(sign) else { return nil }
        if currency == nil, let found = CurrencyReader.leading.firstMatch(in: suffix), let token = found[1] {
            currency = CurrencyReader.currency(for: token)
        }
        return (sign == "-" || sign == "−" ? -value : value, currency ?? hint)
    }

    /// Every amount in `text` that reads as money: a currency beside it or exactly two decimals.
    static func moneyAmounts(in text: String) -> [(amount: Double, currency: DetectedCurrency?)] {
        number.matches(in: text).compactMap { match in
            guard let token = match[1], let value = value(of: token) else { return nil }
            let before = String(text[..<match.range.lowerBound])
            let after = String(text[match.range.upperBound...])
            if after.trimmingCharacters(in: .whitespaces).hasPrefix("%") { return nil }
            var currency: DetectedCurrency?
            if let found = CurrencyReader.trailing.firstMatch(in: before), let symbol = found[1] {
                currency = CurrencyReader.currency(for: symbol)
            } else if let found = CurrencyReader.leading.firstMatch(in: after), let symbol = found[1] {
                currency = CurrencyReader.currency(for: symbol)
            }
            let twoDecimals = token.count > 3 && [".", ","].contains(token.dropLast(2).last ?? " ")
            guard currency != nil || twoDecimals else { return nil }
            return (value, currency)
        }
    }
}

/// Reads calendar dates and writes them as `YYYY-MM-DD`.
///
/// Numeric forms: `2024-01-15` (also with `/` or `.`); slash and dash dates are US month first
/// (`01/15/2024`) unless the first number is over 12 (`15/01/2024`); dotted dates are day first
/// (`15.01.2024`). Two-digit years mean 2000-2069 below 70, 1970-1999 from 70. Month names in English,
/// German, French and Spanish, full or abbreviated: `January 15, 2024`, `Jan 15 2024`, `15 January 2024`,
/// `15-Jan-2024`, `15. Januar 2024`, `1er janvier 2024`, `15 de enero de 2024`. The first date in the text wins.
enum DateReader {
    static let months: [String: Int] = {
        var table: [String: Int] = [:]
        let names: [[String]] = [
            ["january", "jan", "januar", "jänner", "janvier", "enero", "ene"],
            ["february", "feb", "febr", "februar", "février", "fevrier", "févr", "febrero"],
            ["march", "mar", "märz", "maerz", "mrz", "mars", "marzo"],
            ["april", "apr", "avril", "avr", "abril", "abr"],
            ["may", "mai", "mayo"],
            ["june", "jun", "juni", "juin", "junio"],
            ["july", "jul", "juli", "juillet", "juil", "julio"],
            ["august", "aug", "août", "aout", "agosto", "ago"],
            ["september", "sep", "sept", "septembre", "septiembre", "setiembre"],
            ["october", "oct", "oktober", "okt", "octobre", "octubre"],
            ["november", "nov", "novembre", "noviembre"],
            ["december", "dec", "dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic"],
        ]
        for (index, list) in names.enumerated() {
            for name in list { table[name] = index + 1 }
        }
        return table
    }()

    private static let monthAlternation: String = {
        let names = months.keys.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
        return "(" + names.map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "|") + #")(?!\p{L})"#
    }()

    private enum Form { case yearFirst, numeric, monthFirst, dayFirst }

    private static let patterns: [(Form, TextPattern)] = [
        (.yearFirst, TextPattern(#"(?<![\d.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)"#)),
        (.numeric, TextPattern(#"(?<![\d/.\-])(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?![\d])"#)),
        (
            .monthFirst,
            TextPattern(
                #"(?<!\p{L})"# + monthAlternation + #"\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,\s*|\s+)(\d{4})(?!\d)"#)
        ),
        (
            .dayFirst,
            TextPattern(
                #"(?<![\d.])(\d{1,2})(?:st|nd|rd|th|er)?\.?(?:\s+(?:of|de)\s+|\s+|\s*[-/]\s*)"# + monthAlternation
                    + #"\.?(?:,?\s+(?:de\s+)?|\s*[-/]\s*)(\d{4}|\d{2})(?!\d)"#)
        ),
    ]

    /// The first date in `text` as `YYYY-MM-DD`.
    static func isoDate(in text: String) -> String? {
        var found: [(String.Index, String)] = []
        for (form, pattern) in patterns {
            for match in pattern.matches(in: text) {
                if let date = date(from: match, form: form) {
                    found.append((match.range.lowerBound, date))
                    break
                }
            }
        }
        return found.min { $0.0 < $1.0 }?.1
    }

    private static func date(from match: TextMatch, form: Form) -> String? {
        func int(_ group: Int) -> Int? { match[group].flatMap { Int($0) } }
        switch form {
        case .yearFirst:
            guard let year = int(1), let month = int(3), let day = int(4) else { return nil }
            return format(year: year, month: month, day: day)
        case .numeric:
            guard let first = int(1), let second = int(3), let rawYear = match[4], let year = Int(rawYear) else {
                return nil
            }
            let fullYear = rawYear.count == 2 ? expand(year) : year
            let dayFirst = match[2] == "." || first > 12
            let (month, day) = dayFirst ? (second, first) : (first, second)
            return format(year: fullYear, month: month, day: day) ?? format(year: fullYear, month: day, day: month)
        case .monthFirst:
            guard let name = match[1], let month = months[name.lowercased()], let day = int(2), let year = int(3) else {
                return nil
            }
            return format(year: year, month: month, day: day)
        case .dayFirst:
            guard let day = int(1), let name = match[2], let month = months[name.lowercased()],
                let rawYear = match[3], let year = Int(rawYear)
            else { return nil }
            return format(year: rawYear.count == 2 ? expand(year) : year, month: month, day: day)
        }
    }

    private static func expand(_ twoDigitYear: Int) -> Int {
        twoDigitYear < 70 ? 2000 + twoDigitYear : 1900 + twoDigitYear
    }

    /// `YYYY-MM-DD` when the day exists.
    static func format(year: Int, month: Int, day: Int) -> String? {
        guard (1000...9999).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}

/// Reads email addresses.
enum EmailReader {
    static let address = TextPattern(#"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}(?![a-z0-9\-])"#)

    /// The first address in `text`, lowercased.
    static func first(in text: String) -> String? {
        address.firstMatch(in: text)?.matched.lowercased()
    }
}

/// Reads phone numbers.
///
/// Normal form: a North American number (10 digits with an area code starting 2-9, optionally after 1 or
/// +1) reads `+1 555 123 4567`; any other number keeps a leading `+` (or `00`, written as `+`) and its digits
/// only, E.164 style: `+442079460958`, or bare digits when no international prefix was written. Extensions
/// are dropped. A phone number has 7 to 15 digits.
enum PhoneReader {
    /// A phone number in a labelled value: digits with spaces, dots, dashes and parentheses between them.
    static let token = TextPattern(#"(\+|(?<!\d)00)?\s*(\(?\d[\d\s().\-]{5,}\d)"#)

    /// A phone number anywhere in a text, which must look like one: grouped digits, an international prefix or
    /// 10 digits or more, and no digits glued on either side.
    static let loose = TextPattern(
        #"(?<![\w@.,+\-/])(?<!\d[\s.\-])((?:\+|00)\d{1,3}[\s.\-]?)?(\(\d{2,4}\)|\d{2,4})(?:[\s.\-]\d{2,4}){1,4}"#
            + #"(?![\w@]|[\s.\-]?\d)"#)

    /// The first phone number in a labelled value, normalised.
    static func normalise(_ text: String) -> String? {
        for match in token.matches(in: text) {
            if let phone = format(match.matched, minimumDigits: 7) { return phone }
        }
        return nil
    }

    /// The first phone-like number anywhere in `text`, normalised; dates and short numbers do not count.
    static func first(in text: String) -> String? {
        for match in loose.matches(in: text) {
            let international = match[1] != nil
            if DateReader.isoDate(in: match.matched) != nil { continue }
            if let phone = format(match.matched, minimumDigits: international ? 8 : 10) { return phone }
        }
        return nil
    }

    static func format(_ raw: String, minimumDigits: Int) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        var digits = trimmed.filter(\.isASCII).filter(\.isNumber)
        var international = trimmed.hasPrefix("+")
        if !international, trimmed.hasPrefix("00"), digits.count > 9 {
            international = true
            digits.removeFirst(2)
        }
        guard (minimumDigits...15).contains(digits.count) else { return nil }
        let chars = Array(digits)
        func northAmerican(_ national: ArraySlice<Character>) -> String? {
            guard national.count == 10, let first = national.first, ("2"..."9").contains(first) else { return nil }
            let part = Array(national)
            return "+1 \(String(part[0..<3])) \(String(part[3..<6])) \(String(part[6..<10]))"
        }
        if chars.count == 11, chars[0] == "1", let formatted = northAmerican(chars[1...]) { return formatted }
        if !international, chars.count == 10, let formatted = northAmerican(chars[...]) { return formatted }
        return international ? "+" + digits : digits
    }
}

/// Splits list values into items.
enum ListReader {
    static let separators = CharacterSet(charactersIn: ",;•·▪|\n")
    static let bullet = TextPattern(#"^\s*(?:[•·▪►‣◦*>]+|[-–—](?=\s)|\d{1,2}[.)](?=\s))\s*"#)

    /// Items split on commas, semicolons, bullets, pipes and line breaks, each trimmed of bullets and spaces.
    static func items(_ text: String) -> [String] {
        text.components(separatedBy: separators).compactMap(clean)
    }

    /// An item trimmed of a leading bullet or number and of spaces; `nil` when nothing is left.
    static func clean(_ item: String) -> String? {
        var text = item
        if let match = bullet.firstMatch(in: text) { text.removeSubrange(match.range) }
        text = text.trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }
}
