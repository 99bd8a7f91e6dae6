import Foundation
import Testing

@testable import DocflowCore

/// A row of expected fire times around a DST change: `expression` in `zone` fires at `expected` (UTC) after `start`.
struct CronZoneCase: Sendable, CustomTestStringConvertible {
    let zone: String
    let expression: String
    let start: String
    let expected: [String]
    let note: String

    init(_ zone: String, _ expression: String, after start: String, _ expected: [String], _ note: String) {
        self.zone = zone
        self.expression = expression
        self.start = start
        self.expected = expected
        self.note = note
    }

    var testDescription: String { "\(zone) '\(expression)' after \(start): \(note)" }
}

private func instant(_ text: String) throws -> Date {
    try #require(RFC3339.date(from: text), "bad RFC 3339 in test: \(text)")
}

private func zone(_ name: String) throws -> TimeZone {
    try #require(CronExpression.timeZone(named: name))
}

@Suite struct CronTimeZoneTests {
    /// The transitions the tables below assume, as the zone database reports them: (zone, instant, offset
    /// before, offset after). If tzdata ever changes these, the tables need new expectations.
    @Test(arguments: [
        ("America/New_York", "2031-03-09T07:00:00Z", -5 * 3600, -4 * 3600),  // 02:00 EST -> 03:00 EDT
        ("America/New_York", "2031-11-02T06:00:00Z", -4 * 3600, -5 * 3600),  // 02:00 EDT -> 01:00 EST
        ("Europe/London", "2031-03-30T01:00:00Z", 0, 3600),  // 01:00 GMT -> 02:00 BST
        ("Europe/London", "2031-10-26T01:00:00Z", 3600, 0),  // 02:00 BST -> 01:00 GMT
        ("Australia/Lord_Howe", "2031-04-05T15:00:00Z", 39600, 37800),  // Apr 6 02:00 +11 -> 01:30 +10:30
        ("Australia/Lord_Howe", "2031-10-04T15:30:00Z", 37800, 39600),  // Oct 5 02:00 +10:30 -> 02:30 +11
    ])
    func transitionsAreWhereTheTablesAssume(name: String, at: String, before: Int, after: Int) throws {
        let tz = try zone(name)
        let t = try instant(at)
        let found = try #require(tz.nextDaylightSavingTimeTransition(after: t.addingTimeInterval(-86_400)))
        #expect(RFC3339.string(from: found) == at)
        #expect(tz.secondsFromGMT(for: t.addingTimeInterval(-1)) == before)
        #expect(tz.secondsFromGMT(for: t) == after)
    }

