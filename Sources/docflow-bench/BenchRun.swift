import AMQPClient
import DocflowClient
import DocflowCore
import Foundation
import Logging
import Synchronization

/// One run of the benchmark: docflow under SQLite FULL (and NORMAL), then the ceiling, all on
/// the same broker, under a prefix of the run's own. Whatever it declared is deleted at the end
/// and every docflow it started is stopped, whether the run succeeds or fails; an interrupted
/// run (SIGINT, SIGTERM) stops its docflow but leaves its queues behind.
final class BenchRun: Sendable {
    let options: DocflowBench
    let runID: String
    let logger: Logger
    /// API calls and cleanup.
    let control: AMQPConnection
    /// The platform's side: events out.
    let publishing: AMQPConnection
    /// The monitoring consumer's side: status events in.
    let monitoring: AMQPConnection
    let broker: ProcessSampler?

    init(options: DocflowBench, logger: Logger) async throws {
        self.options = options
        self.logger = logger
        let runID = "bench-" + UUID().uuidString.prefix(8).lowercased()
        self.runID = runID
        func connect(_ role: String) throws -> AMQPConnection {
            AMQPConnection(
                try AMQPConfiguration(url: options.amqpURL, connectionName: "\(runID) \(role)"), logger: logger)
        }
        control = try connect("control")
        publishing = try connect("publish")
        monitoring = try connect("monitor")
        for connection in [control, publishing, monitoring] {
            do {
                try await connection.waitUntilConnected(timeout: .seconds(15))
            } catch {
                throw BenchError("cannot reach the broker at \(connection.configuration.redacted): \(error)")
            }
        }
        broker = ProcessSampler.brokerPID().map { ProcessSampler(pid: $0) }
        if broker == nil { Self.say("broker process not found: its CPU and memory are not reported") }
    }

    func run() async throws -> RunFigures {
        let started = Date()
        Self.say("run \(runID): docflow at \(options.docflow ?? ServerProcess.binaryBesideBench())")
        var modes: [ModeFigures] = []
        var full: DocflowOutcome?
        var ceiling: ClosedLoopFigures?
        if !options.onlyWorkers {
            let fullOutcome = try await measureDocflow(synchronous: "FULL", soakSeconds: options.soakSeconds)
            full = fullOutcome
            modes.append(fullOutcome.mode)
            if !options.skipNormal {
                modes.append(try await measureDocflow(synchronous: "NORMAL", soakSeconds: 0).mode)
            }
            if !options.skipCeiling {
                ceiling = try await measureCeiling(
                    statusMessages: fullOutcome.perExecution, bodyBytes: fullOutcome.bodyBytes)
                if let ceiling {
                    for index in modes.indices {
                        modes[index].fractionOfCeiling = rounded(modes[index].closedLoop.rate / ceiling.rate, 4)
                    }
                }
            }
        }
        let workers = options.skipWorkers ? nil : try await measureWorkerModes()
        return RunFigures(
            startedAt: RFC3339.string(from: started), finishedAt: RFC3339.string(from: Date()), prefix: runID,
            cores: ProcessInfo.processInfo.activeProcessorCount, broker: control.configuration.redacted,
            settings: .init(
                events: options.events, warmup: options.warmup, inFlight: options.inFlight,
                openSeconds: options.openSeconds, soakSeconds: options.soakSeconds,
                loads: options.skipOpen ? [] : options.loads),
            statusEventsPerExecution: rounded(full?.perExecution ?? 0, 2), statusEventBytes: full?.bodyBytes ?? 0,
            modes: modes, ceiling: ceiling, workers: workers)
    }

    /// Closes the run's broker connections.
    func close() async {
        for connection in [control, publishing, monitoring] { await connection.close() }
    }

    // MARK: docflow

    private struct DocflowOutcome {
        var mode: ModeFigures
        /// Status events one execution published, as counted.
        var perExecution: Double
        var bodyBytes: Int
    }

