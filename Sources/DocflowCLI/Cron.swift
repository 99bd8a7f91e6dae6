import ArgumentParser
import DocflowCore
import Foundation

package struct Cron: ParsableCommand {
    package static let configuration = CommandConfiguration(
        abstract: "Print the next fire times of a cron expression, computed as the scheduler does.",
        discussion: """
            Example: docflow cron '0 9 * * 1-5' --timezone America/New_York --count 3
            Prints one RFC 3339 UTC time per line.
            """)

    @Argument(help: "Five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, ...")
    var expression: String

    @Option(help: "An IANA time zone name.")
    var timezone = "UTC"

    @Option(help: "Start after this RFC 3339 time (default: now).")
    var from: String?

    @Option(help: "How many fire times.")
    var count = 5

    package init() {}

    package func run() throws {
        let cron: CronExpression
        do {
            cron = try CronExpression(expression)
        } catch {
            throw ValidationError(error.message)
        }
        guard let zone = CronExpression.timeZone(named: timezone) else {
            throw ValidationError("--timezone \(timezone) is not an IANA time zone name")
        }
        var start = Date()
        if let from {
            guard let date = RFC3339.date(from: from) else { throw ValidationError("--from is not an RFC 3339 time") }
            start = date
        }
        for date in cron.next(count, after: start, in: zone) {
            print(RFC3339.string(from: date))
        }
    }
}
