import Foundation

/// A parsed five-field cron schedule (Vixie form) and the fire times it produces in a time zone.
///
/// Syntax: `minute hour day-of-month month day-of-week`, separated by spaces or tabs. Each field is a
/// comma-separated list of items; an item is `*`, a value, a range `a-b`, or any of those followed by a
/// step `/n` (`5/10` means `5-max/10`). Months take `jan`-`dec` and days of week `sun`-`sat`
/// (case-insensitive); in day-of-week both 0 and 7 are Sunday. The macros `@hourly`, `@daily`, `@midnight`,
/// `@weekly`, `@monthly`, `@yearly` and `@annually` stand for their usual five fields.
///
/// Day rule (as in Vixie cron): when both day-of-month and day-of-week are restricted, a day matches if
/// either matches; when one of them is unrestricted, both must match. As in Vixie cron, a field counts as
/// unrestricted when its text starts with `*`, so `*/2` in day-of-month is a filter combined with AND.
///
/// Fire times are computed on the wall clock of the given time zone and are independent of the machine's
/// zone. Around offset changes (DST):
/// - a wall time that does not exist (spring-forward gap) fires at the instant the gap ends, e.g. 02:30 on
///   a New York spring-forward day fires at 03:00 EDT; several skipped slots collapse into that one fire;
/// - a wall time that occurs twice (fall back) fires once, at its first occurrence; the repeated stretch of
///   wall clock is not run again, so `*/15 * * * *` fires at 01:45 EDT and next at 02:00 EST, and `0 * * * *`
///   fires at 01:00 EDT and next at 02:00 EST.
/// Search stops five years of local dates after the start; past that `next(after:in:)` returns nil.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    /// The text as given, trimmed of surrounding whitespace.
    public let description: String

    let minutes: CronFieldSet
    let hours: CronFieldSet
    let daysOfMonth: CronFieldSet
    let months: CronFieldSet
    /// Sunday is 0; a 7 in the text is stored as 0.
    let daysOfWeek: CronFieldSet
    /// The day-of-month field's text starts with `*`.
    let dayOfMonthIsStar: Bool
    /// The day-of-week field's text starts with `*`.
    let dayOfWeekIsStar: Bool

    /// How far ahead `next(after:in:)` searches, in years of local dates.
    static let searchYears = 5

    /// Parses `text`; throws a `CronError` whose message names the offending field.
    public init(_ text: String) throws(CronError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        description = trimmed
        let fieldsText: [Substring]
        if trimmed.hasPrefix("@") {
            fieldsText = try Self.expandMacro(trimmed).split(separator: " ")
        } else {
            fieldsText = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" || $0.isNewline })
        }
        guard fieldsText.count == 5 else {
            throw CronError("expected 5 fields, got \(fieldsText.count)")
        }
        minutes = try CronField.minute.parse(fieldsText[0])
        hours = try CronField.hour.parse(fieldsText[1])
        daysOfMonth = try CronField.dayOfMonth.parse(fieldsText[2])
        months = try CronField.month.parse(fieldsText[3])
        daysOfWeek = try CronField.dayOfWeek.parse(fieldsText[4])
        dayOfMonthIsStar = fieldsText[2].hasPrefix("*")
        dayOfWeekIsStar = fieldsText[4].hasPrefix("*")
    }

    private static func expandMacro(_ text: String) throws(CronError) -> String {
        switch text.lowercased() {
        case "@hourly": "0 * * * *"
        case "@daily", "@midnight": "0 0 * * *"
        case "@weekly": "0 0 * * 0"
        case "@monthly": "0 0 1 * *"
        case "@yearly", "@annually": "0 0 1 1 *"
        case "@reboot": throw CronError("@reboot is not supported")
        default: throw CronError("unknown macro '\(text)'")
        }
    }

    /// An IANA time zone by name, or nil. Accepts `UTC`, the names `TimeZone.knownTimeZoneIdentifiers` lists, and
    /// `Area/Location` names the zone database resolves under exactly that name (ICU's list lacks some current
    /// IANA names, e.g. `Asia/Kolkata`, listing `Asia/Calcutta` instead). Rejects abbreviations and offsets such as
    /// `EST`, `PST` or `GMT+5` that `TimeZone(identifier:)` would take, and names in the wrong case.
    public static func timeZone(named name: String) -> TimeZone? {
        if name == "UTC" { return TimeZone(secondsFromGMT: 0) }
        if knownZoneNames.contains(name) { return TimeZone(identifier: name) }
        let shaped =
            name.contains("/") && !name.contains("..") && !name.hasPrefix("/")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/_+-".contains($0)) }
        guard shaped, let zone = TimeZone(identifier: name), zone.identifier == name else { return nil }
        return zone
    }

    private static let knownZoneNames = Set(TimeZone.knownTimeZoneIdentifiers)

    // MARK: - Fire times

    /// The first fire time strictly after `date`, computed on the wall clock of `timeZone`, or nil if there is
    /// none within five years (e.g. `0 0 30 2 *`). See the type's documentation for the DST rules.
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        let zone = ZoneClock(timeZone)
        let after = date.timeIntervalSince1970
        let afterSecond = Int64(after.rounded(.down))
        // Start at the wall-clock minute after the one `date` falls in.
        let wallMinute = CivilDate.floorDiv(afterSecond + Int64(zone.offset(at: afterSecond)), 60) + 1
        var day = CivilDate.floorDiv(wallMinute, 1440)
        var minuteOfDay = Int(wallMinute - day * 1440)
        var hour = minuteOfDay / 60
        var minute = minuteOfDay % 60
        var civil = CivilDate(days: day)
        let limit = CivilDate(year: civil.year + Self.searchYears, month: civil.month, day: civil.day).days

        func nextDay() {
            day += 1
            civil = CivilDate(days: day)
            hour = 0
            minute = 0
        }

        while day <= limit {
            guard months.contains(civil.month) else {
                // Jump to the first of the next month.
                var (year, month) = (civil.year, civil.month + 1)
                if month > 12 { (year, month) = (year + 1, 1) }
                civil = CivilDate(year: year, month: month, day: 1)
                day = civil.days
                (hour, minute) = (0, 0)
                continue
            }
            guard dayMatches(civil, dayNumber: day) else {
                nextDay()
                continue
            }
            guard let h = hours.first(atLeast: hour) else {
                nextDay()
                continue
            }
            if h != hour { (hour, minute) = (h, 0) }
            guard let m = minutes.first(atLeast: minute) else {
                hour += 1
                minute = 0
                if hour == 24 { nextDay() }
                continue
            }
            minute = m
            minuteOfDay = hour * 60 + minute
            let wall = day * 86_400 + Int64(minuteOfDay) * 60
            let instant = zone.firstInstant(atOrAfterWall: wall)
            if Double(instant) > after {
                return Date(timeIntervalSince1970: Double(instant))
            }
            // Only a wall time repeated by a fall-back whose first occurrence is not after `date` lands here.
            minute += 1
            if minute == 60 {
                hour += 1
                minute = 0
                if hour == 24 { nextDay() }
            }
        }
        return nil
    }

    /// The next `count` fire times after `date`, in order; fewer if the schedule runs out (see `next(after:in:)`).
    public func next(_ count: Int, after date: Date, in timeZone: TimeZone) -> [Date] {
        var result: [Date] = []
        result.reserveCapacity(max(0, min(count, 1000)))
        var cursor = date
        while result.count < count, let fire = next(after: cursor, in: timeZone) {
            result.append(fire)
            cursor = fire
        }
        return result
    }

    private func dayMatches(_ civil: CivilDate, dayNumber: Int64) -> Bool {
        let domMatches = daysOfMonth.contains(civil.day)
        let dowMatches = daysOfWeek.contains(CivilDate.weekday(days: dayNumber))
        if dayOfMonthIsStar || dayOfWeekIsStar {
            return domMatches && dowMatches
        }
        return domMatches || dowMatches
    }
}