    private func measureDocflow(synchronous: String, soakSeconds: Double) async throws -> DocflowOutcome {
        let prefix = "\(runID)-\(synchronous.lowercased())"
        let server = try ServerProcess(
            binary: options.docflow ?? ServerProcess.binaryBesideBench(), prefix: prefix, synchronous: synchronous,
            amqpURL: options.amqpURL)
        let cleanup = try await control.openChannel()
        var monitor: StatusMonitor?
        var publisher: EventPublisher?
        do {
            let client = try await APIClient(connection: control, queue: server.apiQueue)
            Self.say("\(synchronous): starting docflow serve (prefix \(prefix))")
            try await server.start(client: client)
            _ = try await BenchWorkflow.create(with: client)
            let status = try await StatusMonitor(
                connection: monitoring, exchange: server.statusExchange, queue: "\(prefix).bench-status")
            monitor = status
            let events = try await EventPublisher(
                channel: try await publishing.openChannel(), exchange: server.eventsExchange,
                routingKey: "document.uploaded")
            publisher = events
            let target = LoadTarget(
                name: "docflow \(synchronous)", publisher: events, monitor: status,
                worker: server.pid.map { ProcessSampler(pid: $0) }, broker: broker)

            let before = status.totals
            Self.say(
                "\(synchronous): closed loop, \(options.warmup) + \(options.events) events, \(options.inFlight) in flight"
            )
            let closed = try await ClosedLoop(target: target, inFlight: options.inFlight)
                .run(warmup: options.warmup, events: options.events)
            let after = status.totals
            let endings = max(after.endings - before.endings, 1)
            let perExecution = Double(after.executionEvents - before.executionEvents) / Double(endings)
            let bodyBytes =
                (after.executionEventBytes - before.executionEventBytes)
                / max(after.executionEvents - before.executionEvents, 1)
            Self.say(
                "\(synchronous): \(format(closed.rate, 1)) executions/s, \(format(perExecution, 2)) status events "
                    + "per execution")

            let maxRate = options.openMaxRate ?? closed.rate
            var open: [OpenLoopFigures] = []
            if !options.skipOpen {
                for load in options.loads {
                    let rate = maxRate * Double(load) / 100
                    Self.say(
                        "\(synchronous): open loop at \(load)% (\(format(rate, 1))/s) for \(format(options.openSeconds, 0)) s"
                    )
                    open.append(
                        await OpenLoop(target: target).run(rate: rate, seconds: options.openSeconds, percentOfMax: load)
                    )
                }
            }
            var soak: SoakFigures?
            if soakSeconds > 0 {
                soak = await self.soak(target: target, percentOfMax: 75, maxRate: maxRate, seconds: soakSeconds)
            }
            let failures = events.failures
            await events.stop()
            await status.stop()
            let trouble = await server.stop()
            // What docflow logged at warning and above, the stop included.
            var warnings = server.logTail(lines: 10).split(separator: "\n").map(String.init)
            if let trouble { warnings.append(trouble) }
            if failures.count > 0 {
                warnings.append("\(failures.count) event publishes failed: \(failures.lastError ?? "")")
            }
            await server.removeTopology(channel: cleanup)
            let mode = ModeFigures(
                synchronous: synchronous, closedLoop: closed, fractionOfCeiling: nil, openLoop: open, soak: soak,
                warnings: warnings)
            return DocflowOutcome(mode: mode, perExecution: perExecution, bodyBytes: bodyBytes)
        } catch {
            Self.say("\(synchronous) failed: \(error)\ndocflow's last log lines:\n\(server.logTail())")
            await publisher?.stop()
            await monitor?.stop()
            await server.stop()
            await server.removeTopology(channel: cleanup)
            throw error
        }
    }

