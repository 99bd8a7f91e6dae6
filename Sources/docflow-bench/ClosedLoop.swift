import Foundation

/// The maximum rate: keeps `inFlight` events unfinished at all times and counts completions per
/// second over `events` events, after `warmup` events that are run but not counted.
struct ClosedLoop: Sendable {
    let target: LoadTarget
    let inFlight: Int
    /// A run that completes nothing for this long has stalled.
    var stallTimeout: Duration = .seconds(60)

    func run(warmup: Int, events: Int) async throws -> ClosedLoopFigures {
        let flight = Flight(notifies: true)
        target.monitor.follow(flight)
        defer { target.monitor.follow(nil) }
        let total = warmup + events
        let watchdog = Task { await Self.watch(flight, stallTimeout: stallTimeout) }
        defer { watchdog.cancel() }

        var start = target.read()
        target.send(min(inFlight, total), intended: start.instant, flight: flight)
        var done = 0
        var end: LoadTarget.Reading?
        for await instant in flight.completions {
            done += 1
            if done == warmup {
                start = target.read()
                start.instant = instant
                flight.resetLatency()
            }
            if done == total {
                end = target.read()
                end?.instant = instant
                break
            }
            // One in, one out: the load stays at `inFlight` until the last counted completion.
            target.send(1, intended: Nanos.now(), flight: flight)
        }
        guard var end else {
            let snapshot = flight.snapshot
            throw BenchError(
                "\(target.name): nothing completed for \(stallTimeout) after \(snapshot.completed) of \(total) events "
                    + "(\(snapshot.outstanding) outstanding, publish failures: \(target.publisher.failures.count))")
        }
        let measured = flight.snapshot
        // The events sent to keep the load up are finished before the next phase starts.
        _ = await flight.drain(timeout: stallTimeout)
        end.instant = max(end.instant, start.instant + 1)
        return ClosedLoopFigures(
            events: events, inFlight: inFlight, start: start, end: end, failed: measured.failed,
            latency: LatencyFigures(measured.latency))
    }

    /// Abandons the flight when nothing completes for `stallTimeout`.
    static func watch(_ flight: Flight, stallTimeout: Duration) async {
        var last = -1
        var lastChange = Nanos.now()
        let limit = UInt64(stallTimeout.components.seconds) * 1_000_000_000
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let completed = flight.snapshot.completed
            if completed != last {
                last = completed
                lastChange = Nanos.now()
            } else if Nanos.now() - lastChange > limit {
                flight.abandon()
                return
            }
        }
    }
}