    static let cases: [CronZoneCase] = [
        // America/New_York: 2031-03-09 02:00 EST -> 03:00 EDT; 2031-11-02 02:00 EDT -> 01:00 EST.
        CronZoneCase(
            "America/New_York", "0 9 * * *", after: "2031-03-07T00:00:00Z",
            [
                "2031-03-07T14:00:00Z", "2031-03-08T14:00:00Z", "2031-03-09T13:00:00Z", "2031-03-10T13:00:00Z",
            ], "09:00 local keeps its wall time across the change"),
        CronZoneCase(
            "America/New_York", "30 2 * * *", after: "2031-03-08T00:00:00Z",
            [
                "2031-03-08T07:30:00Z", "2031-03-09T07:00:00Z", "2031-03-10T06:30:00Z",
            ], "skipped 02:30 fires at the gap's end (03:00 EDT), then 02:30 EDT next day"),
        CronZoneCase(
            "America/New_York", "0 2 * * *", after: "2031-03-08T12:00:00Z",
            [
                "2031-03-09T07:00:00Z", "2031-03-10T06:00:00Z",
            ], "skipped 02:00 fires at 03:00 EDT"),
        CronZoneCase(
            "America/New_York", "59 2 * * *", after: "2031-03-08T12:00:00Z",
            [
                "2031-03-09T07:00:00Z", "2031-03-10T06:59:00Z",
            ], "skipped 02:59 fires at 03:00 EDT"),
        CronZoneCase(
            "America/New_York", "0 3 * * *", after: "2031-03-08T12:00:00Z",
            [
                "2031-03-09T07:00:00Z", "2031-03-10T07:00:00Z",
            ], "03:00 exists and is the gap's end"),
        CronZoneCase(
            "America/New_York", "30 2 * * *", after: "2031-03-09T06:59:59Z",
            [
                "2031-03-09T07:00:00Z", "2031-03-10T06:30:00Z",
            ], "one second before the gap"),
        CronZoneCase(
            "America/New_York", "30 2 * * *", after: "2031-03-09T07:00:00Z",
            [
                "2031-03-10T06:30:00Z"
            ], "at the gap's end the skipped slot has passed"),
        CronZoneCase(
            "America/New_York", "0 * * * *", after: "2031-03-09T05:00:00Z",
            [
                "2031-03-09T06:00:00Z", "2031-03-09T07:00:00Z", "2031-03-09T08:00:00Z", "2031-03-09T09:00:00Z",
            ], "hourly: 02:00 and 03:00 both land on 07:00Z and fire once"),
        CronZoneCase(
            "America/New_York", "*/15 * * * *", after: "2031-03-09T06:30:00Z",
            [
                "2031-03-09T06:45:00Z", "2031-03-09T07:00:00Z", "2031-03-09T07:15:00Z", "2031-03-09T07:30:00Z",
            ], "every 15 minutes: 02:00-02:45 collapse into 03:00 EDT"),
        CronZoneCase(
            "America/New_York", "30 1 * * *", after: "2031-11-01T00:00:00Z",
            [
                "2031-11-01T05:30:00Z", "2031-11-02T05:30:00Z", "2031-11-03T06:30:00Z",
            ], "repeated 01:30 fires once, at 01:30 EDT"),
        CronZoneCase(
            "America/New_York", "30 1 * * *", after: "2031-11-02T05:30:00Z",
            [
                "2031-11-03T06:30:00Z"
            ], "after the first 01:30 the second one does not fire"),
        CronZoneCase(
            "America/New_York", "30 1 * * *", after: "2031-11-02T06:00:00Z",
            [
                "2031-11-03T06:30:00Z"
            ], "from inside the repeated hour"),
        CronZoneCase(
            "America/New_York", "0 * * * *", after: "2031-11-02T04:00:00Z",
            [
                "2031-11-02T05:00:00Z", "2031-11-02T07:00:00Z", "2031-11-02T08:00:00Z",
            ], "hourly: 01:00 EDT, then 02:00 EST; 01:00 EST does not fire"),
        CronZoneCase(
            "America/New_York", "*/15 * * * *", after: "2031-11-02T05:30:00Z",
            [
                "2031-11-02T05:45:00Z", "2031-11-02T07:00:00Z", "2031-11-02T07:15:00Z",
            ], "every 15 minutes: the repeated 01:xx EST quarter hours do not fire"),
        CronZoneCase(
            "America/New_York", "*/15 * * * *", after: "2031-11-02T06:10:00Z",
            [
                "2031-11-02T07:00:00Z", "2031-11-02T07:15:00Z",
            ], "from inside the repeated hour the clock continues at 02:00 EST"),

        // Europe/London: 2031-03-30 01:00 GMT -> 02:00 BST; 2031-10-26 02:00 BST -> 01:00 GMT.
        CronZoneCase(
            "Europe/London", "30 1 * * *", after: "2031-03-29T00:00:00Z",
            [
                "2031-03-29T01:30:00Z", "2031-03-30T01:00:00Z", "2031-03-31T00:30:00Z",
            ], "skipped 01:30 fires at 02:00 BST"),
        CronZoneCase(
            "Europe/London", "0 1 * * *", after: "2031-03-29T12:00:00Z",
            [
                "2031-03-30T01:00:00Z", "2031-03-31T00:00:00Z",
            ], "skipped 01:00 fires at 02:00 BST"),
        CronZoneCase(
            "Europe/London", "0 * * * *", after: "2031-03-29T23:00:00Z",
            [
                "2031-03-30T00:00:00Z", "2031-03-30T01:00:00Z", "2031-03-30T02:00:00Z",
            ], "hourly across the gap"),
        CronZoneCase(
            "Europe/London", "*/15 * * * *", after: "2031-03-30T00:30:00Z",
            [
                "2031-03-30T00:45:00Z", "2031-03-30T01:00:00Z", "2031-03-30T01:15:00Z",
            ], "every 15 minutes across the gap"),
        CronZoneCase(
            "Europe/London", "30 1 * * *", after: "2031-10-25T00:00:00Z",
            [
                "2031-10-25T00:30:00Z", "2031-10-26T00:30:00Z", "2031-10-27T01:30:00Z",
            ], "repeated 01:30 fires once, at 01:30 BST"),
        CronZoneCase(
            "Europe/London", "0 * * * *", after: "2031-10-25T22:00:00Z",
            [
                "2031-10-25T23:00:00Z", "2031-10-26T00:00:00Z", "2031-10-26T02:00:00Z", "2031-10-26T03:00:00Z",
            ], "hourly: 01:00 BST, then 02:00 GMT"),
        CronZoneCase(
            "Europe/London", "*/15 * * * *", after: "2031-10-26T00:30:00Z",
            [
                "2031-10-26T00:45:00Z", "2031-10-26T02:00:00Z", "2031-10-26T02:15:00Z",
            ], "every 15 minutes: the repeated 01:xx GMT quarter hours do not fire"),

        // Australia/Lord_Howe: 2031-04-06 02:00 +11 -> 01:30 +10:30; 2031-10-05 02:00 +10:30 -> 02:30 +11.
        CronZoneCase(
            "Australia/Lord_Howe", "15 2 * * *", after: "2031-10-03T00:00:00Z",
            [
                "2031-10-03T15:45:00Z", "2031-10-04T15:30:00Z", "2031-10-05T15:15:00Z",
            ], "skipped 02:15 fires at 02:30 +11"),
        CronZoneCase(
            "Australia/Lord_Howe", "0 * * * *", after: "2031-10-04T13:00:00Z",
            [
                "2031-10-04T13:30:00Z", "2031-10-04T14:30:00Z", "2031-10-04T15:30:00Z", "2031-10-04T16:00:00Z",
            ], "hourly: skipped 02:00 fires at 02:30, then 03:00"),
        CronZoneCase(
            "Australia/Lord_Howe", "*/15 * * * *", after: "2031-10-04T15:00:00Z",
            [
                "2031-10-04T15:15:00Z", "2031-10-04T15:30:00Z", "2031-10-04T15:45:00Z", "2031-10-04T16:00:00Z",
            ], "every 15 minutes: 02:00, 02:15 and 02:30 collapse into 02:30"),
        CronZoneCase(
            "Australia/Lord_Howe", "45 1 * * *", after: "2031-04-04T00:00:00Z",
            [
                "2031-04-04T14:45:00Z", "2031-04-05T14:45:00Z", "2031-04-06T15:15:00Z",
            ], "repeated 01:45 fires once, at 01:45 +11"),
        CronZoneCase(
            "Australia/Lord_Howe", "0 * * * *", after: "2031-04-05T12:00:00Z",
            [
                "2031-04-05T13:00:00Z", "2031-04-05T14:00:00Z", "2031-04-05T15:30:00Z", "2031-04-05T16:30:00Z",
            ], "hourly: 01:00 and 02:00 each exist once"),
        CronZoneCase(
            "Australia/Lord_Howe", "*/15 * * * *", after: "2031-04-05T14:30:00Z",
            [
                "2031-04-05T14:45:00Z", "2031-04-05T15:30:00Z", "2031-04-05T15:45:00Z",
            ], "every 15 minutes: the repeated 01:30 and 01:45 do not fire again"),
    ]

