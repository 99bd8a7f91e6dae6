import Foundation

/// A compiled regular expression (ICU syntax, as `NSRegularExpression` reads it) that answers in `String`
/// indices. It is immutable, so one value can be shared between tasks.
struct TextPattern: @unchecked Sendable {
    let regex: NSRegularExpression

    /// Compiles a pattern written in this module: those are constants the tests exercise, so one that does not
    /// compile is a programming error.
    init(_ pattern: String, caseInsensitive: Bool = true) {
        do {
            regex = try NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
        } catch {
            preconditionFailure("extraction pattern does not compile: \(pattern)")
        }
    }

    init(regex: NSRegularExpression) {
        self.regex = regex
    }

    /// The first match at or after `start`. Lookbehinds see the text before `start`; `anchored` makes the match
    /// begin exactly at `start`.
    func firstMatch(in text: String, from start: String.Index? = nil, anchored: Bool = false) -> TextMatch? {
        let range = NSRange((start ?? text.startIndex)..<text.endIndex, in: text)
        var options: NSRegularExpression.MatchingOptions = [.withTransparentBounds]
        if anchored { options.insert(.anchored) }
        guard let result = regex.firstMatch(in: text, options: options, range: range) else { return nil }
        return TextMatch(result: result, text: text)
    }

    /// Every match at or after `start`, in order.
    func matches(in text: String, from start: String.Index? = nil) -> [TextMatch] {
        let range = NSRange((start ?? text.startIndex)..<text.endIndex, in: text)
        return regex.matches(in: text, options: [.withTransparentBounds], range: range).compactMap {
            TextMatch(result: $0, text: text)
        }
    }
}

/// One match of a `TextPattern`: the whole match's range and each capture group's, `nil` for a group that did
/// not take part.
struct TextMatch {
    let text: String
    let range: Range<String.Index>
    let groups: [Range<String.Index>?]

    /// `nil` when the match does not fall on character boundaries of `text`.
    init?(result: NSTextCheckingResult, text: String) {
        guard let whole = Range(result.range, in: text) else { return nil }
        self.text = text
        self.range = whole
        self.groups = (0..<result.numberOfRanges).map { index in
            let range = result.range(at: index)
            return range.location == NSNotFound ? nil : Range(range, in: text)
        }
    }

    /// The number of capture groups in the pattern, the whole match not counted.
    var groupCount: Int { groups.count - 1 }

    var matched: String { String(text[range]) }

    /// Capture group `index` (0 is the whole match), or `nil` when it did not take part.
    subscript(index: Int) -> String? {
        guard index < groups.count, let range = groups[index] else { return nil }
        return String(text[range])
    }
}
