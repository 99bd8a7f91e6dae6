import Foundation
import Testing

@testable import DocflowCore

private let utc = TimeZone(secondsFromGMT: 0)!

private func instant(_ text: String) -> Date {
    guard let date = RFC3339.date(from: text) else {
        Issue.record("bad RFC 3339 in test: \(text)")
        return Date(timeIntervalSince1970: 0)
    }
    return date
}

private func fires(_ expression: String, after start: String, count: Int, in zone: TimeZone = utc) throws
    -> [String]
{
    try CronExpression(expression).next(count, after: instant(start), in: zone).map(RFC3339.string(from:))
}

/// A row of expected fire times: `expression` fires at `expected` (UTC) after `start`.
struct CronFireCase: Sendable, CustomTestStringConvertible {
    let expression: String
    let start: String
    let expected: [String]

    init(_ expression: String, after start: String, _ expected: [String]) {
        self.expression = expression
        self.start = start
        self.expected = expected
    }

    var testDescription: String { "'\(expression)' after \(start)" }
}

@Suite struct CronParsingTests {
    /// (field text in the given position, the values it allows)
    @Test(arguments: [
        ("1,2,5 * * * *", 0, [1, 2, 5]),
        ("1-5 * * * *", 0, [1, 2, 3, 4, 5]),
        ("*/15 * * * *", 0, [0, 15, 30, 45]),
        ("1-30/5 * * * *", 0, [1, 6, 11, 16, 21, 26]),
        ("5/10 * * * *", 0, [5, 15, 25, 35, 45, 55]),
        ("0-10/5,58 * * * *", 0, [0, 5, 10, 58]),
        ("59 * * * *", 0, [59]),
        ("* 22-23,0-1 * * *", 1, [0, 1, 22, 23]),
        ("* */6 * * *", 1, [0, 6, 12, 18]),
        ("* * */10 * *", 2, [1, 11, 21, 31]),
        ("* * 31 * *", 2, [31]),
        ("* * * jan-mar *", 3, [1, 2, 3]),
        ("* * * JAN,Dec *", 3, [1, 12]),
        ("* * * */3 *", 3, [1, 4, 7, 10]),
        ("* * * feb/4 *", 3, [2, 6, 10]),
        ("* * * 1-dec/6 *", 3, [1, 7]),
        ("* * * * sun", 4, [0]),
        ("* * * * 7", 4, [0]),
        ("* * * * 0,7", 4, [0]),
        ("* * * * Mon-Fri", 4, [1, 2, 3, 4, 5]),
        ("* * * * SAT,sun", 4, [0, 6]),
        ("* * * * 5-7", 4, [0, 5, 6]),
        ("* * * * *", 4, [0, 1, 2, 3, 4, 5, 6]),
        ("* * * * */2", 4, [0, 2, 4, 6]),
        ("* * * * 1/2", 4, [0, 1, 3, 5]),
    ])
    func fieldValues(text: String, field: Int, values: [Int]) throws {
        let cron = try CronExpression(text)
        let sets = [cron.minutes, cron.hours, cron.daysOfMonth, cron.months, cron.daysOfWeek]
        #expect(sets[field].values == values)
    }

    @Test(arguments: [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ])
    func macrosMeanTheirFiveFields(macro: String, fields: String) throws {
        let expanded = try CronExpression(macro)
        let plain = try CronExpression(fields)
        #expect(expanded.minutes == plain.minutes)
        #expect(expanded.hours == plain.hours)
        #expect(expanded.daysOfMonth == plain.daysOfMonth)
        #expect(expanded.months == plain.months)
        #expect(expanded.daysOfWeek == plain.daysOfWeek)
        #expect(expanded.dayOfMonthIsStar == plain.dayOfMonthIsStar)
        #expect(expanded.dayOfWeekIsStar == plain.dayOfWeekIsStar)
        #expect(expanded.description == macro)
    }

    @Test func descriptionIsTheTrimmedText() throws {
        #expect(try CronExpression("  0\t9  * * 1-5 \n").description == "0\t9  * * 1-5")
        #expect(try CronExpression(" @daily ").description == "@daily")
    }