    /// An open loop at `percentOfMax` of `maxRate` for `seconds`, reading docflow's memory about
    /// every ten seconds.
    private func soak(target: LoadTarget, percentOfMax: Int, maxRate: Double, seconds: Double) async -> SoakFigures {
        let rate = maxRate * Double(percentOfMax) / 100
        Self.say("soak at \(format(rate, 1))/s for \(format(seconds, 0)) s")
        let startWorker = target.worker?.sample()
        let startBroker = target.broker?.sample()
        let samples = Mutex<[Int]>([startWorker?.rssBytes ?? 0])
        let lastSample = Mutex(Nanos.now())
        let load = await OpenLoop(target: target).run(rate: rate, seconds: seconds, percentOfMax: percentOfMax) {
            guard let worker = target.worker else { return }
            let due = lastSample.withLock { last -> Bool in
                guard Nanos.now() - last >= 10_000_000_000 else { return false }
                last = Nanos.now()
                return true
            }
            if due {
                let rss = worker.sample().rssBytes
                samples.withLock { $0.append(rss) }
            }
        }
        let endWorker = target.worker?.sample()
        let endBroker = target.broker?.sample()
        let all = samples.withLock { $0 } + [endWorker?.rssBytes ?? 0]
        return SoakFigures(
            seconds: seconds, rate: rounded(rate, 1), workerRSSStartBytes: startWorker?.rssBytes ?? 0,
            workerRSSEndBytes: endWorker?.rssBytes ?? 0, workerRSSMaxBytes: all.max() ?? 0,
            brokerRSSStartBytes: startBroker?.rssBytes, brokerRSSEndBytes: endBroker?.rssBytes,
            workerRSSSamplesBytes: all, load: load)
    }

    // MARK: The ceiling

    private func measureCeiling(statusMessages: Double, bodyBytes: Int) async throws -> ClosedLoopFigures {
        let prefix = "\(runID)-ceiling"
        let count = max(Int(statusMessages.rounded()), 1)
        Self.say("ceiling: \(count) status events of \(bodyBytes) B per event, raw AMQP")
        let consuming = AMQPConnection(
            try AMQPConfiguration(url: options.amqpURL, connectionName: "\(prefix) consume"), logger: logger)
        let publishingWorker = AMQPConnection(
            try AMQPConfiguration(url: options.amqpURL, connectionName: "\(prefix) publish"), logger: logger)
        try await consuming.waitUntilConnected()
        try await publishingWorker.waitUntilConnected()
        let ceiling = try await Ceiling(
            prefix: prefix, consuming: consuming, publishing: publishingWorker, statusMessages: count,
            bodyBytes: bodyBytes, prefetch: UInt16(options.inFlight))
        var monitor: StatusMonitor?
        var publisher: EventPublisher?
        func cleanUp() async {
            await publisher?.stop()
            await monitor?.stop()
            await ceiling.stop()
            await consuming.close()
            await publishingWorker.close()
        }
        do {
            let status = try await StatusMonitor(
                connection: monitoring, exchange: ceiling.statusExchange, queue: "\(prefix).bench-status")
            monitor = status
            try await ceiling.start()
            let events = try await EventPublisher(
                channel: try await publishing.openChannel(), exchange: ceiling.eventsExchange,
                routingKey: "document.uploaded")
            publisher = events
            let target = LoadTarget(name: "ceiling", publisher: events, monitor: status, worker: nil, broker: broker)
            let figures = try await ClosedLoop(target: target, inFlight: options.inFlight)
                .run(warmup: options.warmup, events: options.events)
            Self.say("ceiling: \(format(figures.rate, 1)) events/s")
            if ceiling.failedPublishes > 0 {
                Self.say("ceiling: \(ceiling.failedPublishes) events had status publishes the broker refused")
            }
            await cleanUp()
            return figures
        } catch {
            await cleanUp()
            throw error
        }
    }

    /// Progress, on stderr, so stdout holds only the report.
    static func say(_ line: String) {
        FileHandle.standardError.write(Data("[docflow-bench] \(line)\n".utf8))
    }
}