    @Test(arguments: cases)
    func firesAt(_ row: CronZoneCase) throws {
        let cron = try CronExpression(row.expression)
        let fires = try cron.next(row.expected.count, after: instant(row.start), in: zone(row.zone))
        #expect(fires.map(RFC3339.string(from:)) == row.expected)
    }

    /// Over the UTC year 2031 (both ends outside DST in the northern zones, inside it on Lord Howe), counts
    /// fires: every wall slot once, except that skipped slots collapsing onto the gap's end fire once together.
    @Test(arguments: [
        ("America/New_York", "0 * * * *", 365 * 24 - 1),
        ("America/New_York", "*/15 * * * *", 365 * 96 - 4),
        ("Europe/London", "0 * * * *", 365 * 24 - 1),
        ("Europe/London", "30 1 * * *", 365),
        ("Australia/Lord_Howe", "0 * * * *", 365 * 24),
        ("Australia/Lord_Howe", "*/30 * * * *", 365 * 48 - 1),
        ("UTC", "*/15 * * * *", 365 * 96),
    ])
    func aYearOfFiresHasNoDuplicatesOrExtras(name: String, expression: String, count: Int) throws {
        let cron = try CronExpression(expression)
        let start = try instant("2030-12-31T23:59:59Z")
        let end = try instant("2031-12-31T23:59:59Z")
        let fires = cron.next(count + 10, after: start, in: try zone(name)).filter { $0 <= end }
        #expect(fires.count == count)
        #expect(zip(fires, fires.dropFirst()).allSatisfy { $0 < $1 })
    }

    /// The answer depends only on the zone passed in, not on which zone the wall clock values come from.
    @Test func sameWallTimeInDifferentZones() throws {
        let cron = try CronExpression("0 9 * * *")
        let start = try instant("2031-06-01T00:00:00Z")
        let results = try ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"].map {
            try cron.next(after: start, in: zone($0)).map(RFC3339.string(from:))
        }
        #expect(
            results == [
                "2031-06-01T09:00:00Z", "2031-06-01T13:00:00Z", "2031-06-01T08:00:00Z", "2031-06-01T22:30:00Z",
                "2031-06-01T03:30:00Z",
            ])
    }
}