    @Test func equalTextsGiveEqualExpressions() throws {
        #expect(try CronExpression("0 9 * * 1-5") == CronExpression("0 9 * * 1-5"))
        #expect(try CronExpression("0 9 * * 1-5") != CronExpression("0 9 * * 1-4"))
    }

    @Test func dayFieldsStartingWithStarCountAsUnrestricted() throws {
        let plain = try CronExpression("0 0 13 * 5")
        #expect(!plain.dayOfMonthIsStar && !plain.dayOfWeekIsStar)
        let stepped = try CronExpression("0 0 */2 * 1")
        #expect(stepped.dayOfMonthIsStar && !stepped.dayOfWeekIsStar)
        let explicitRange = try CronExpression("0 0 1-31 * 1")
        #expect(!explicitRange.dayOfMonthIsStar)
    }

    @Test(arguments: [
        ("", "expected 5 fields, got 0"),
        ("   ", "expected 5 fields, got 0"),
        ("* * * *", "expected 5 fields, got 4"),
        ("* * * * * *", "expected 5 fields, got 6"),
        ("61 * * * *", "minute: 61 is out of range 0-59"),
        ("99999999999999999999 * * * *", "minute: 99999999999999999999 is out of range 0-59"),
        ("* 24 * * *", "hour: 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month: 0 is out of range 1-31"),
        ("* * 32 * *", "day-of-month: 32 is out of range 1-31"),
        ("* * * 0 *", "month: 0 is out of range 1-12"),
        ("* * * 13 *", "month: 13 is out of range 1-12"),
        ("* * * * 8", "day-of-week: 8 is out of range 0-7"),
        ("* * * * sux", "day-of-week: bad name 'sux'"),
        ("* * * * monday", "day-of-week: bad name 'monday'"),
        ("* * * foo *", "month: bad name 'foo'"),
        ("mon * * * *", "minute: bad number 'mon'"),
        ("* * jan * *", "day-of-month: bad number 'jan'"),
        ("1x * * * *", "minute: bad number '1x'"),
        ("* * * * 1x", "day-of-week: bad number '1x'"),
        ("*/0 * * * *", "minute: step 0 is out of range 1-59"),
        ("*/60 * * * *", "minute: step 60 is out of range 1-59"),
        ("* * * * */8", "day-of-week: step 8 is out of range 1-7"),
        ("*/x * * * *", "minute: bad step 'x'"),
        ("* */ * * *", "hour: bad step ''"),
        ("*/2/3 * * * *", "minute: bad step '2/3'"),
        ("/5 * * * *", "minute: missing value before '/' in '/5'"),
        ("5-2 * * * *", "minute: range 5-2 is backwards"),
        ("* * * * fri-mon", "day-of-week: range fri-mon is backwards"),
        ("1-2-3 * * * *", "minute: bad range '1-2-3'"),
        ("-5 * * * *", "minute: bad range '-5'"),
        ("5- * * * *", "minute: bad range '5-'"),
        ("*-5 * * * *", "minute: '*' cannot be part of a range"),
        ("1,,2 * * * *", "minute: empty item in list '1,,2'"),
        ("* 1, * * *", "hour: empty item in list '1,'"),
        ("@fortnightly", "unknown macro '@fortnightly'"),
        ("@daily 5", "unknown macro '@daily 5'"),
        ("@reboot", "@reboot is not supported"),
    ])
    func errorsNameTheField(text: String, message: String) {
        #expect(throws: CronError(message)) { try CronExpression(text) }
    }

    @Test func errorDescriptionIsItsMessage() {
        #expect(CronError("minute: x").description == "minute: x")
    }
}

