import Foundation
import Histogram

/// Latency percentiles in milliseconds, from a histogram of microseconds.
struct LatencyFigures: Codable, Sendable {
    var count: UInt64
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double
    var mean: Double

    init(_ histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        func ms(_ micros: UInt64) -> Double { rounded(Double(micros) / 1000, 2) }
        p50 = ms(histogram.valueAtPercentile(50))
        p90 = ms(histogram.valueAtPercentile(90))
        p99 = ms(histogram.valueAtPercentile(99))
        p999 = ms(histogram.valueAtPercentile(99.9))
        max = ms(histogram.max)
        mean = rounded(histogram.mean / 1000, 2)
    }
}

/// CPU seconds spent per 1,000 executions over a measured interval, by process.
struct CPUFigures: Codable, Sendable {
    var worker: Double?
    var broker: Double?
    /// The `docflow worker`s of the worker mode, together.
    var stepWorkers: Double?
    var bench: Double
    /// Everything else on the machine: well above zero, the figures were taken on a busy machine.
    var others: Double?

    init(from start: LoadTarget.Reading, to end: LoadTarget.Reading, executions: Int) {
        let per = 1000 / Double(Swift.max(executions, 1))
        if let a = start.worker, let b = end.worker { worker = rounded((b.cpuSeconds - a.cpuSeconds) * per, 3) }
        if let a = start.broker, let b = end.broker { broker = rounded((b.cpuSeconds - a.cpuSeconds) * per, 3) }
        if let a = start.stepWorkers, let b = end.stepWorkers { stepWorkers = rounded((b - a) * per, 3) }
        bench = rounded((end.bench.cpuSeconds - start.bench.cpuSeconds) * per, 3)
        if let a = start.machine, let b = end.machine {
            let ours = (worker ?? 0) + (broker ?? 0) + (stepWorkers ?? 0) + bench
            others = rounded(Swift.max((b - a) * per - ours, 0), 3)
        }
    }
}

/// What a closed loop found.
struct ClosedLoopFigures: Codable, Sendable {
    var events: Int
    var inFlight: Int
    var seconds: Double
    /// Executions (or, for the ceiling, events) finished per second.
    var rate: Double
    var failed: Int
    var cpuSecondsPerThousand: CPUFigures
    /// From publish to completion, at `inFlight` outstanding: queueing, mostly.
    var latency: LatencyFigures
    var workerRSSBytes: Int?

    init(
        events: Int, inFlight: Int, start: LoadTarget.Reading, end: LoadTarget.Reading, failed: Int,
        latency: LatencyFigures
    ) {
        self.events = events
        self.inFlight = inFlight
        let elapsed = Nanos.seconds(end.instant - start.instant)
        seconds = rounded(elapsed, 3)
        rate = rounded(Double(events) / elapsed, 1)
        self.failed = failed
        cpuSecondsPerThousand = CPUFigures(from: start, to: end, executions: events)
        self.latency = latency
        workerRSSBytes = end.worker?.treeRSSBytes
    }
}

/// `value` to `places` decimals, for JSON a person reads.
func rounded(_ value: Double, _ places: Int) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

/// What one open-loop load found.
struct OpenLoopFigures: Codable, Sendable {
    var percentOfMax: Int?
    var targetRate: Double
    var seconds: Double
    var sent: Int
    var sendRate: Double
    var completed: Int
    var failed: Int
    /// Events still unfinished when the drain timed out.
    var lost: Int
    var drainSeconds: Double
    var latency: LatencyFigures
    /// Over the sends and the drain: at a fixed rate below the maximum, batches are smaller and
    /// each execution costs more than in the closed loop.
    var cpuSecondsPerThousand: CPUFigures
}

/// A soak: memory at the start and the end of a long open-loop load.
struct SoakFigures: Codable, Sendable {
    var seconds: Double
    var rate: Double
    var workerRSSStartBytes: Int
    var workerRSSEndBytes: Int
    var workerRSSMaxBytes: Int
    var brokerRSSStartBytes: Int?
    var brokerRSSEndBytes: Int?
    /// docflow's resident set every ten seconds or so.
    var workerRSSSamplesBytes: [Int]
    var load: OpenLoopFigures
}

/// docflow under one SQLite `synchronous` setting.
struct ModeFigures: Codable, Sendable {
    var synchronous: String
    var closedLoop: ClosedLoopFigures
    var fractionOfCeiling: Double?
    var openLoop: [OpenLoopFigures]
    var soak: SoakFigures?
    var warnings: [String]
}

/// The whole run, as written to bench/results.
struct RunFigures: Codable, Sendable {
    var startedAt: String
    var finishedAt: String
    var prefix: String
    var cores: Int
    var broker: String
    var settings: Settings
    var statusEventsPerExecution: Double
    var statusEventBytes: Int
    var modes: [ModeFigures]
    var ceiling: ClosedLoopFigures?
    /// The worker mode: the invoice workflow with its steps in the engine, then on workers.
    var workers: WorkerRunFigures?

    struct Settings: Codable, Sendable {
        var events: Int
        var warmup: Int
        var inFlight: Int
        var openSeconds: Double
        var soakSeconds: Double
        var loads: [Int]
    }
}
