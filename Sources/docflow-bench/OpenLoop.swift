import DocflowCore
import Foundation

/// A fixed offered load: events are meant to go at even intervals whatever the server does, and
/// each one's latency runs from that intended instant to its `workflow.completed`.
struct OpenLoop: Sendable {
    let target: LoadTarget
    /// How long to wait for the last completions after the last send.
    var drainTimeout: Duration = .seconds(60)

    /// Offers `rate` events per second for `seconds`; `progress` is called about once a second,
    /// for a soak's sampling.
    func run(
        rate: Double, seconds: Double, percentOfMax: Int?, progress: (@Sendable () async -> Void)? = nil
    ) async -> OpenLoopFigures {
        let flight = Flight(notifies: false)
        target.monitor.follow(flight)
        defer { target.monitor.follow(nil) }
        let total = max(Int(rate * seconds), 1)
        let interval = 1e9 / rate
        let begin = Nanos.now() + 10_000_000
        let start = target.read()
        // A thread of its own sleeps until each send is due and publishes from there: no timer
        // task and no hop per event, so the generator disturbs what it measures as little as it can.
        let lastSend = await withCheckedContinuation { (done: CheckedContinuation<UInt64, Never>) in
            let sender = Thread { [target] in
                nameCurrentThread("bench sender")
                var sent = 0
                var lastProgress = Nanos.now()
                while sent < total {
                    let now = Nanos.now()
                    // Everything whose time has come goes now, as one batch; each keeps its own
                    // intended time.
                    var due: [UInt64] = []
                    while sent + due.count < total {
                        let intended = begin + UInt64(Double(sent + due.count) * interval)
                        guard intended <= now else { break }
                        due.append(intended)
                    }
                    if !due.isEmpty { target.send(intended: due, flight: flight) }
                    sent += due.count
                    if let progress, now >= lastProgress + 1_000_000_000 {
                        lastProgress = now
                        Task { await progress() }
                    }
                    if sent < total { Nanos.sleepBlocking(until: begin + UInt64(Double(sent) * interval)) }
                }
                done.resume(returning: Nanos.now())
            }
            sender.start()
        }
        let drained = await flight.drain(timeout: drainTimeout)
        let finished = Nanos.now()
        let end = target.read()
        let snapshot = flight.snapshot
        return OpenLoopFigures(
            percentOfMax: percentOfMax, targetRate: rounded(rate, 1), seconds: seconds, sent: total,
            sendRate: rounded(Double(total) / max(Nanos.seconds(lastSend - begin), 1e-9), 1),
            completed: snapshot.completed, failed: snapshot.failed, lost: drained ? 0 : snapshot.outstanding,
            drainSeconds: rounded(Nanos.seconds(finished - lastSend), 3), latency: LatencyFigures(snapshot.latency),
            cpuSecondsPerThousand: CPUFigures(from: start, to: end, executions: snapshot.completed))
    }
}