@Suite struct CronFireTimeTests {
    // 2031-01-01 is a Wednesday.
    static let cases: [CronFireCase] = [
        // The seed's patterns.
        CronFireCase(
            "0 9 * * *", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-01T09:00:00Z", "2031-01-02T09:00:00Z", "2031-01-03T09:00:00Z",
            ]),
        CronFireCase(
            "0 9 * * 1-5", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-01T09:00:00Z", "2031-01-02T09:00:00Z", "2031-01-03T09:00:00Z", "2031-01-06T09:00:00Z",
            ]),
        CronFireCase(
            "0 0 * * 0", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-05T00:00:00Z", "2031-01-12T00:00:00Z", "2031-01-19T00:00:00Z",
            ]),
        CronFireCase(
            "0 0 1 * *", after: "2031-01-01T00:00:00Z",
            [
                "2031-02-01T00:00:00Z", "2031-03-01T00:00:00Z", "2031-04-01T00:00:00Z",
            ]),
        // Strictly after.
        CronFireCase("0 9 * * *", after: "2031-01-01T09:00:00Z", ["2031-01-02T09:00:00Z"]),
        CronFireCase("0 9 * * *", after: "2031-01-01T08:59:59.5Z", ["2031-01-01T09:00:00Z"]),
        CronFireCase("* * * * *", after: "2031-01-01T08:59:00Z", ["2031-01-01T09:00:00Z", "2031-01-01T09:01:00Z"]),
        CronFireCase("* * * * *", after: "2031-01-01T08:59:01Z", ["2031-01-01T09:00:00Z"]),
        // Day-of-month OR day-of-week when both are restricted: the 13th, or any Friday.
        CronFireCase(
            "0 0 13 * 5", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-03T00:00:00Z", "2031-01-10T00:00:00Z", "2031-01-13T00:00:00Z", "2031-01-17T00:00:00Z",
            ]),
        CronFireCase(
            "0 0 13 * fri", after: "2031-01-25T00:00:00Z",
            [
                "2031-01-31T00:00:00Z", "2031-02-07T00:00:00Z", "2031-02-13T00:00:00Z", "2031-02-14T00:00:00Z",
            ]),
        CronFireCase(
            "0 0 13 * *", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-13T00:00:00Z", "2031-02-13T00:00:00Z", "2031-03-13T00:00:00Z",
            ]),
        CronFireCase(
            "0 0 * * fri", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-03T00:00:00Z", "2031-01-10T00:00:00Z", "2031-01-17T00:00:00Z",
            ]),
        // Day-of-month `*/2` counts as unrestricted (Vixie), so both must match: odd-numbered Mondays.
        CronFireCase(
            "0 0 */2 * 1", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-13T00:00:00Z", "2031-01-27T00:00:00Z", "2031-02-03T00:00:00Z", "2031-02-17T00:00:00Z",
            ]),
        // A month restriction applies to both day fields.
        CronFireCase(
            "0 0 1 feb mon", after: "2031-01-01T00:00:00Z",
            [
                "2031-02-01T00:00:00Z", "2031-02-03T00:00:00Z", "2031-02-10T00:00:00Z",
            ]),
        // Steps and ranges.
        CronFireCase(
            "*/15 9-10 * * *", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-01T09:00:00Z", "2031-01-01T09:15:00Z", "2031-01-01T09:30:00Z", "2031-01-01T09:45:00Z",
                "2031-01-01T10:00:00Z", "2031-01-01T10:15:00Z",
            ]),
        CronFireCase(
            "1-30/10 * * * *", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-01T00:01:00Z", "2031-01-01T00:11:00Z", "2031-01-01T00:21:00Z", "2031-01-01T01:01:00Z",
            ]),
        CronFireCase(
            "5/20 * * * *", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-01T00:05:00Z", "2031-01-01T00:25:00Z", "2031-01-01T00:45:00Z", "2031-01-01T01:05:00Z",
            ]),
        CronFireCase(
            "0 0 1 jan,jul *", after: "2031-01-01T00:00:00Z",
            [
                "2031-07-01T00:00:00Z", "2032-01-01T00:00:00Z",
            ]),
        CronFireCase("0 12 * * 7", after: "2031-01-01T00:00:00Z", ["2031-01-05T12:00:00Z", "2031-01-12T12:00:00Z"]),
        CronFireCase(
            "0 0 * * sun-tue", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-05T00:00:00Z", "2031-01-06T00:00:00Z", "2031-01-07T00:00:00Z", "2031-01-12T00:00:00Z",
            ]),
        CronFireCase(
            "0 0 * * 5-7", after: "2031-01-01T00:00:00Z",
            [
                "2031-01-03T00:00:00Z", "2031-01-04T00:00:00Z", "2031-01-05T00:00:00Z", "2031-01-10T00:00:00Z",
            ]),
        CronFireCase("30 23 31 12 *", after: "2031-01-01T00:00:00Z", ["2031-12-31T23:30:00Z", "2032-12-31T23:30:00Z"]),
        CronFireCase(
            "0 0 31 * *", after: "2031-01-31T00:00:00Z",
            [
                "2031-03-31T00:00:00Z", "2031-05-31T00:00:00Z", "2031-07-31T00:00:00Z",
            ]),
        // Macros.
        CronFireCase("@hourly", after: "2031-01-01T00:00:00Z", ["2031-01-01T01:00:00Z", "2031-01-01T02:00:00Z"]),
        CronFireCase("@daily", after: "2031-01-01T00:00:00Z", ["2031-01-02T00:00:00Z", "2031-01-03T00:00:00Z"]),
        CronFireCase("@midnight", after: "2031-01-01T12:00:00Z", ["2031-01-02T00:00:00Z"]),
        CronFireCase("@weekly", after: "2031-01-01T00:00:00Z", ["2031-01-05T00:00:00Z", "2031-01-12T00:00:00Z"]),
        CronFireCase("@monthly", after: "2031-01-01T00:00:00Z", ["2031-02-01T00:00:00Z", "2031-03-01T00:00:00Z"]),
        CronFireCase("@yearly", after: "2031-01-01T00:00:00Z", ["2032-01-01T00:00:00Z", "2033-01-01T00:00:00Z"]),
        CronFireCase("@annually", after: "2030-12-31T23:59:59Z", ["2031-01-01T00:00:00Z"]),
        // February 29 only in leap years.
        CronFireCase(
            "0 0 29 2 *", after: "2031-01-01T00:00:00Z",
            [
                "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z", "2040-02-29T00:00:00Z",
            ]),
        CronFireCase("0 0 29 feb *", after: "2096-03-01T00:00:00Z", []),  // 2100 is not a leap year
        CronFireCase("0 0 29 feb *", after: "2000-01-01T00:00:00Z", ["2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"]),
        // Before 1970 too.
        CronFireCase("0 0 * * 0", after: "1969-12-31T00:00:00Z", ["1970-01-04T00:00:00Z"]),
    ]

    @Test(arguments: cases)
    func firesAt(_ row: CronFireCase) throws {
        #expect(
            try fires(row.expression, after: row.start, count: row.expected.count + 1).prefix(row.expected.count)
                == ArraySlice(row.expected))
    }

    @Test(arguments: ["0 0 30 2 *", "0 0 31 2 *", "0 0 31 4 *", "0 0 31 jun,sep,nov *"])
    func impossibleDatesNeverFire(expression: String) throws {
        let cron = try CronExpression(expression)
        #expect(cron.next(after: instant("2031-01-01T00:00:00Z"), in: utc) == nil)
        #expect(cron.next(3, after: instant("2031-01-01T00:00:00Z"), in: utc).isEmpty)
    }

    @Test func searchStopsAfterFiveYears() throws {
        // Feb 29 exists four years after 2032-03-01 but not within five years after 2096-03-01.
        #expect(try fires("0 0 29 2 *", after: "2032-03-01T00:00:00Z", count: 1) == ["2036-02-29T00:00:00Z"])
        let cron = try CronExpression("0 0 29 2 *")
        #expect(cron.next(after: instant("2096-03-01T00:00:00Z"), in: utc) == nil)
    }

    @Test func nextCountOfZeroIsEmpty() throws {
        #expect(try CronExpression("* * * * *").next(0, after: Date(), in: utc).isEmpty)
    }

    @Test func everyMinuteAfterAFractionalInstantIsTheNextWholeMinute() throws {
        let start = instant("2031-05-05T10:20:30Z").addingTimeInterval(0.25)
        let next = try CronExpression("* * * * *").next(after: start, in: utc)
        #expect(next.map(RFC3339.string(from:)) == "2031-05-05T10:21:00Z")
    }

    /// Compares `next` with a minute-by-minute scan of the wall clock, in UTC and in zones without DST.
    @Test(arguments: [
        "0 9 * * 1-5", "0 0 13 * 5", "*/7 */5 * * *", "0 0 */2 * 1", "15,45 3 1-7 * mon", "0 12 * jan-mar sat,sun",
        "59 23 31 * *", "5/20 1-3 * * *",
    ])
    func agreesWithAMinuteByMinuteScan(expression: String) throws {
        let cron = try CronExpression(expression)
        for zone in [utc, TimeZone(identifier: "Asia/Kolkata")!, TimeZone(identifier: "America/Phoenix")!] {
            let offset = zone.secondsFromGMT(for: instant("2031-01-01T00:00:00Z"))
            let startWall = Int64(instant("2031-01-01T00:00:00Z").timeIntervalSince1970)
            var expected: [Date] = []
            for dayIndex in 0..<70 {
                let dayStart = startWall + Int64(dayIndex) * 86_400
                let c = wallComponents(dayStart)
                for minuteOfDay in 0..<1440 where bruteForceMatch(expression, c, minuteOfDay) {
                    let wall = dayStart + Int64(minuteOfDay) * 60
                    expected.append(Date(timeIntervalSince1970: Double(wall - Int64(offset))))
                }
            }
            let first = Date(timeIntervalSince1970: Double(startWall - Int64(offset) - 1))
            let actual = cron.next(expected.count, after: first, in: zone)
            #expect(actual == expected, "\(expression) in \(zone.identifier)")
        }
    }

    private func wallComponents(_ wallSeconds: Int64) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        return calendar.dateComponents(
            [.day, .month, .weekday], from: Date(timeIntervalSince1970: Double(wallSeconds)))
    }

    /// Independent oracle for the expressions above, written as plain predicates.
    private func bruteForceMatch(_ expression: String, _ c: DateComponents, _ minuteOfDay: Int) -> Bool {
        let (hour, minute) = (minuteOfDay / 60, minuteOfDay % 60)
        let (day, month, weekday) = (c.day!, c.month!, c.weekday! - 1)  // weekday: 0 is Sunday
        switch expression {
        case "0 9 * * 1-5": return minute == 0 && hour == 9 && (1...5).contains(weekday)
        case "0 0 13 * 5": return minute == 0 && hour == 0 && (day == 13 || weekday == 5)
        case "*/7 */5 * * *": return minute % 7 == 0 && hour % 5 == 0
        case "0 0 */2 * 1": return minute == 0 && hour == 0 && day % 2 == 1 && weekday == 1
        case "15,45 3 1-7 * mon": return (minute == 15 || minute == 45) && hour == 3 && (day <= 7 || weekday == 1)
        case "0 12 * jan-mar sat,sun": return minute == 0 && hour == 12 && month <= 3 && (weekday == 0 || weekday == 6)
        case "59 23 31 * *": return minute == 59 && hour == 23 && day == 31
        case "5/20 1-3 * * *": return [5, 25, 45].contains(minute) && (1...3).contains(hour)
        default:
            Issue.record("no oracle for \(expression)")
            return false
        }
    }
}

@Suite struct CronTimeZoneNameTests {
    @Test(arguments: [
        "UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Calcutta",
        "America/Argentina/Buenos_Aires", "Etc/UTC", "Etc/GMT+5", "GMT",
    ])
    func acceptsIANANames(name: String) throws {
        let zone = try #require(CronExpression.timeZone(named: name))
        if name == "UTC" {
            #expect(zone.secondsFromGMT(for: Date()) == 0)
        } else {
            #expect(zone.identifier == name)
        }
    }

    @Test(arguments: [
        "EST", "PST", "CEST", "EST5EDT", "GMT+5", "utc", "", "Mars/Olympus_Mons", "America/new_york",
        " America/New_York", "+05:00", "../zoneinfo/UTC", "/usr/share/zoneinfo/UTC",
    ])
    func rejectsAbbreviationsAndUnknownNames(name: String) {
        #expect(CronExpression.timeZone(named: name) == nil)
    }
}