/// A cron parse error; `message` names the field at fault, e.g. `minute: 61 is out of range 0-59`.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

// MARK: - Fields

/// The allowed values of one field, as bits 0...63.
struct CronFieldSet: Sendable, Equatable {
    var bits: UInt64 = 0

    func contains(_ value: Int) -> Bool {
        value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0
    }

    mutating func insert(_ value: Int) {
        bits |= 1 << UInt64(value)
    }

    /// The smallest allowed value that is at least `value`, or nil.
    func first(atLeast value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = bits >> UInt64(value)
        return rest == 0 ? nil : value + rest.trailingZeroBitCount
    }

    var values: [Int] { (0..<64).filter(contains) }
}

/// One of the five fields: its name in error messages, its range, and its value names.
enum CronField {
    case minute, hour, dayOfMonth, month, dayOfWeek

    var name: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// The values the text may use; day-of-week allows 7 for Sunday.
    var bounds: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    private var names: [String] {
        switch self {
        case .month: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        case .dayOfWeek: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        default: []
        }
    }

    /// The value of a name's first entry (`jan` is 1, `sun` is 0).
    private var firstNameValue: Int { self == .month ? 1 : 0 }

    private func error(_ text: String) -> CronError {
        CronError("\(name): \(text)")
    }

    func parse(_ text: Substring) throws(CronError) -> CronFieldSet {
        var set = CronFieldSet()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw error("empty item in list '\(text)'") }
            try parseItem(item, into: &set)
        }
        if self == .dayOfWeek, set.contains(7) {
            set.bits &= ~(1 << 7)
            set.insert(0)
        }
        return set
    }

    private func parseItem(_ item: Substring, into set: inout CronFieldSet) throws(CronError) {
        let parts = item.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var step = 1
        if parts.count == 2 {
            let stepText = parts[1]
            guard !stepText.isEmpty, stepText.allSatisfy(\.isASCIIDigit) else {
                throw error("bad step '\(stepText)'")
            }
            guard let value = Int(stepText), value <= bounds.upperBound else {
                throw error("step \(stepText) is out of range 1-\(bounds.upperBound)")
            }
            guard value >= 1 else { throw error("step \(stepText) is out of range 1-\(bounds.upperBound)") }
            step = value
        }
        let base = parts[0]
        guard !base.isEmpty else { throw error("missing value before '/' in '\(item)'") }
        let low: Int
        let high: Int
        if base == "*" {
            (low, high) = (bounds.lowerBound, bounds.upperBound)
        } else {
            let ends = base.split(separator: "-", omittingEmptySubsequences: false)
            switch ends.count {
            case 1:
                low = try value(ends[0])
                // `5/10` means `5-max/10`.
                high = parts.count == 2 ? bounds.upperBound : low
            case 2:
                guard !ends[0].isEmpty, !ends[1].isEmpty else { throw error("bad range '\(base)'") }
                low = try value(ends[0])
                high = try value(ends[1])
                guard low <= high else { throw error("range \(ends[0])-\(ends[1]) is backwards") }
            default:
                throw error("bad range '\(base)'")
            }
        }
        var v = low
        while v <= high {
            set.insert(v)
            v += step
        }
    }

    private func value(_ text: Substring) throws(CronError) -> Int {
        if let first = text.first, first.isASCIIDigit {
            guard text.allSatisfy(\.isASCIIDigit) else { throw error("bad number '\(text)'") }
            guard let number = Int(text), bounds.contains(number) else {
                throw error("\(text) is out of range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            return number
        }
        if text == "*" { throw error("'*' cannot be part of a range") }
        guard !names.isEmpty else { throw error("bad number '\(text)'") }
        guard let index = names.firstIndex(of: text.lowercased()) else { throw error("bad name '\(text)'") }
        return index + firstNameValue
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

// MARK: - Wall clock

/// A proleptic Gregorian date, with conversions to and from days since 1970-01-01.
struct CivilDate: Sendable, Equatable {
    var year: Int
    var month: Int
    var day: Int

    /// Clamps `day` to the month's length (so Feb 29 plus five years is Feb 28 when that year is not leap).
    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = min(day, Self.daysIn(month: month, year: year))
    }

    /// After Howard Hinnant's `civil_from_days`.
    init(days: Int64) {
        let z = days + 719_468
        let era = Self.floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01, after Howard Hinnant's `days_from_civil`.
    var days: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = Self.floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// 0 for Sunday through 6 for Saturday; 1970-01-01 was a Thursday.
    static func weekday(days: Int64) -> Int {
        Int((days % 7 + 7 + 4) % 7)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

/// Maps wall-clock seconds (local time counted as if it were UTC) to instants in one zone.
struct ZoneClock {
    let zone: TimeZone

    init(_ zone: TimeZone) {
        self.zone = zone
    }

    /// The zone's offset from UTC, in seconds, at the instant `second` (seconds since 1970 UTC).
    func offset(at second: Int64) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second)))
    }

    /// The instant a wall time stands for: its only occurrence; its first when a fall-back repeats it; the end
    /// of the gap (the transition instant) when a spring-forward skips it. In every case this is the earliest
    /// instant whose wall time is at or after `wall`.
    func firstInstant(atOrAfterWall wall: Int64) -> Int64 {
        // Offsets in force a day either side cover every instant the wall time could stand for
        // (offsets stay within ±14 h); re-probing at each candidate catches a change in between.
        var offsets: [Int] = []
        for probe in [wall - 86_400, wall + 86_400] {
            let o = offset(at: probe)
            for candidate in [o, offset(at: wall - Int64(o))] where !offsets.contains(candidate) {
                offsets.append(candidate)
            }
        }
        let valid = offsets.map { wall - Int64($0) }.filter { offset(at: $0) == Int(wall - $0) }
        if let first = valid.min() { return first }

        // A gap: the wall time read with the larger offset falls before the change, with the smaller after.
        // Find the first instant whose wall time has passed `wall`; that is the transition.
        var low = wall - Int64(offsets.max()!)  // wall time here is before `wall`
        var high = wall - Int64(offsets.min()!)  // wall time here is after `wall`
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if mid + Int64(offset(at: mid)) >= wall { high = mid } else { low = mid }
        }
        return high
    }
}
