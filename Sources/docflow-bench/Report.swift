import Foundation

/// The run's figures as one table a person can read, and as JSON in `bench/results/`
/// (`<timestamp>.json` plus `latest.json`).
struct Report {
    let figures: RunFigures

    func table() -> String {
        var out: [String] = []
        let f = figures
        out.append("docflow-bench  \(f.startedAt)  prefix \(f.prefix)  \(f.cores) cores  broker \(f.broker)")
        if f.modes.isEmpty, f.ceiling == nil {
            if let workers = f.workers { out.append(contentsOf: workerTable(workers)) }
            return out.joined(separator: "\n")
        }
        out.append(
            "workflow: transform -> condition -> transform, \(format(f.statusEventsPerExecution, 2)) status events "
                + "per execution (\(f.statusEventBytes) B on average)")
        out.append("")
        out.append(
            "Closed loop: \(f.settings.inFlight) in flight, \(f.settings.events) events after \(f.settings.warmup) warm-up"
        )
        let closedHeader = [
            "", "exec/s", "of ceiling", "docflow CPU s/1k", "broker CPU s/1k", "bench CPU s/1k", "other CPU s/1k",
            "p50 ms", "failed",
        ]
        let closedWidths = closedHeader.dropFirst().map(\.count)
        out.append(row(closedHeader, widths: closedWidths))
        for mode in f.modes {
            let c = mode.closedLoop
            out.append(
                row(
                    [
                        "docflow \(mode.synchronous)", format(c.rate, 1),
                        mode.fractionOfCeiling.map { percent($0) } ?? "-",
                    ] + cpuCells(c.cpuSecondsPerThousand) + [format(c.latency.p50, 1), "\(c.failed)"],
                    widths: closedWidths))
        }
        if let c = f.ceiling {
            out.append(
                row(
                    [
                        "ceiling (raw AMQP)", format(c.rate, 1), "100%",
                    ] + cpuCells(c.cpuSecondsPerThousand) + [format(c.latency.p50, 1), "\(c.failed)"],
                    widths: closedWidths))
        }
        let open = f.modes.filter { !$0.openLoop.isEmpty }
        if !open.isEmpty {
            out.append("")
            out.append(
                "Open loop: \(format(f.settings.openSeconds, 0)) s per load; latency in ms from each event's intended "
                    + "send time to its workflow.completed")
            let openHeader = [
                "", "load", "target/s", "sent/s", "p50", "p90", "p99", "p99.9", "max", "lost", "docflow CPU s/1k",
                "broker CPU s/1k",
            ]
            let openWidths = openHeader.dropFirst().map { Swift.max($0.count, 8) }
            out.append(row(openHeader, widths: openWidths))
            for mode in open {
                for load in mode.openLoop {
                    out.append(
                        row(
                            [
                                "docflow \(mode.synchronous)", load.percentOfMax.map { "\($0)%" } ?? "-",
                                format(load.targetRate, 1), format(load.sendRate, 1), format(load.latency.p50, 1),
                                format(load.latency.p90, 1), format(load.latency.p99, 1), format(load.latency.p999, 1),
                                format(load.latency.max, 1), "\(load.lost + load.failed)",
                            ] + cpuCells(load.cpuSecondsPerThousand).prefix(2), widths: openWidths))
                }
            }
        }
        for mode in f.modes {
            guard let soak = mode.soak else { continue }
            out.append("")
            out.append(
                "Soak (docflow \(mode.synchronous), \(format(soak.rate, 1))/s for \(format(soak.seconds, 0)) s): "
                    + "docflow RSS \(mb(soak.workerRSSStartBytes)) -> \(mb(soak.workerRSSEndBytes)) "
                    + "(max \(mb(soak.workerRSSMaxBytes))), broker RSS "
                    + "\(soak.brokerRSSStartBytes.map(mb) ?? "-") -> \(soak.brokerRSSEndBytes.map(mb) ?? "-"); "
                    + "p50 \(format(soak.load.latency.p50, 1)) ms, p99 \(format(soak.load.latency.p99, 1)) ms, "
                    + "lost \(soak.load.lost)")
        }
        for mode in f.modes where !mode.warnings.isEmpty {
            out.append("")
            out.append("docflow \(mode.synchronous) logged:")
            out.append(contentsOf: mode.warnings.map { "  \($0)" })
        }
        if let workers = f.workers { out.append(contentsOf: workerTable(workers)) }
        return out.joined(separator: "\n")
    }

    /// The worker mode: one row per mode, CPU in ms per execution; then what went wrong, if anything.
    private func workerTable(_ w: WorkerRunFigures) -> [String] {
        var out = [
            "",
            "Worker mode: \(w.workflow), \(w.inFlight) in flight, \(w.executions) executions after "
                + "\(w.warmup) warm-up, workers at --concurrency \(w.workerConcurrency); CPU in ms per execution",
        ]
        let header = [
            "", "exec/s", "engine CPU ms/exec", "workers CPU ms/exec", "broker CPU ms/exec", "p50 ms", "failed",
            "receiver", "sample",
        ]
        let widths = header.dropFirst().map { Swift.max($0.count, 11) }
        out.append(row(header, widths: widths))
        for mode in w.modes {
            let c = mode.closedLoop
            let cpu = c.cpuSecondsPerThousand
            out.append(
                row(
                    [
                        mode.mode, format(c.rate, 1), cpu.worker.map { format($0, 3) } ?? "-",
                        cpu.stepWorkers.map { format($0, 3) } ?? "-", cpu.broker.map { format($0, 3) } ?? "-",
                        format(c.latency.p50, 1), "\(c.failed)", "\(mode.receiverRequests)/\(mode.executions)",
                        mode.sampleProblems.isEmpty ? "\(mode.sampled) ok" : "\(mode.sampleProblems.count) bad",
                    ], widths: widths))
        }
        for mode in w.modes where !mode.warnings.isEmpty || !mode.sampleProblems.isEmpty {
            out.append("")
            out.append("worker mode, \(mode.mode):")
            out.append(contentsOf: (mode.sampleProblems + mode.warnings).map { "  \($0)" })
        }
        return out
    }

    /// Writes `<timestamp>.json` and (when `updatingLatest`) `latest.json` in `directory`; returns
    /// the first path.
    func write(to directory: String, timestamp: String, updatingLatest: Bool = true) throws -> String {
        let folder = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(figures)
        let path = folder.appendingPathComponent("\(timestamp).json")
        try data.write(to: path, options: .atomic)
        if updatingLatest { try data.write(to: folder.appendingPathComponent("latest.json"), options: .atomic) }
        return path.path
    }

    /// docflow's, the broker's, the bench's and everything else's CPU seconds per 1,000.
    private func cpuCells(_ cpu: CPUFigures) -> [String] {
        [
            cpu.worker.map { format($0, 3) } ?? "-", cpu.broker.map { format($0, 3) } ?? "-", format(cpu.bench, 3),
            cpu.others.map { format($0, 3) } ?? "-",
        ]
    }

    /// A line of right-aligned cells after a left-aligned label; each cell as wide as its header.
    private func row(_ cells: [String], widths: [Int]) -> String {
        let first = cells[0].padding(toLength: 20, withPad: " ", startingAt: 0)
        return "  " + first + zip(cells.dropFirst(), widths).map { pad($0, $1) }.joined(separator: "  ")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}

func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}

func percent(_ fraction: Double) -> String {
    String(format: "%.1f%%", fraction * 100)
}

func mb(_ bytes: Int) -> String {
    String(format: "%.1f MB", Double(bytes) / 1_048_576)
}
