import ArgumentParser
import DocflowCore
import Foundation
import Logging

/// `docflow-bench`: starts a release-built `docflow serve` on a fresh database and measures, on
/// one broker in one run, its maximum rate of event-triggered executions, latency under fixed
/// loads below it, the raw-AMQP ceiling of the same message pattern, and CPU and memory.
@main
struct DocflowBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docflow-bench",
        abstract: "Measure docflow's throughput and latency against the broker's own ceiling.",
        discussion: """
            Needs a RabbitMQ broker and the release-built `docflow` and `docflow-jq` beside this binary
            (`swift build -c release`). Prints one table and writes the same figures as JSON to
            <output-dir>/<timestamp>.json and <output-dir>/latest.json.
            """)

    @Option(help: "Events counted by each closed loop, after the warm-up.")
    var events = 20_000

    @Option(help: "Events run before each closed loop starts counting.")
    var warmup = 2_000

    @Option(help: "Events kept unfinished by a closed loop (and the ceiling worker's prefetch).")
    var inFlight = 512

    @Option(help: "Seconds of each open-loop load.")
    var openSeconds: Double = 15

    @Option(parsing: .upToNextOption, help: "Open-loop loads, in percent of the closed loop's rate.")
    var loads: [Int] = [25, 50, 75, 90]

    @Option(
        help: """
            Executions/s the open-loop loads and the soak are percentages of, instead of the closed \
            loop's rate: for comparing two builds at the same rates.
            """)
    var openMaxRate: Double?

    @Option(help: "Seconds of the memory soak at 75% of the maximum (SQLite FULL); 0 skips it.")
    var soakSeconds: Double = 0

    @Flag(help: "Measure SQLite synchronous=FULL only.")
    var skipNormal = false

    @Flag(help: "Skip the open-loop latency loads.")
    var skipOpen = false

    @Flag(help: "Skip the raw AMQP ceiling.")
    var skipCeiling = false

    @Flag(help: "Skip the worker mode (the invoice workflow with its steps local, then on docflow workers).")
    var skipWorkers = false

    @Flag(help: "Run the worker mode only (its JSON does not replace latest.json).")
    var onlyWorkers = false

    @Option(help: "Executions counted by each closed loop of the worker mode, after its warm-up.")
    var workerExecutions = 1_000

    @Option(help: "Executions run before each closed loop of the worker mode starts counting.")
    var workerWarmup = 200

    @Option(help: "Executions kept unfinished by the worker mode's closed loops.")
    var workerInFlight = 128

    @Option(parsing: .upToNextOption, help: "How many docflow workers each dispatched mode runs, after the local one.")
    var workerCounts: [Int] = [1, 2, 3]

    @Option(help: "Each docflow worker's --concurrency.")
    var workerConcurrency = 8

    @Option(help: "RabbitMQ URL, or the nodes of a cluster comma-separated (DOCFLOW_AMQP_URL).")
    var amqpURL =
        ProcessInfo.processInfo.environment["DOCFLOW_AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 }
        ?? "amqp://guest:guest@127.0.0.1:5672/%2F"

    @Option(help: "Where the JSON results go.")
    var outputDir = "bench/results"

    @Option(help: "The docflow binary (default: beside this one).")
    var docflow: String?

    @Flag(help: "Log the AMQP client's info lines.")
    var verbose = false

    func validate() throws {
        guard events > 0, warmup >= 0, inFlight > 0, inFlight <= Int(UInt16.max) else {
            throw ValidationError("--events and --in-flight must be positive, --in-flight at most 65535")
        }
        guard openSeconds > 0, soakSeconds >= 0 else { throw ValidationError("durations must be positive") }
        if let openMaxRate, openMaxRate <= 0 { throw ValidationError("--open-max-rate must be positive") }
        guard loads.allSatisfy({ (1...100).contains($0) }) else { throw ValidationError("--loads are 1...100") }
        guard workerExecutions > 0, workerWarmup >= 0, (1...Int(UInt16.max)).contains(workerInFlight) else {
            throw ValidationError("--worker-executions and --worker-in-flight must be positive")
        }
        guard workerCounts.allSatisfy({ (1...32).contains($0) }), (1...1000).contains(workerConcurrency) else {
            throw ValidationError("--worker-counts are 1...32, --worker-concurrency 1...1000")
        }
        guard !(skipWorkers && onlyWorkers) else {
            throw ValidationError("--skip-workers and --only-workers exclude each other")
        }
    }

    func run() async throws {
        let level: Logger.Level = verbose ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        ServerProcess.stopOnSignals()
        let started = Date()
        let bench = try await BenchRun(options: self, logger: Logger(label: "docflow-bench"))
        let figures: RunFigures
        do {
            figures = try await bench.run()
        } catch {
            await bench.close()
            throw error
        }
        await bench.close()
        let report = Report(figures: figures)
        print(report.table())
        let timestamp = RFC3339.string(from: started).filter { $0 != "-" && $0 != ":" }
        let path = try report.write(to: outputDir, timestamp: timestamp, updatingLatest: !onlyWorkers)
        print("\nwritten: \(path)\(onlyWorkers ? "" : " and latest.json")")
    }
}
